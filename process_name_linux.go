package main

import (
	"os"
	"path/filepath"
	"strings"
)

// nameProcess gives this process the command name of its argv[0] when the kernel named
// it "exe": the agent starts its sftp-server and scp children through /proc/self/exe
// (agent/self_exe.go), and the kernel names a process after the basename of the path
// it was executed from. ps, top and pgrep then show "jobsshd", as before.
//
// /proc/self/comm is the thread group leader's name, which any thread of the process
// may write (proc(5)), so this works from whichever thread main runs on.
func nameProcess() {
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "exe" || len(os.Args) == 0 {
		return // no /proc, or a name that is already right
	}
	if name := filepath.Base(os.Args[0]); name != "exe" && name != "." && name != "/" {
		_ = os.WriteFile("/proc/self/comm", []byte(name), 0) // a cosmetic name: nothing to do on failure
	}
}
