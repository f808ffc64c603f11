package sftpd

import (
	"bytes"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestParseSCPCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command string
		want    SCPArgs
	}{
		{"openssh upload", "scp -t /tmp/x", SCPArgs{Sink: true, Paths: []string{"/tmp/x"}}},
		{"openssh download all flags", "scp -v -r -p -f src", SCPArgs{Source: true, Verbose: true, Recursive: true, PreserveTimes: true, Paths: []string{"src"}}},
		{"openssh dash path", "scp -d -t -- -x", SCPArgs{Sink: true, TargetIsDir: true, Paths: []string{"-x"}}},
		{"winscp style", `scp -r -d -t -- "/path with spaces"`, SCPArgs{Sink: true, Recursive: true, TargetIsDir: true, Paths: []string{"/path with spaces"}}},
		{"combined flags", "scp -prt .", SCPArgs{Sink: true, PreserveTimes: true, Recursive: true, Paths: []string{"."}}},
		{"quiet flag", "scp -q -f a", SCPArgs{Source: true, Paths: []string{"a"}}},
		{"absolute program", "/usr/bin/scp -t x", SCPArgs{Sink: true, Paths: []string{"x"}}},
		{"single quotes", `scp -t '/tmp/a b'`, SCPArgs{Sink: true, Paths: []string{"/tmp/a b"}}},
		{"backslash escapes", `scp -t /tmp/a\ b\'c`, SCPArgs{Sink: true, Paths: []string{"/tmp/a b'c"}}},
		{"double quote escapes", `scp -f "a\"b\\c\d"`, SCPArgs{Source: true, Paths: []string{`a"b\c\d`}}},
		{"mixed quoting in one word", `scp -f 'a b'"c d"e\ f`, SCPArgs{Source: true, Paths: []string{"a bc de f"}}},
		{"empty quoted word", `scp -t ''`, SCPArgs{Sink: true, Paths: []string{""}}},
		{"unicode", "scp -t '/tmp/データ 🚀'", SCPArgs{Sink: true, Paths: []string{"/tmp/データ 🚀"}}},
		{"unquoted unicode", "scp -f données.csv", SCPArgs{Source: true, Paths: []string{"données.csv"}}},
		{"several sources", "scp -f a 'b c' d", SCPArgs{Source: true, Paths: []string{"a", "b c", "d"}}},
		{"flags after operand are paths", "scp -f a -r", SCPArgs{Source: true, Paths: []string{"a", "-r"}}},
		{"extra blanks", "  scp\t-t   x  ", SCPArgs{Sink: true, Paths: []string{"x"}}},
		{"line continuation", "scp -t a\\\nb", SCPArgs{Sink: true, Paths: []string{"ab"}}},
		{"quoted newline", "scp -t 'a\nb'", SCPArgs{Sink: true, Paths: []string{"a\nb"}}},
		{"home", "scp -r -f ~", SCPArgs{Source: true, Recursive: true, Paths: []string{"."}}},
		{"home relative", "scp -t ~/a\\ b", SCPArgs{Sink: true, Paths: []string{"./a b"}}},
		{"quoted tilde is literal", "scp -t '~' a~b", SCPArgs{Sink: true, Paths: []string{"~", "a~b"}}},
		{"no operand", "scp -t", SCPArgs{Sink: true}},
		{"glob", "scp -f /data/*.csv", SCPArgs{Source: true, Paths: []string{"/data/*.csv"}, Patterns: []string{"/data/*.csv"}}},
		{"glob beside literal", `scp -f a '*' b?[!x]`, SCPArgs{Source: true, Paths: []string{"a", "*", "b?[!x]"}, Patterns: []string{"", "", "b?[^x]"}}},
		{"glob with quoted part", `scp -f "[a]"*`, SCPArgs{Source: true, Paths: []string{"[a]*"}, Patterns: []string{`\[a\]*`}}},
		{"glob in home", "scp -f ~/*.txt", SCPArgs{Source: true, Paths: []string{"./*.txt"}, Patterns: []string{"./*.txt"}}},
		{"shell characters quoted", `scp -t 'a;b|c&d$e` + "`f" + `' "x>y"`, SCPArgs{Sink: true, Paths: []string{"a;b|c&d$e`f", "x>y"}}},
		{"hash inside word", "scp -t a#b", SCPArgs{Sink: true, Paths: []string{"a#b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseSCPCommand(tt.command)
			if !ok {
				t.Fatalf("ParseSCPCommand(%q): got ok false, want true", tt.command)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseSCPCommand(%q):\ngot  %+v\nwant %+v", tt.command, got, tt.want)
			}
		})
	}
}

