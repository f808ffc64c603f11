package sftpd

import "strings"

// ParseSCPCommand reports whether an exec request's command line is a legacy scp server
// invocation, and returns its parsed arguments. The command is what clients send: "scp"
// (or a path ending in "/scp"), flags among -t -f -r -p -d -v -q (combinable, as
// getopt(3) allows: "-rt"), an optional "--", and the paths, e.g. `scp -t /data`,
// `scp -r -p -f ~/run`, `scp -d -t -- '/tmp/a b'`. Exactly one of -t and -f must be
// present.
//
// Clients pass paths unquoted or quoted for the remote shell (OpenSSH's scp -O sends the
// user's text as is), so the line is split as sh(1) would: single and double quotes,
// backslash escapes, a leading "~" or "~/" for the home directory, and unquoted glob
// characters (recorded in Patterns for ServeSCP to expand). Anything a shell would do
// more with — pipes, ";", "&", redirections, "$", backticks, subshells, braces, "~user",
// comments, a newline — makes ok false: the command is then not a plain scp invocation,
// and the caller runs it through the user's shell like any other.
func ParseSCPCommand(command string) (args SCPArgs, ok bool) {
	words, ok := splitShellWords(command)
	if !ok || len(words) == 0 {
		return SCPArgs{}, false
	}
	prog := words[0]
	if prog.pattern != "" || (prog.text != "scp" && !strings.HasSuffix(prog.text, "/scp")) {
		return SCPArgs{}, false
	}
	// Flags stop at the first operand, as with OpenSSH's BSD getopt: a later "-r" is a
	// path.
	i := 1
	for ; i < len(words); i++ {
		w := words[i]
		if w.text == "--" {
			i++
			break
		}
		if !strings.HasPrefix(w.text, "-") || w.text == "-" {
			break
		}
		if w.pattern != "" {
			return SCPArgs{}, false
		}
		for _, c := range w.text[1:] {
			switch c {
			case 't':
				args.Sink = true
			case 'f':
				args.Source = true
			case 'r':
				args.Recursive = true
			case 'p':
				args.PreserveTimes = true
			case 'd':
				args.TargetIsDir = true
			case 'v':
				args.Verbose = true
			case 'q':
				// Quiet (no progress meter) means nothing on the serving side.
			default:
				return SCPArgs{}, false
			}
		}
	}
	if args.Sink == args.Source {
		return SCPArgs{}, false
	}
	for j, w := range words[i:] {
		args.Paths = append(args.Paths, w.text)
		if w.pattern != "" {
			if args.Patterns == nil {
				args.Patterns = make([]string, len(words)-i)
			}
			args.Patterns[j] = w.pattern
		}
	}
	return args, true
}

// shellWord is one word of a command line.
type shellWord struct {
	text    string // quoting removed
	pattern string // when the word has unquoted glob characters: it as a path.Match pattern
}

// splitShellWords splits a command line into words as sh(1) does for a simple command
// whose words need no expansion but quote removal, "~" and globbing. ok is false for
// anything else. Bytes of UTF-8 sequences are never ASCII, so they pass as ordinary
// characters.
func splitShellWords(s string) (words []shellWord, ok bool) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, false // no shell word, and no path, can hold one
	}
	var text, pat strings.Builder
	inWord, glob := false, false
	// quoted adds a character that must match itself, also in the pattern.
	quoted := func(c byte) {
		text.WriteByte(c)
		if strings.IndexByte(`*?[]\`, c) >= 0 {
			pat.WriteByte('\\')
		}
		pat.WriteByte(c)
		inWord = true
	}
	// unquoted adds a character that keeps its glob meaning, if any.
	unquoted := func(c byte) {
		text.WriteByte(c)
		pat.WriteByte(c)
		inWord = true
	}
	endWord := func() {
		if inWord {
			w := shellWord{text: text.String()}
			if glob {
				w.pattern = pat.String()
			}
			words = append(words, w)
		}
		text.Reset()
		pat.Reset()
		inWord, glob = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			endWord()
		case c == '\\':
			if i+1 == len(s) {
				return nil, false
			}
			i++
			if s[i] == '\n' {
				continue // a line continuation vanishes
			}
			quoted(s[i])
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			for _, q := range []byte(s[i+1 : i+1+end]) {
				quoted(q)
			}
			inWord = true // '' is an empty word
			i += end + 1
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch d := s[j]; {
				case d == '$' || d == '`':
					return nil, false
				case d == '\\' && j+1 < len(s) && strings.IndexByte("$`\"\\\n", s[j+1]) >= 0:
					j++
					if s[j] != '\n' {
						quoted(s[j])
					}
				default:
					quoted(d)
				}
			}
			if j == len(s) {
				return nil, false
			}
			i = j
		case strings.IndexByte("|&;<>()$`{\n", c) >= 0:
			return nil, false
		case c == '#' && !inWord:
			return nil, false // a comment
		case c == '~' && !inWord:
			// "~" and "~/..." are the home directory, which relative paths resolve
			// against anyway; "~user" and the like are left to a real shell.
			if i+1 < len(s) && strings.IndexByte("/ \t", s[i+1]) < 0 {
				return nil, false
			}
			unquoted('.')
		case c == '*' || c == '?':
			unquoted(c)
			glob = true
		case c == '[':
			unquoted(c)
			glob = true
			if i+1 < len(s) && s[i+1] == '!' {
				// sh's negated class [!...] is path.Match's [^...].
				i++
				text.WriteByte('!')
				pat.WriteByte('^')
			}
		default:
			unquoted(c)
		}
	}
	endWord()
	return words, true
}
