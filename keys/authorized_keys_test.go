package keys

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/crypto/ssh"
)

const (
	aliceKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFerMWZUkhZSSsQthZRJmnkM814LH0Pygz6q5Vy5fGeR"
	carolKey = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOX8IxCWKITc2Z0KeetCjraVBXS8YmS64L6KHhquri5PFyORBDDhGRov66UqtX8aaPKeeJ+HmFWCLHfUhMIqzb8="
)

// wantKey is what a test expects of one AuthorizedKey.
type wantKey struct {
	line    int
	keyType string
	comment string
	options []string
	opts    KeyOptions // the interpreted options
}

// lineOfLen is a line of exactly n bytes holding alice's key, padded in the comment.
func lineOfLen(n int) string {
	prefix := aliceKey + " "
	return prefix + strings.Repeat("c", n-len(prefix))
}

// fullAuthorizedKeysFile is 8192 lines of 128 bytes with the "\n": exactly the 1 MiB
// limit.
var fullAuthorizedKeysFile = strings.Repeat(lineOfLen(127)+"\n", maxAuthorizedKeysSize/128)

// authorizedKeysCase is one TestParseAuthorizedKeys case: an input and the keys and
// line errors it gives.
type authorizedKeysCase struct {
	name        string
	fixture     string           // file under testdata/authorized_keys, or
	input       string           // inline input, or
	reader      func() io.Reader // a reader made for each run
	wantKeys    []wantKey
	wantErrs    []int // line numbers of LineErrors
	wantErrText []string
}

var parseAuthorizedKeysTests = []authorizedKeysCase{
	{
		name:    "basic with comments and blank lines",
		fixture: "basic",
		wantKeys: []wantKey{
			{line: 3, keyType: "ssh-ed25519", comment: "alice@laptop"},
			{line: 5, keyType: "ssh-rsa", comment: "bob@desk"},
			{line: 7, keyType: "ecdsa-sha2-nistp256", comment: ""},
		},
	},
	{
		name:    "options",
		fixture: "options",
		wantKeys: []wantKey{
			{line: 1, keyType: "ssh-ed25519", comment: "alice@laptop", options: []string{`from="1.2.3.4"`, "no-pty"},
				opts: KeyOptions{From: []string{"1.2.3.4"}, NoPTY: true}},
			{line: 2, keyType: "ssh-rsa", comment: "bob@desk", options: []string{`command="echo \"hi, there\""`, "no-port-forwarding"},
				opts: KeyOptions{Command: `echo "hi, there"`, HasCommand: true, NoPortForwarding: true}},
			{line: 3, keyType: "ecdsa-sha2-nistp256", options: []string{"restrict", "port-forwarding", `permitopen="localhost:8888"`},
				opts: KeyOptions{NoPTY: true, NoAgentForwarding: true, NoX11Forwarding: true, NoUserRC: true, PermitOpen: []HostPort{{"localhost", 8888}}}},
			{line: 4, keyType: "ssh-ed25519", comment: "two words", options: []string{`environment="LANG=C.UTF-8"`},
				opts: KeyOptions{Environment: []string{"LANG=C.UTF-8"}}},
		},
	},
	{
		name:    "options that do not parse skip their line only",
		fixture: "bad_options",
		wantKeys: []wantKey{
			{line: 1, keyType: "ssh-ed25519", comment: "alice@laptop", options: []string{"no-pty"}, opts: KeyOptions{NoPTY: true}},
			{line: 6, keyType: "ecdsa-sha2-nistp256", comment: "restricted", options: []string{"restrict", "pty", `from="10.0.0.0/8,!10.9.*"`},
				opts: KeyOptions{From: []string{"10.0.0.0/8,!10.9.*"}, NoPortForwarding: true, NoAgentForwarding: true, NoX11Forwarding: true, NoUserRC: true}},
		},
		wantErrs:    []int{2, 3, 4, 5, 7},
		wantErrText: []string{`: option "`},
	},
	{
		name:    "crlf",
		fixture: "crlf",
		wantKeys: []wantKey{
			{line: 2, keyType: "ssh-ed25519", comment: "alice@laptop"},
			{line: 4, keyType: "ssh-rsa", comment: "bob@desk"},
			{line: 5, keyType: "ecdsa-sha2-nistp256"},
		},
	},
	{
		name:    "malformed lines do not hide the others",
		fixture: "malformed",
		wantKeys: []wantKey{
			{line: 1, keyType: "ssh-ed25519", comment: "alice@laptop"},
			{line: 7, keyType: "ssh-rsa", comment: "bob@desk"},
		},
		wantErrs:    []int{2, 3, 4, 5, 6},
		wantErrText: []string{"not a public key"},
	},
	{name: "empty", input: ""},
	{name: "only comments and blanks", input: "# a\n\n  \t\n#b\r\n"},
	{name: "no trailing newline", input: carolKey, wantKeys: []wantKey{{line: 1, keyType: "ecdsa-sha2-nistp256"}}},
	{
		name:     "line at the length limit",
		input:    lineOfLen(maxAuthorizedKeyLine) + "\r\n" + carolKey + "\n",
		wantKeys: []wantKey{{line: 1, keyType: "ssh-ed25519", comment: strings.Repeat("c", maxAuthorizedKeyLine-len(aliceKey)-1)}, {line: 2, keyType: "ecdsa-sha2-nistp256"}},
	},
	{
		name:        "line over the length limit",
		input:       lineOfLen(maxAuthorizedKeyLine+1) + "\n" + carolKey + "\n",
		wantKeys:    []wantKey{{line: 2, keyType: "ecdsa-sha2-nistp256"}},
		wantErrs:    []int{1},
		wantErrText: []string{"line longer than 16384 bytes"},
	},
	{
		name:        "huge line without newline",
		input:       carolKey + "\n" + strings.Repeat("A", 200<<10),
		wantKeys:    []wantKey{{line: 1, keyType: "ecdsa-sha2-nistp256"}},
		wantErrs:    []int{2},
		wantErrText: []string{"line longer"},
	},
	{
		name:     "exactly the size limit",
		input:    fullAuthorizedKeysFile,
		wantKeys: nil, // checked by count below
	},
	{
		name:        "over the size limit",
		input:       fullAuthorizedKeysFile + carolKey + "\n",
		wantErrs:    []int{maxAuthorizedKeysSize/128 + 1},
		wantErrText: []string{"file longer than 1048576 bytes"},
	},
	{
		name: "read error",
		reader: func() io.Reader {
			return io.MultiReader(strings.NewReader(carolKey+"\n"), iotest.ErrReader(errors.New("disk on fire")))
		},
		wantKeys:    []wantKey{{line: 1, keyType: "ecdsa-sha2-nistp256"}},
		wantErrs:    []int{2},
		wantErrText: []string{"read: disk on fire"},
	},
}

