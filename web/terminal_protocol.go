package web

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"

	"github.com/coder/websocket"
)

// The /terminal protocol, between the page (assets/terminal.js) and the agent.
//
// The page opens /terminal?cols=C&rows=R for a new shell, or
// /terminal?session=ID&offset=N&cols=C&rows=R to reattach to the shell it had (N is
// how many output bytes it has received from that shell so far).
//
// Page to agent, binary messages only; the first byte says what follows:
//
//	0x00 DATA     keyboard input, as bytes for the shell
//	0x01 RESIZE   cols and rows, two big-endian uint16 each in 1..maxTerminalSide
//	0x02 ACK      a big-endian uint64: the output offset the page has shown so far
//
// Output flows only while the page keeps up: the agent reads the shell's pty only
// while less than flowWindow bytes of it are unacknowledged, and the page
// acknowledges whenever it has shown ackEvery bytes more (terminal.js). A browser
// reads its sockets whatever the page does with the data, so without the
// acknowledgements a `yes` would pile up in xterm.js's write queue, and Ctrl-C would
// take effect only after megabytes of it were drawn.
//
// Agent to page: binary messages are the shell's output, in order; text messages are
// JSON events:
//
//	{"type":"attached","session":ID,"offset":N}  the output that follows starts at byte N
//	{"type":"exit","status":S,"signal":"HUP"}     the shell ended; the socket closes next
//
// Whatever else the page sends closes its socket with one of the codes below, and
// leaves every other socket and the shell itself as they were.
const (
	msgData   = 0x00
	msgResize = 0x01
	msgAck    = 0x02

	// maxTerminalMessage bounds one message from the page: input is typed or pasted,
	// and the page splits a paste into pieces of at most pasteChunk (terminal.js).
	maxTerminalMessage = 64 << 10
	// maxTerminalSide bounds cols and rows: a 4K screen at a 6-pixel font is 640
	// columns.
	maxTerminalSide = 2000
)

// Close codes (RFC 6455 §7.4; 4000-4999 are the application's own).
const (
	// closeTextMessage: a text message where the protocol has only binary ones.
	closeTextMessage = websocket.StatusUnsupportedData // 1003
	// closeBadMessage: an empty message, an unknown type, or a malformed resize.
	closeBadMessage = websocket.StatusInvalidFramePayloadData // 1007
	// A message over maxTerminalMessage is closed by the library with 1009
	// (websocket.StatusMessageTooBig).

	// closeBadRequest: the URL's parameters are malformed.
	closeBadRequest websocket.StatusCode = 4400
	// closeNoSession: the session is unknown, has ended, or belongs to another token;
	// the page must not retry it.
	closeNoSession websocket.StatusCode = 4404
	// closeReplaced: another socket attached to the same shell (the page reconnected
	// while this socket still looked open); the page must not retry on this one.
	closeReplaced websocket.StatusCode = 4409
	// closeTooMany: no shell could be started (--max-sessions, descriptors).
	closeTooMany websocket.StatusCode = 4429
	// closeInputNotRead (4413, terminal_input.go): more input than the program read.

	// closeGoodbye comes from the page when it is closed or reloaded: its shell is
	// hung up at once rather than kept for a reconnect that will not come (a reload
	// starts a new shell, and every kept shell counts against --max-sessions).
	closeGoodbye websocket.StatusCode = 4000
)

// terminalMessage is one parsed message from the page.
type terminalMessage struct {
	kind       byte
	data       []byte // msgData
	cols, rows uint16 // msgResize
	offset     int64  // msgAck
}

// protocolError is a message the protocol does not allow, with the close code that
// answers it.
type protocolError struct {
	code   websocket.StatusCode
	reason string // at most 123 bytes: it goes into the close frame
}

func (e *protocolError) Error() string { return fmt.Sprintf("%s (close %d)", e.reason, int(e.code)) }

// parseTerminalMessage parses one message from the page.
func parseTerminalMessage(typ websocket.MessageType, p []byte) (terminalMessage, error) {
	if typ != websocket.MessageBinary {
		return terminalMessage{}, &protocolError{closeTextMessage, "text message: the terminal takes binary messages only"}
	}
	if len(p) == 0 {
		return terminalMessage{}, &protocolError{closeBadMessage, "empty message: the first byte must be a message type"}
	}
	switch p[0] {
	case msgData:
		return terminalMessage{kind: msgData, data: p[1:]}, nil
	case msgResize:
		if len(p) != 5 {
			return terminalMessage{}, &protocolError{closeBadMessage, "resize: want 4 bytes (cols, rows as big-endian uint16)"}
		}
		cols, rows := binary.BigEndian.Uint16(p[1:3]), binary.BigEndian.Uint16(p[3:5])
		if !validSide(cols) || !validSide(rows) {
			return terminalMessage{}, &protocolError{closeBadMessage, fmt.Sprintf("resize: cols and rows must be 1..%d", maxTerminalSide)}
		}
		return terminalMessage{kind: msgResize, cols: cols, rows: rows}, nil
	case msgAck:
		if len(p) != 9 || binary.BigEndian.Uint64(p[1:]) > math.MaxInt64 {
			return terminalMessage{}, &protocolError{closeBadMessage, "ack: want 8 bytes (an output offset as big-endian uint64)"}
		}
		return terminalMessage{kind: msgAck, offset: int64(binary.BigEndian.Uint64(p[1:]))}, nil
	default:
		return terminalMessage{}, &protocolError{closeBadMessage, fmt.Sprintf("unknown message type %d", p[0])}
	}
}

func validSide(v uint16) bool { return v >= 1 && v <= maxTerminalSide }

// terminalParams are the query parameters of /terminal.
type terminalParams struct {
	session    string // "" for a new shell
	offset     int64  // output bytes the page already has (reattach only)
	cols, rows uint16
}

// parseTerminalParams reads and checks the query of a /terminal request.
func parseTerminalParams(q url.Values) (terminalParams, error) {
	var p terminalParams
	side := func(name string) (uint16, error) {
		v, err := strconv.ParseUint(q.Get(name), 10, 16)
		if err != nil || !validSide(uint16(v)) {
			return 0, fmt.Errorf("%s must be a number in 1..%d", name, maxTerminalSide)
		}
		return uint16(v), nil
	}
	var err error
	if p.cols, err = side("cols"); err != nil {
		return p, err
	}
	if p.rows, err = side("rows"); err != nil {
		return p, err
	}
	p.session = q.Get("session")
	if p.session == "" {
		return p, nil
	}
	if len(p.session) != sessionIDLength {
		return p, errors.New("session is not a session id")
	}
	if p.offset, err = strconv.ParseInt(q.Get("offset"), 10, 64); err != nil || p.offset < 0 {
		return p, errors.New("offset must be a number of bytes, 0 or more")
	}
	return p, nil
}
