package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Severity grades a Finding.
type Severity int

const (
	// OK: the thing checked is as the agent needs it.
	OK Severity = iota
	// Info: something worth knowing that needs no action, such as a key the agent will
	// create at start.
	Info
	// Warn: logins work, but something is off (an ignored authorized_keys line, a port
	// the agent will have to replace).
	Warn
	// Fail: logins would fail, for everyone or for the keys the finding names.
	Fail
)

// String returns the label printed in front of a finding.
func (s Severity) String() string {
	switch s {
	case OK:
		return "OK"
	case Info:
		return "INFO"
	case Warn:
		return "WARN"
	case Fail:
		return "FAIL"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Finding is one result of a check. Fix is empty for OK and Info findings and says what
// to do for Warn and Fail ones.
type Finding struct {
	Severity Severity
	What     string
	Fix      string
}

// Report is every finding of one diagnosis, in the order they were made.
type Report struct {
	Findings []Finding
}

func (r *Report) add(sev Severity, fix, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Severity: sev, What: fmt.Sprintf(format, args...), Fix: fix})
}

func (r *Report) ok(format string, args ...any)   { r.add(OK, "", format, args...) }
func (r *Report) info(format string, args ...any) { r.add(Info, "", format, args...) }

func (r *Report) warn(fix, format string, args ...any) { r.add(Warn, fix, format, args...) }
func (r *Report) fail(fix, format string, args ...any) { r.add(Fail, fix, format, args...) }

// Count returns how many findings have severity sev.
func (r *Report) Count(sev Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == sev {
			n++
		}
	}
	return n
}

// Blocking reports whether some finding means logins would fail.
func (r *Report) Blocking() bool { return r.Count(Fail) > 0 }

// Write prints one line per finding, "SEVERITY  what", with an indented "fix: ..." line
// under each Warn and Fail, then a summary line.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-4s  %s\n", f.Severity, f.What)
		if f.Fix != "" && f.Severity >= Warn {
			fmt.Fprintf(&b, "      fix: %s\n", f.Fix)
		}
	}
	fails, warns := r.Count(Fail), r.Count(Warn)
	switch {
	case fails > 0:
		fmt.Fprintf(&b, "%s, %s: logins would fail until the FAIL findings are fixed\n",
			plural(fails, "failure"), plural(warns, "warning"))
	case warns > 0:
		fmt.Fprintf(&b, "%s, no failure: logins should work\n", plural(warns, "warning"))
	default:
		b.WriteString("no problem found: logins should work\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
