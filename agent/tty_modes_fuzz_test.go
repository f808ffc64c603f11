package agent

import (
	"testing"

	"golang.org/x/sys/unix"
)

// ttyModesEnd is where RFC 4254 §8 says the parsing of encoded terminal modes stops:
// at TTY_OP_END (0), at an opcode of 160 to 255 ("cause parsing to stop"), or where
// fewer than the 5 bytes of an opcode and its uint32 argument are left. It is written
// from the RFC as the reference for FuzzTerminalModes.
func ttyModesEnd(modes []byte) int {
	end := 0
	for len(modes)-end >= 5 && modes[end] != 0 && modes[end] < 160 {
		end += 5
	}
	return end
}

// FuzzTerminalModes applies arbitrary encoded terminal modes (the last field of a
// client's pty-req) to a real pty, as a session does, and checks:
//   - no panic, and the kernel takes the result (no error);
//   - what follows the end of the modes (TTY_OP_END, an undefined opcode, a short
//     tail) changes nothing, whatever it is;
//   - modes with no opcode leave the terminal as it was;
//   - applying the same modes twice gives what applying them once gives.
func FuzzTerminalModes(f *testing.F) {
	// OpenSSH 9.2's ssh -t from a Linux terminal; PuTTY's; the Go client's; and
	// edge cases: an undefined opcode first, a short tail, speeds only.
	f.Add([]byte{
		1, 0, 0, 0, 3, 2, 0, 0, 0, 28, 3, 0, 0, 0, 127, 4, 0, 0, 0, 21, 5, 0, 0, 0, 4,
		6, 0, 0, 0, 255, 7, 0, 0, 0, 255, 8, 0, 0, 0, 17, 9, 0, 0, 0, 19, 10, 0, 0, 0, 26,
		12, 0, 0, 0, 18, 13, 0, 0, 0, 23, 14, 0, 0, 0, 22, 18, 0, 0, 0, 15,
		30, 0, 0, 0, 0, 31, 0, 0, 0, 0, 32, 0, 0, 0, 0, 33, 0, 0, 0, 0, 34, 0, 0, 0, 0,
		35, 0, 0, 0, 0, 36, 0, 0, 0, 1, 37, 0, 0, 0, 0, 38, 0, 0, 0, 1, 39, 0, 0, 0, 0,
		40, 0, 0, 0, 0, 41, 0, 0, 0, 1, 42, 0, 0, 0, 1,
		50, 0, 0, 0, 1, 51, 0, 0, 0, 1, 52, 0, 0, 0, 0, 53, 0, 0, 0, 1, 54, 0, 0, 0, 1,
		55, 0, 0, 0, 1, 56, 0, 0, 0, 0, 57, 0, 0, 0, 0, 58, 0, 0, 0, 0, 59, 0, 0, 0, 1,
		60, 0, 0, 0, 1, 61, 0, 0, 0, 1, 62, 0, 0, 0, 0,
		70, 0, 0, 0, 1, 71, 0, 0, 0, 0, 72, 0, 0, 0, 1, 73, 0, 0, 0, 0, 74, 0, 0, 0, 0,
		75, 0, 0, 0, 0, 90, 0, 0, 0, 1, 91, 0, 0, 0, 1, 92, 0, 0, 0, 0, 93, 0, 0, 0, 0,
		128, 0, 0, 0x96, 0, 129, 0, 0, 0x96, 0, 0,
	})
	f.Add([]byte{1, 0, 0, 0, 3, 3, 0, 0, 0, 8, 53, 0, 0, 0, 0, 128, 0, 0, 0x96, 0, 129, 0, 0, 0x96, 0, 0})
	f.Add([]byte{53, 0, 0, 0, 0, 128, 0, 0, 0x3a, 0x98, 129, 0, 0, 0x3a, 0x98, 0})
	f.Add([]byte{200, 53, 0, 0, 0, 0})
	f.Add([]byte{3, 0, 0, 1, 8, 53, 0})
	f.Add([]byte{128, 0, 0, 0x96, 0})
	f.Add([]byte{})
	tty, err := openTerminal(0, 0, false)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(tty.close)
	fd := int(tty.slave.Fd())
	baseline, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		f.Fatal(err)
	}
	// apply resets the terminal, applies modes and returns the terminal's settings.
	apply := func(t *testing.T, modes []byte, times int) unix.Termios {
		t.Helper()
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, baseline); err != nil {
			t.Fatal(err)
		}
		for range times {
			if err := applyTerminalModes(tty, modes); err != nil {
				t.Fatalf("apply modes %v: %v", modes, err)
			}
		}
		got, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return *got
	}
	f.Fuzz(func(t *testing.T, modes []byte) {
		once := apply(t, modes, 1)
		end := ttyModesEnd(modes)
		for _, tail := range [][]byte{{0}, {0, 53, 0, 0, 0, 0, 1, 0, 0, 0, 0}, {160, 3, 0, 0, 0, 0}, {255}, {51, 0, 0, 0}} {
			cut := append(append([]byte(nil), modes[:end]...), tail...)
			if got := apply(t, cut, 1); got != once {
				t.Fatalf("modes %v: got %+v\nwith %v after the end at %d: %+v", modes, once, tail, end, got)
			}
		}
		if end == 0 && once != *baseline {
			t.Fatalf("modes %v hold no opcode, but changed the terminal from %+v to %+v", modes, *baseline, once)
		}
		if twice := apply(t, modes, 2); twice != once {
			t.Fatalf("modes %v: got %+v once, %+v twice", modes, once, twice)
		}
	})
}
