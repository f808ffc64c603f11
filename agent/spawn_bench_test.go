package agent

import (
	"os/exec"
	"syscall"
	"testing"
)

// BenchmarkStartProgram compares starting (and reaping) /bin/true through the spawner
// threads with cmd.Start on the calling goroutine's thread, from parallel goroutines.
func BenchmarkStartProgram(b *testing.B) {
	for _, bc := range []struct {
		name  string
		start func(*exec.Cmd) error
	}{
		{"spawner", ownChildren.start},
		{"direct", func(c *exec.Cmd) error { return c.Start() }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cmd := exec.Command("/bin/true")
					cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGHUP}
					if err := bc.start(cmd); err != nil {
						b.Fatal(err)
					}
					_ = cmd.Wait()
					ownChildren.forget(cmd.Process.Pid)
				}
			})
		})
	}
}
