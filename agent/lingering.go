package agent

import "syscall"

// maxLingeringPrograms bounds the programs, across all connections, that still run
// after their session channel closed and they were hung up (a program that ignores
// SIGHUP: `trap "" HUP; exec sleep 90`). Such a program's session waits for it, to reap
// it and report nothing to no one, and holds a goroutine, a thread blocked in waitid
// and a descriptor (its pidfd) of the agent while it does. Once its connection has
// ended, it no longer counts against --max-connections (issue 10, item 3), so without
// this bound a key holder could pile up such programs until the agent runs out of
// threads or descriptors. Programs detached from the session (nohup CMD &, setsid) are
// not affected: the session does not wait for them.
const maxLingeringPrograms = 1024

// awaitHungUp waits for the program of sess, whose channel closed and which was hung
// up, to end. While it still runs, it takes one of maxLingeringPrograms places; when
// every place is taken, the program is killed instead, and the log says so.
func (s *Server) awaitHungUp(sess *session) {
	select {
	case <-sess.done:
		return
	default:
	}
	select {
	case s.lingering <- struct{}{}:
		<-sess.done
		<-s.lingering
	default:
		sess.log.Warn("killed a program that ignored the hangup: too many programs left running after their session ended",
			"event", "session.kill", "max", maxLingeringPrograms)
		_ = sess.proc.killGroup(syscall.SIGKILL) // it may have ended meanwhile
		<-sess.done
	}
}
