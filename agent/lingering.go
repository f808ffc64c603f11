package agent

import "syscall"

// maxLingeringPrograms bounds the programs, across all connections, that still run
// after their session channel closed and they were hung up (a program that ignores
// SIGHUP: `trap "" HUP; exec sleep 90`). Such a program's session waits for it, to reap
// it and report nothing to no one, and holds a goroutine, a thread blocked in waitid
// and a descriptor (its pidfd) of the agent while it does. Once its connection has
// ended, it no longer counts against --max-connections (issue 10, item 3), so without
// this bound a key holder could pile up such programs until the agent runs out of
// threads or descriptors. The descriptor budget lowers the bound to half of the
// sessions it holds (descriptorBudget.maxLingering): 1024 such programs, each still
// counted as a whole session, once left every later login "short of file descriptors"
// on a machine whose open-file limit was 20,000. Programs detached from the session (nohup CMD &, setsid) are
// not affected: the session does not wait for them.
const maxLingeringPrograms = 1024

// awaitHungUp waits for the program of sess, whose channel closed and which was hung
// up, to end. While it still runs, it takes one of maxLingering places and counts in the
// descriptor budget as the one descriptor it holds, not as a session; when every place
// is taken, the program is killed instead, and the log says so. A lingering program
// holds no channel: what the client sent and nothing read is dropped (x/crypto keeps up
// to a window of it per channel) and the channel's place in --max-channels is given
// back (releaseChannel), or such programs would fill that budget as they once filled
// --max-connections.
func (s *Server) awaitHungUp(sess *session, releaseChannel func()) {
	select {
	case <-sess.done:
		return
	default:
	}
	if s.descriptors.startLingering() {
		discardBuffered(sess.ch) // the channel is closed: its requests have ended
		releaseChannel()
		<-sess.done
		s.descriptors.endLingering()
		return
	}
	sess.log.Warn("killed a program that ignored the hangup: too many programs left running after their session ended",
		"event", "session.kill", "max", s.descriptors.maxLingering())
	_ = sess.proc.killGroup(syscall.SIGKILL) // it may have ended meanwhile
	<-sess.done
}
