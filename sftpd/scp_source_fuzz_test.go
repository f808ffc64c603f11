package sftpd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// FuzzSCPSource feeds arbitrary client answers (the status bytes and messages of the
// client's sink) to the scp source, which sends a fixed tree, and follows the exchange
// as a client would (OpenSSH scp.c sink()): after the opening answer, each T, C, D and E
// record is followed by one answer; an accepted C by exactly its size in bytes and one
// status. What must hold:
//   - no panic, the session ends, and its exit status is 0 or 1;
//   - the output is only those records, warnings (1 and a line) and at most one fatal
//     error (2 and a line) at the end; a file's data is exactly its announced size;
//   - the source stops at the first fatal answer (any byte but 0 and 1) or at the end
//     of the answers, and sends nothing after;
//   - D and E balance in a session that ends well.
func FuzzSCPSource(f *testing.F) {
	for _, answers := range []string{
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"\x00\x01skip\n\x00\x00\x00", "\x00\x02no space\n", "\x00\x00x\n", "", "\x00\x00\x00\x01late\n\x00",
	} {
		for flags := range uint8(8) {
			f.Add([]byte(answers), flags)
		}
	}
	home := f.TempDir()
	for path, content := range map[string]string{
		"file": string(bytes.Repeat([]byte("0123456789"), 300)), "dir/a": "aaaaaaaaaa", "dir/sub/empty": "",
	} {
		p := filepath.Join(home, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Symlink("file", filepath.Join(home, "link")); err != nil {
		f.Fatal(err)
	}
	operands := [][]string{{"file"}, {"dir"}, {"missing", "link", "dir/"}, {"*"}}
	f.Fuzz(func(t *testing.T, answers []byte, flags uint8) {
		args := SCPArgs{Source: true, Recursive: flags&1 != 0, PreserveTimes: flags&2 != 0}
		args.Paths = operands[int(flags>>2)%len(operands)]
		if args.Paths[0] == "*" {
			args.Patterns = []string{"*"}
		}
		var out bytes.Buffer
		var code int
		within(t, func() { code = ServeSCP(args, home, bytes.NewReader(answers), &out, io.Discard, Options{}) })
		if code != 0 && code != 1 {
			t.Fatalf("got exit status %d, want 0 or 1", code)
		}
		checkSourceExchange(t, out.Bytes(), answers, code)
	})
}

// within fails the test when fn has not returned within 10 seconds.
func within(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end within 10s")
	}
}

var (
	scpFileRecord = regexp.MustCompile(`^C0[0-7]{3} ([0-9]+) [^/\n]+\n$`)
	scpDirRecord  = regexp.MustCompile(`^D0[0-7]{3} 0 [^/\n]+\n$`)
	scpTimeRecord = regexp.MustCompile(`^T[0-9]+ 0 [0-9]+ 0\n$`)
)

// sourceExchange replays a source's records (out) against the client's answers, as
// checkSourceExchange reads them.
type sourceExchange struct {
	t       *testing.T
	out     []byte // all of the source's output, for the messages
	code    int    // the source's exit status
	answers *bufio.Reader
	records *bufio.Reader
	depth   int // directories open
}

// checkSourceExchange follows out, the source's records, with answers, the client's.
func checkSourceExchange(t *testing.T, out, answers []byte, code int) {
	t.Helper()
	x := &sourceExchange{
		t: t, out: out, code: code,
		answers: bufio.NewReader(bytes.NewReader(answers)),
		records: bufio.NewReader(bytes.NewReader(out)),
	}
	if _, stop := x.answer(); stop {
		x.rest()
		return
	}
	for {
		kind, err := x.records.Peek(1)
		if errors.Is(err, io.EOF) {
			break
		}
		if kind[0] == 1 { // a warning
			x.line()
			continue
		}
		if kind[0] == 2 || x.record(x.line()) {
			x.rest()
			return
		}
	}
	if code == 0 && x.depth != 0 {
		t.Fatalf("ended well with %d directories left open (all output %q)", x.depth, out)
	}
}

// answer reads the client's next answer: ok for 0, and whether the source must stop.
func (x *sourceExchange) answer() (ok, stop bool) {
	b, err := x.answers.ReadByte()
	if err != nil {
		return false, b != 1
	}
	if b == 0 {
		return true, false
	}
	if _, err := x.answers.ReadBytes('\n'); err != nil {
		return false, b != 1
	}
	return false, b != 1
}

// line reads the source's next record or message, which must be whole.
func (x *sourceExchange) line() string {
	x.t.Helper()
	l, err := x.records.ReadString('\n')
	if err != nil {
		x.t.Fatalf("got a record cut short: %q (all output %q)", l, x.out)
	}
	return l
}

// rest checks what may follow the point where the source must stop.
func (x *sourceExchange) rest() {
	x.t.Helper()
	tail, _ := io.ReadAll(x.records)
	if len(tail) > 0 && (tail[0] != 2 || bytes.IndexByte(tail, '\n') != len(tail)-1) {
		x.t.Fatalf("got %q after the client's last answer, want nothing or one fatal error (all output %q)", tail, x.out)
	}
	if x.code != 1 {
		x.t.Fatalf("got exit status %d after the client's last answer, want 1", x.code)
	}
}

// record checks one T, C, D or E record and what follows it up to the client's answer;
// stop is true when that answer tells the source to stop.
func (x *sourceExchange) record(rec string) (stop bool) {
	x.t.Helper()
	switch {
	case scpTimeRecord.MatchString(rec):
	case scpDirRecord.MatchString(rec):
		x.depth++
	case rec == "E\n":
		x.depth--
		if x.depth < 0 {
			x.t.Fatalf("got E with no directory open (all output %q)", x.out)
		}
	case scpFileRecord.MatchString(rec):
		ok, stop := x.answer()
		if stop || !ok {
			return stop // refused: no data follows, and no answer to it
		}
		x.fileData(rec)
	default:
		x.t.Fatalf("got record %q, want T, C, D or E (all output %q)", rec, x.out)
	}
	_, stop = x.answer()
	return stop
}

// fileData checks the data a C record announced and the status byte after it.
func (x *sourceExchange) fileData(rec string) {
	x.t.Helper()
	size, _ := strconv.Atoi(scpFileRecord.FindStringSubmatch(rec)[1])
	if _, err := x.records.Discard(size); err != nil {
		x.t.Fatalf("got less than the %d bytes announced by %q (all output %q)", size, rec, x.out)
	}
	switch status, err := x.records.ReadByte(); {
	case err != nil:
		x.t.Fatalf("got no status after the data of %q", rec)
	case status == 1:
		x.line()
	case status != 0:
		x.t.Fatalf("got status %#x after the data of %q, want 0 or 1", status, rec)
	}
}
