package main

import (
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"jobsshd/sftpd"
)

func TestSCPCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		wantOK    bool
		wantPaths []string
	}{
		{"winscp upload", []string{"-r", "-d", "-t", "--", "/home/work/"}, true, []string{"/home/work/"}},
		{"quotes and spaces kept literally", []string{"-t", "/tmp/it's a *file*"}, true, []string{"/tmp/it's a *file*"}},
		{"dollar is not expanded", []string{"-f", "$HOME/x"}, true, []string{"$HOME/x"}},
		{"client use is refused", []string{"file", "host:"}, false, nil},
	}
	for _, tt := range tests {
		got, ok := sftpd.ParseSCPCommand(scpCommandLine(tt.args))
		if ok != tt.wantOK || !slices.Equal(got.Paths, tt.wantPaths) || got.Patterns != nil {
			t.Errorf("%s: got %v, %+v; want %v, paths %q and no patterns", tt.name, ok, got, tt.wantOK, tt.wantPaths)
		}
	}
}

// TestLogFDOnlyParses: taking --log-fd off the arguments leaves the process as it was;
// ignoring SIGHUP and turning off dumpability are prepareAgentRun's, which the transfer
// programs call themselves (issue 11).
func TestLogFDOnlyParses(t *testing.T) {
	// A descriptor of the test's own, which logFD's *os.File then owns and closes: two
	// Files of one descriptor would close it twice (the second through the collector's
	// cleanup, at any later moment, on whatever file has been given the number since:
	// other tests then failed with EBADF).
	num, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := strconv.Itoa(num)
	logFile, rest, ok := logFD("sftp-server", []string{"--log-fd", fd, "x"}, io.Discard)
	if !ok || logFile == nil || logFile.Fd() != uintptr(num) || !slices.Equal(rest, []string{"x"}) {
		t.Fatalf("logFD: got %v, %v, %q; want descriptor %s and the rest [x]", logFile, ok, rest, fd)
	}
	_ = logFile.Close()
	if signal.Ignored(syscall.SIGHUP) {
		t.Error("logFD ignored SIGHUP: parsing a flag must not change the process")
	}
	dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if dumpable != 1 {
		t.Errorf("logFD turned dumpability off (PR_GET_DUMPABLE %d): parsing a flag must not change the process", dumpable)
	}
}