// TestSplitShellWordsMatchesSh checks the word splitting against a real shell, which
// is what runs the command under OpenSSH's sshd. Globbing is off (ServeSCP expands
// patterns itself) and HOME is "." (ParseSCPCommand writes "~" as ".").
func TestSplitShellWordsMatchesSh(t *testing.T) {
	t.Parallel()
	for _, command := range []string{
		`scp -r -d -t -- "/path with spaces"`, `scp -t /tmp/a\ b\'c`, `scp -f "a\"b\\c\d"`,
		`scp -f 'a b'"c d"e\ f`, `scp -t ''`, "scp -t '/tmp/データ 🚀'", "scp -t a\\\nb",
		"scp -t 'a\nb'", "scp -r -f ~", `scp -t ~/a\ b`, "scp -t '~' a~b", `scp -f a '*' b?[!x]`,
		`scp -f "[a]"*`, "  scp\t-t   x  ", "scp -t a#b", `scp -f "a\$b" 'c\d' e\\f "g\h"`,
	} {
		words, ok := splitShellWords(command)
		if !ok {
			t.Errorf("splitShellWords(%q): got ok false, want true", command)
			continue
		}
		var got []string
		for _, w := range words {
			got = append(got, w.text)
		}
		out, err := exec.Command("sh", "-c", `set -f; HOME=.; printf '%s\0' `+command).Output()
		if err != nil {
			t.Fatalf("sh for %q: %v", command, err)
		}
		want := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("splitShellWords(%q):\ngot  %q\nwant %q (sh)", command, got, want)
		}
	}
}

func TestParseSCPCommandRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command string
	}{
		{"empty", ""},
		{"blank", "   "},
		{"other program", "ls -t x"},
		{"scp client use", "scp a b"},
		{"both directions", "scp -t -f x"},
		{"unknown flag", "scp -t -P 22 x"},
		{"program prefix only", "scpx -t x"},
		{"env assignment", "LC_ALL=C scp -t x"},
		{"pipe", "scp -t x | cat"},
		{"semicolon", "scp -t x; rm -rf ~"},
		{"and", "scp -t x && id"},
		{"or", "scp -t x || id"},
		{"background", "scp -t x &"},
		{"redirect out", "scp -t x > /tmp/log"},
		{"redirect in", "scp -t x < /etc/passwd"},
		{"stderr redirect", "scp -t x 2>/dev/null"},
		{"dollar", "scp -t $HOME"},
		{"dollar in double quotes", `scp -t "$HOME/x"`},
		{"backtick", "scp -t `id`"},
		{"backtick in double quotes", "scp -t \"`id`\""},
		{"subshell", "scp -t $(id)"},
		{"parentheses", "(scp -t x)"},
		{"braces", "scp -t {a,b}"},
		{"newline", "scp -t x\nid"},
		{"comment", "scp -t x #y"},
		{"tilde user", "scp -t ~root/x"},
		{"unterminated single quote", "scp -t 'x"},
		{"unterminated double quote", `scp -t "x`},
		{"trailing backslash", `scp -t x\`},
		{"nul byte", "scp -t a\x00b"},
		{"quoted nul byte", "scp -f \"\x00\" '\x00'"},
		{"glob flag", "scp -* x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := ParseSCPCommand(tt.command); ok {
				t.Errorf("ParseSCPCommand(%q): got ok true (%+v), want false", tt.command, got)
			}
		})
	}
}

func FuzzParseSCPCommand(f *testing.F) {
	for _, seed := range []string{
		"scp -t /tmp/x", "scp -r -p -d -f -- '/a b' c\\ d \"e f\"", "scp -f ~/*.txt",
		"scp -t x; id", "scp -f [!a]*", `scp -t "a\"b"`, "scp -t 'データ'",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, command string) {
		args, ok := ParseSCPCommand(command)
		if !ok {
			return
		}
		if args.Sink == args.Source {
			t.Errorf("ParseSCPCommand(%q): got Sink %v and Source %v, want exactly one", command, args.Sink, args.Source)
		}
		if args.Patterns != nil && len(args.Patterns) != len(args.Paths) {
			t.Errorf("ParseSCPCommand(%q): got %d patterns for %d paths", command, len(args.Patterns), len(args.Paths))
		}
		if bytes.IndexByte([]byte(command), 0) >= 0 {
			t.Errorf("ParseSCPCommand(%q): accepted a NUL byte", command)
		}
		// The operands, quoted again for a shell, must come back the same.
		var b strings.Builder
		b.WriteString("scp -f --")
		for _, p := range args.Paths {
			b.WriteString(" '" + strings.ReplaceAll(p, "'", `'\''`) + "'")
		}
		again, ok := ParseSCPCommand(b.String())
		if !ok {
			t.Fatalf("ParseSCPCommand(%q), quoted from %q: got ok false", b.String(), command)
		}
		if len(again.Paths) != len(args.Paths) || (len(args.Paths) > 0 && !reflect.DeepEqual(again.Paths, args.Paths)) {
			t.Errorf("quoted again from %q: got paths %q, want %q", command, again.Paths, args.Paths)
		}
	})
}
