package agent

import (
	"errors"
	"strconv"
	"syscall"
)

// ProcessExited reports whether process pid has exited: its /proc entry is gone, or it
// is a zombie (state Z, or X while being collected) that its parent has not waited for
// yet. A caller that is not the parent cannot collect it, and kill(pid, 0) succeeds on
// a zombie (kill(2)), so the state is read from /proc/pid/stat; without /proc (not
// mounted) only a pid that is gone altogether counts.
func ProcessExited(pid int) bool {
	if p, err := readProc(strconv.Itoa(pid)); err == nil {
		return p.state == "Z" || p.state == "X"
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