func TestParseAuthorizedKeys(t *testing.T) {
	t.Parallel()
	for _, tt := range parseAuthorizedKeysTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, source := tt.open(t)
			keys, errs := ParseAuthorizedKeys(r, source)
			if strings.HasPrefix(tt.name, "exactly the size limit") || strings.HasPrefix(tt.name, "over the size limit") {
				if got, want := len(keys), maxAuthorizedKeysSize/128; got != want {
					t.Errorf("got %d keys, want %d", got, want)
				}
			} else {
				tt.checkKeys(t, keys, errs, source)
			}
			tt.checkErrors(t, errs, source)
		})
	}
}

// open is the case's input and the source name the parser is given for it.
func (tt authorizedKeysCase) open(t *testing.T) (io.Reader, string) {
	switch {
	case tt.fixture != "":
		source := filepath.Join("testdata", "authorized_keys", tt.fixture)
		content, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.NewReader(content), source
	case tt.reader != nil:
		return tt.reader(), "inline"
	default:
		return strings.NewReader(tt.input), "inline"
	}
}

// checkKeys compares the parsed keys with wantKeys.
func (tt authorizedKeysCase) checkKeys(t *testing.T, keys []AuthorizedKey, errs []*LineError, source string) {
	t.Helper()
	if got, want := len(keys), len(tt.wantKeys); got != want {
		t.Fatalf("got %d keys, want %d (errors: %v)", got, want, errs)
	}
	for i, w := range tt.wantKeys {
		k := keys[i]
		if k.Line != w.line || k.Key.Type() != w.keyType || k.Comment != w.comment || !slices.Equal(k.Options, w.options) || k.Source != source {
			t.Errorf("key %d: got line %d %s comment %q options %q source %q, want line %d %s comment %q options %q source %q",
				i, k.Line, k.Key.Type(), k.Comment, k.Options, k.Source, w.line, w.keyType, w.comment, w.options, source)
		}
		if !reflect.DeepEqual(k.Opts, w.opts) {
			t.Errorf("key %d (line %d): got interpreted options %+v, want %+v", i, k.Line, k.Opts, w.opts)
		}
	}
}

