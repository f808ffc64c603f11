package web

import (
	"bytes"
	"errors"
	"net/url"
	"testing"

	"github.com/coder/websocket"
)

func TestParseTerminalMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		typ      websocket.MessageType
		payload  []byte
		want     terminalMessage
		wantCode websocket.StatusCode // 0: accepted
	}{
		{name: "input", typ: websocket.MessageBinary, payload: []byte("\x00ls\n"), want: terminalMessage{kind: msgData, data: []byte("ls\n")}},
		{name: "empty input", typ: websocket.MessageBinary, payload: []byte{0}, want: terminalMessage{kind: msgData, data: []byte{}}},
		{name: "resize", typ: websocket.MessageBinary, payload: []byte{1, 0, 80, 0, 24}, want: terminalMessage{kind: msgResize, cols: 80, rows: 24}},
		{name: "largest resize", typ: websocket.MessageBinary, payload: []byte{1, 0x07, 0xd0, 0x07, 0xd0}, want: terminalMessage{kind: msgResize, cols: 2000, rows: 2000}},
		{name: "ack", typ: websocket.MessageBinary, payload: []byte{2, 0, 0, 0, 0, 0, 1, 0, 0}, want: terminalMessage{kind: msgAck, offset: 65536}},
		{name: "text", typ: websocket.MessageText, payload: []byte("\x00ls"), wantCode: closeTextMessage},
		{name: "empty", typ: websocket.MessageBinary, payload: nil, wantCode: closeBadMessage},
		{name: "short resize", typ: websocket.MessageBinary, payload: []byte{1, 0, 80}, wantCode: closeBadMessage},
		{name: "long resize", typ: websocket.MessageBinary, payload: []byte{1, 0, 80, 0, 24, 0}, wantCode: closeBadMessage},
		{name: "zero cols", typ: websocket.MessageBinary, payload: []byte{1, 0, 0, 0, 24}, wantCode: closeBadMessage},
		{name: "too many rows", typ: websocket.MessageBinary, payload: []byte{1, 0, 80, 0x07, 0xd1}, wantCode: closeBadMessage},
		{name: "ack past int64", typ: websocket.MessageBinary, payload: []byte{2, 0x80, 0, 0, 0, 0, 0, 0, 0}, wantCode: closeBadMessage},
		{name: "short ack", typ: websocket.MessageBinary, payload: []byte{2, 1}, wantCode: closeBadMessage},
		{name: "unknown type", typ: websocket.MessageBinary, payload: []byte{3, 1}, wantCode: closeBadMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTerminalMessage(tt.typ, tt.payload)
			var perr *protocolError
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("got error %v, want %+v", err, tt.want)
			case tt.wantCode != 0 && !errors.As(err, &perr):
				t.Fatalf("got %+v, %v; want close %d", got, err, tt.wantCode)
			case tt.wantCode != 0 && perr.code != tt.wantCode:
				t.Fatalf("got close %d (%s), want %d", perr.code, perr.reason, tt.wantCode)
			case tt.wantCode == 0 && (got.kind != tt.want.kind || !bytes.Equal(got.data, tt.want.data) || got.cols != tt.want.cols || got.rows != tt.want.rows || got.offset != tt.want.offset):
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseTerminalMessage: no message makes the parser panic, every refusal fits a
// close frame, and what it accepts is within the protocol's bounds.
func FuzzParseTerminalMessage(f *testing.F) {
	for _, seed := range [][]byte{{0, 'l', 's'}, {1, 0, 80, 0, 24}, {2, 0, 0, 0, 0, 0, 0, 0, 1}, {1, 'j', 'u', 'n', 'k'}, {}} {
		f.Add(true, seed)
	}
	f.Add(false, []byte("text"))
	f.Fuzz(func(t *testing.T, binary bool, p []byte) {
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		msg, err := parseTerminalMessage(typ, p)
		var perr *protocolError
		if err != nil {
			if !errors.As(err, &perr) || len(perr.reason) > 123 {
				t.Fatalf("refusal %v is not a protocolError that fits a close frame", err)
			}
			return
		}
		if msg.kind == msgResize && (!validSide(msg.cols) || !validSide(msg.rows)) {
			t.Fatalf("accepted resize %dx%d", msg.cols, msg.rows)
		}
		if msg.offset < 0 {
			t.Fatalf("accepted negative ack %d", msg.offset)
		}
	})
}

func TestParseTerminalParams(t *testing.T) {
	t.Parallel()
	id := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"[:sessionIDLength]
	tests := []struct {
		name    string
		query   string
		want    terminalParams
		wantErr bool
	}{
		{name: "new shell", query: "cols=80&rows=24", want: terminalParams{cols: 80, rows: 24}},
		{name: "reattach", query: "cols=100&rows=30&session=" + id + "&offset=123", want: terminalParams{session: id, offset: 123, cols: 100, rows: 30}},
		{name: "no size", query: "", wantErr: true},
		{name: "zero rows", query: "cols=80&rows=0", wantErr: true},
		{name: "huge cols", query: "cols=70000&rows=24", wantErr: true},
		{name: "short session", query: "cols=80&rows=24&session=abc&offset=0", wantErr: true},
		{name: "negative offset", query: "cols=80&rows=24&session=" + id + "&offset=-1", wantErr: true},
		{name: "no offset", query: "cols=80&rows=24&session=" + id, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			got, err := parseTerminalParams(q)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got %+v, %v; want error: %v", got, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
