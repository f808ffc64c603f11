package sftpd

import (
	"errors"
	"os"
	"path"
	"strings"
)

// operands are the paths to serve: args.Paths with their patterns expanded, as the
// shell would have done before starting scp.
func (s *scpSession) operands() ([]string, error) {
	if len(s.args.Paths) == 0 {
		return nil, errors.New("missing path operand")
	}
	var paths []string
	for i, p := range s.args.Paths {
		if i < len(s.args.Patterns) && s.args.Patterns[i] != "" {
			if matches := s.glob(s.args.Patterns[i]); len(matches) > 0 {
				paths = append(paths, matches...)
				continue
			}
		}
		// No match leaves the word as it was, as in sh without nullglob.
		paths = append(paths, p)
	}
	return paths, nil
}

// glob expands a path.Match pattern one component at a time, like sh: a component with
// glob characters matches the names in its directory, in sorted order, and (bash without
// dotglob) only a component starting with '.' matches names starting with '.'. Results
// are paths as the client would name them, relative ones still relative to home.
func (s *scpSession) glob(pattern string) []string {
	comps := strings.Split(pattern, "/")
	candidates := []string{""}
	for i, comp := range comps {
		var next []string
		for _, base := range candidates {
			join := func(name string) string {
				if i == 0 {
					return name
				}
				return base + "/" + name
			}
			if !hasGlobMeta(comp) {
				next = append(next, join(unescapeGlob(comp)))
				continue
			}
			dir := s.abs(base)
			switch {
			case i == 0:
				dir = s.abs(".")
			case base == "":
				dir = "/"
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				continue // sh skips what it cannot read
			}
			for _, e := range entries {
				name := e.Name()
				if strings.HasPrefix(name, ".") && !strings.HasPrefix(comp, ".") {
					continue
				}
				if ok, err := path.Match(comp, name); ok && err == nil {
					next = append(next, join(name))
				}
			}
		}
		candidates = next
	}
	// Components without glob characters were taken on trust; keep what exists.
	var matches []string
	for _, c := range candidates {
		if _, err := os.Lstat(s.abs(c)); err == nil {
			matches = append(matches, c)
		}
	}
	return matches
}

// hasGlobMeta reports whether a pattern component has an unescaped * ? or [.
func hasGlobMeta(comp string) bool {
	for i := 0; i < len(comp); i++ {
		switch comp[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// unescapeGlob removes the backslashes that make pattern characters literal.
func unescapeGlob(comp string) string {
	if !strings.Contains(comp, `\`) {
		return comp
	}
	var b strings.Builder
	for i := 0; i < len(comp); i++ {
		if comp[i] == '\\' && i+1 < len(comp) {
			i++
		}
		b.WriteByte(comp[i])
	}
	return b.String()
}
