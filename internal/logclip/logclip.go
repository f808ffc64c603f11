// Package logclip bounds the strings a client (or a program of the user's) chose
// where they go into a log line or a message sent back, so that one client cannot
// fill the log: a 250 KB user name was once logged twice per attempt. OpenSSH prints
// such strings with "%.100s" (e.g. auth.c's "Invalid user %.100s").
package logclip

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MarkMax is the most Clip adds to the max bytes of s it keeps: the mark that says
// something was cut and how long s was.
const MarkMax = len("…[clipped: ") + 19 + len(" bytes]") // 19 digits: the longest int64

// Clip is s as a log line may carry it: at most max bytes of s, cut at a character
// boundary, invalid UTF-8 replaced by U+FFFD, and, when something was cut, a visible
// mark with the full length (at most MarkMax bytes more). The log handler escapes
// what is left (quotes in text, \u escapes in JSON), so control characters cannot
// forge a line.
func Clip(s string, max int) string {
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
