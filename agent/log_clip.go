package agent

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on a string a client (or a program of the user's) chose, where it goes into a
// log line. Without them one client fills the log: a 250 KB user name was logged twice
// per attempt, a 250 KB KEXINIT name-list verbatim in connection.close's reason.
// OpenSSH prints such strings with "%.100s" (e.g. auth.c's "Invalid user %.100s").
const (
	// logNameMax: user names, client versions, channel, request, subsystem, signal and
	// environment variable names.
	logNameMax = 100
	// logTextMax: commands, error reasons (which may quote a name), forward targets.
	logTextMax = 512
	// logPathMax: file paths in file.* events and socket paths, which are legitimately
	// longer than a name (PATH_MAX is 4096).
	logPathMax = 1024
)

// clip is s as a log line may carry it: at most max bytes of s, cut at a character
// boundary, invalid UTF-8 replaced by U+FFFD, and, when something was cut, a visible
// mark with the full length. The log handler escapes what is left (quotes in text,
// \u escapes in JSON), so control characters cannot forge a line.
func clip(s string, max int) string {
	if len(s) <= max && utf8.ValidString(s) {
		return s
	}
	cut := s
	if len(cut) > max {
		cut = cut[:max]
		// Back off to the start of a character, so that the cut does not make a valid
		// string invalid (at most utf8.UTFMax-1 bytes).
		for i := 0; i < utf8.UTFMax && len(cut) > 0 && !utf8.RuneStart(s[len(cut)]); i++ {
			cut = cut[:len(cut)-1]
		}
	}
	cut = strings.ToValidUTF8(cut, "\uFFFD")
	if len(cut) > max { // replacement characters are 3 bytes; a rare, harmless excess
		cut = strings.ToValidUTF8(cut[:max], "")
	}
	if len(s) > max {
		return cut + "…[clipped: " + strconv.Itoa(len(s)) + " bytes]"
	}
	return cut
}

// clipErr is clip for an error's text, which may quote what a client sent.
func clipErr(err error) string {
	if err == nil {
		return ""
	}
	return clip(err.Error(), logTextMax)
}
