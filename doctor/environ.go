package doctor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// checkPID1Environ checks that PID 1's environment is readable: sessions inherit it
// (environ.Container), which is how they see the variables a platform injects into
// the container (accelerator lists, job settings). The kernel lets only root and PID 1's
// own user read it.
func checkPID1Environ(r *Report, path string, euid int) {
	f, err := os.Open(path)
	if err == nil {
		_, err = f.Read(make([]byte, 1))
		f.Close() // read-only
		if err == nil || errors.Is(err, io.EOF) {
			r.ok("%s is readable: sessions see the container's environment", path)
			return
		}
	}
	fix := "run jobsshd as root, or as the user PID 1 runs as"
	if fi, serr := os.Stat(path); serr == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			fix += fmt.Sprintf(" (uid %d)", st.Uid)
		}
	}
	if euid == 0 {
		// Root is refused too when the runtime withholds CAP_SYS_PTRACE or a security
		// module (Yama, AppArmor) denies the access; the agent's own environment still
		// reaches sessions.
		fix = "the container runtime denies root this file; set the variables sessions need in jobsshd's own environment, which they inherit"
	}
	r.warn(fix, "%s is not readable: %v: sessions will not see platform-injected variables", path, err)
}
