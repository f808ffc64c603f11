package agent

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// applyTerminalModes sets the terminal modes a client sent in its pty-req (RFC 4254 §8:
// a sequence of opcode byte + uint32 argument, ended by TTY_OP_END or the end of the
// string) on the slave, so that e.g. the client's erase character works. Opcodes the
// kernel has no equivalent for are ignored, as OpenSSH does.
func applyTerminalModes(t *terminal, modes []byte) error {
	fd := int(t.slave.Fd()) // the slave is a plain blocking descriptor
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	for len(modes) >= 1 {
		op := modes[0]
		if op == 0 || op >= 160 { // TTY_OP_END, or 160-255 which the RFC leaves undefined
			break
		}
		if len(modes) < 5 {
			break
		}
		arg := binary.BigEndian.Uint32(modes[1:5])
		modes = modes[5:]
		applyTerminalMode(tio, op, arg)
	}
	return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
}

// Control characters, RFC 4254 §8 opcodes 1-18.
var ttyChars = map[byte]int{
	1: unix.VINTR, 2: unix.VQUIT, 3: unix.VERASE, 4: unix.VKILL, 5: unix.VEOF, 6: unix.VEOL,
	7: unix.VEOL2, 8: unix.VSTART, 9: unix.VSTOP, 10: unix.VSUSP, 12: unix.VREPRINT,
	13: unix.VWERASE, 14: unix.VLNEXT, 18: unix.VDISCARD,
}

type ttyFlag struct {
	which byte // 'i', 'l' or 'o': the termios flag field
	bit   uint32
}

// Flag opcodes, RFC 4254 §8 30-75 (plus IUTF8, RFC 8160). The c_cflag ones (90-93)
// are left out: character size and parity mean nothing on a pty.
var ttyFlags = map[byte]ttyFlag{
	30: {which: 'i', bit: unix.IGNPAR}, 31: {which: 'i', bit: unix.PARMRK}, 32: {which: 'i', bit: unix.INPCK},
	33: {which: 'i', bit: unix.ISTRIP}, 34: {which: 'i', bit: unix.INLCR}, 35: {which: 'i', bit: unix.IGNCR},
	36: {which: 'i', bit: unix.ICRNL}, 37: {which: 'i', bit: unix.IUCLC}, 38: {which: 'i', bit: unix.IXON},
	39: {which: 'i', bit: unix.IXANY}, 40: {which: 'i', bit: unix.IXOFF}, 41: {which: 'i', bit: unix.IMAXBEL},
	42: {which: 'i', bit: unix.IUTF8},
	50: {which: 'l', bit: unix.ISIG}, 51: {which: 'l', bit: unix.ICANON}, 52: {which: 'l', bit: unix.XCASE},
	53: {which: 'l', bit: unix.ECHO}, 54: {which: 'l', bit: unix.ECHOE}, 55: {which: 'l', bit: unix.ECHOK},
	56: {which: 'l', bit: unix.ECHONL}, 57: {which: 'l', bit: unix.NOFLSH}, 58: {which: 'l', bit: unix.TOSTOP},
	59: {which: 'l', bit: unix.IEXTEN}, 60: {which: 'l', bit: unix.ECHOCTL}, 61: {which: 'l', bit: unix.ECHOKE},
	62: {which: 'l', bit: unix.PENDIN},
	70: {which: 'o', bit: unix.OPOST}, 71: {which: 'o', bit: unix.OLCUC}, 72: {which: 'o', bit: unix.ONLCR},
	73: {which: 'o', bit: unix.OCRNL}, 74: {which: 'o', bit: unix.ONOCR}, 75: {which: 'o', bit: unix.ONLRET},
}

func applyTerminalMode(tio *unix.Termios, op byte, arg uint32) {
	if c, ok := ttyChars[op]; ok {
		tio.Cc[c] = byte(arg)
		return
	}
	f, ok := ttyFlags[op]
	if !ok {
		return // speeds (128, 129) and the rest: a pty has no line speed or parity
	}
	field := map[byte]*uint32{'i': &tio.Iflag, 'l': &tio.Lflag, 'o': &tio.Oflag}[f.which]
	if arg != 0 {
		*field |= f.bit
	} else {
		*field &^= f.bit
	}
}