// checkErrors compares the line errors with wantErrs and wantErrText, and makes sure no
// message quotes the line: it may be someone else's file.
func (tt authorizedKeysCase) checkErrors(t *testing.T, errs []*LineError, source string) {
	t.Helper()
	var gotLines []int
	for _, e := range errs {
		gotLines = append(gotLines, e.Line)
		if e.Source != source {
			t.Errorf("error %v: got source %q, want %q", e, e.Source, source)
		}
		if !strings.HasPrefix(e.Error(), source+":") {
			t.Errorf("error %q: want it to start with %q", e, source+":")
		}
		for _, want := range tt.wantErrText {
			if !strings.Contains(e.Error(), want) {
				t.Errorf("error %q: want it to say %q", e, want)
			}
		}
		for _, secret := range []string{"notbase64", "unterminated", "words", "AAAA", "uptime", "reboot", "2030"} {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("error %q: contains line content %q", e, secret)
			}
		}
	}
	if !slices.Equal(gotLines, tt.wantErrs) {
		t.Errorf("got errors on lines %v, want %v (%v)", gotLines, tt.wantErrs, errs)
	}
}

// TestParseAuthorizedKeysNamesBadOption pins that a line refused for its options says
// which option, so that the log points the user at what to fix.
func TestParseAuthorizedKeysNamesBadOption(t *testing.T) {
	t.Parallel()
	source := filepath.Join("testdata", "authorized_keys", "bad_options")
	content, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}
	_, errs := ParseAuthorizedKeys(bytes.NewReader(content), source)
	want := map[int]string{2: "no-such-option", 3: "command", 4: "from", 5: "permitopen", 7: "expiry-time"}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(want))
	}
	for _, e := range errs {
		var oe *OptionError
		if !errors.As(e, &oe) || oe.Option != want[e.Line] {
			t.Errorf("line %d: got error %v, want an *OptionError naming %q", e.Line, e, want[e.Line])
		}
	}
}

func TestLineErrorUnwraps(t *testing.T) {
	t.Parallel()
	_, errs := ParseAuthorizedKeys(strings.NewReader(strings.Repeat("x", maxAuthorizedKeyLine+1)), "s")
	if len(errs) != 1 || !errors.Is(errs[0], errLineTooLong) {
		t.Fatalf("got %v, want one error wrapping errLineTooLong", errs)
	}
}

// FuzzParseAuthorizedKeys checks that no input panics the parser, and that every key
// and every error it reports points at a line that exists, each line at most once.
func FuzzParseAuthorizedKeys(f *testing.F) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "authorized_keys", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range fixtures {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`from="a\"b",command="x" ` + aliceKey + "\r\n\r\n#\n"))
	f.Add([]byte("\n\n\n" + carolKey))
	alice, _, _, _, err := ssh.ParseAuthorizedKey([]byte(aliceKey))
	if err != nil {
		f.Fatal(err)
	}
	aliceBlob := strings.Fields(aliceKey)[1]
	f.Add([]byte(`bogus-option ` + aliceKey + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, errs := ParseAuthorizedKeys(bytes.NewReader(data), "fuzz")
		dataLines := bytes.Split(data, []byte("\n"))
		read := data[:min(len(data), maxAuthorizedKeysSize+1)]
		lines := bytes.Count(read, []byte("\n")) + 1
		seen := map[int]bool{}
		for _, k := range keys {
			if k.Line < 1 || k.Line > lines {
				t.Fatalf("key on line %d, input has %d lines", k.Line, lines)
			}
			if k.Key == nil || k.Source != "fuzz" {
				t.Fatalf("key on line %d: got Key %v source %q", k.Line, k.Key, k.Source)
			}
			if seen[k.Line] {
				t.Fatalf("line %d reported twice", k.Line)
			}
			seen[k.Line] = true
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("error on line %d, input has %d lines", e.Line, lines)
			}
			if e.Err == nil {
				t.Fatalf("error on line %d has no reason", e.Line)
			}
			if seen[e.Line] {
				t.Fatalf("line %d reported twice", e.Line)
			}
			seen[e.Line] = true
			// A rejected line that carries alice's key as a word may name her
			// (LineError.MayName, which refuses the job key and id_container).
			if len(data) <= maxAuthorizedKeysSize {
				text := dataLines[e.Line-1]
				if bytes.Contains(append(append([]byte(" "), text...), ' '), []byte(" "+aliceBlob+" ")) && !e.MayName(alice) {
					t.Fatalf("line %d holds alice's key as a word, but MayName(alice) is false", e.Line)
				}
			}
		}
	})
}
