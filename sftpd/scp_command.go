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
	w := wordSplitter{s: s}
	for i := 0; i < len(s); i++ {
		if i, ok = w.step(i); !ok {
			return nil, false
		}
	}
	w.endWord()
	return w.words, true
}

// wordSplitter is splitShellWords's state: the words so far and the one being read,
// as text (quoting removed) and as a path.Match pattern.
type wordSplitter struct {
	s         string
	words     []shellWord
	text, pat strings.Builder
	inWord    bool // a word has begun, maybe empty ('')
	glob      bool // the word has an unquoted glob character
}

// step reads the character at s[i] and what it quotes, and returns the index of the
// last byte it read; ok is false when the line is more than a plain command.
func (w *wordSplitter) step(i int) (last int, ok bool) {
	s := w.s
	switch c := s[i]; {
	case c == ' ' || c == '\t':
		w.endWord()
	case c == '\\':
		return w.backslash(i)
	case c == '\'':
		return w.singleQuoted(i)
	case c == '"':
		return w.doubleQuoted(i)
	case strings.IndexByte("|&;<>()$`{\n", c) >= 0:
		return i, false
	case c == '#' && !w.inWord:
		return i, false // a comment
	case c == '~' && !w.inWord:
		// "~" and "~/..." are the home directory, which relative paths resolve
		// against anyway; "~user" and the like are left to a real shell.
		if i+1 < len(s) && strings.IndexByte("/ \t", s[i+1]) < 0 {
			return i, false
		}
		w.unquoted('.')
	case c == '*' || c == '?':
		w.unquoted(c)
		w.glob = true
	case c == '[':
		w.unquoted(c)
		w.glob = true
		if i+1 < len(s) && s[i+1] == '!' {
			// sh's negated class [!...] is path.Match's [^...].
			i++
			w.text.WriteByte('!')
			w.pat.WriteByte('^')
		}
	default:
		w.unquoted(c)
	}
	return i, true
}

// backslash reads the unquoted backslash at s[i] and the character it quotes.
func (w *wordSplitter) backslash(i int) (last int, ok bool) {
	if i+1 == len(w.s) {
		return i, false
	}
	i++
	if w.s[i] != '\n' { // a line continuation vanishes
		w.quoted(w.s[i])
	}
	return i, true
}

// singleQuoted reads the single-quoted string that starts at s[i].
func (w *wordSplitter) singleQuoted(i int) (last int, ok bool) {
	end := strings.IndexByte(w.s[i+1:], '\'')
	if end < 0 {
		return i, false
	}
	for _, q := range []byte(w.s[i+1 : i+1+end]) {
		w.quoted(q)
	}
	w.inWord = true // '' is an empty word
	return i + end + 1, true
}

// doubleQuoted reads the double-quoted string that starts at s[i]: "$" and "`" would
// expand, a backslash quotes only the characters sh's does there.
func (w *wordSplitter) doubleQuoted(i int) (last int, ok bool) {
	s := w.s
	w.inWord = true
	j := i + 1
	for ; j < len(s) && s[j] != '"'; j++ {
		switch d := s[j]; {
		case d == '$' || d == '`':
			return j, false
		case d == '\\' && j+1 < len(s) && strings.IndexByte("$`\"\\\n", s[j+1]) >= 0:
			j++
			if s[j] != '\n' {
				w.quoted(s[j])
			}
		default:
			w.quoted(d)
		}
	}
	return j, j < len(s)
}

// quoted adds a character that must match itself, also in the pattern.
func (w *wordSplitter) quoted(c byte) {
	w.text.WriteByte(c)
	if strings.IndexByte(`*?[]\`, c) >= 0 {
		w.pat.WriteByte('\\')
	}
	w.pat.WriteByte(c)
	w.inWord = true
}

// unquoted adds a character that keeps its glob meaning, if any.
func (w *wordSplitter) unquoted(c byte) {
	w.text.WriteByte(c)
	w.pat.WriteByte(c)
	w.inWord = true
}

// endWord ends the word being read, if one has begun.
func (w *wordSplitter) endWord() {
	if w.inWord {
		word := shellWord{text: w.text.String()}
		if w.glob {
			word.pattern = w.pat.String()
		}
		w.words = append(w.words, word)
	}
	w.text.Reset()
	w.pat.Reset()
	w.inWord, w.glob = false, false
}
