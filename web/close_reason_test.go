package web

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestClipReasonFitsAndStaysUTF8: a close reason longer than a close frame holds is
// cut to fit, at a character boundary: a browser fails a connection whose close
// reason is not valid UTF-8 (RFC 6455 §5.5.1, §8.1), and the page would then show a
// bare 1006 instead of the reason.
func TestClipReasonFitsAndStaysUTF8(t *testing.T) {
	for _, s := range []string{"a" + strings.Repeat("é", 100), strings.Repeat("€", 60), strings.Repeat("x", 500), "short"} {
		got := clipReason(s)
		if len(got) > maxCloseReason || !utf8.ValidString(got) {
			t.Errorf("clipReason(%d bytes) = %q: %d bytes, valid UTF-8 %v; want at most %d bytes of valid UTF-8",
				len(s), got, len(got), utf8.ValidString(got), maxCloseReason)
		}
	}
	if got := clipReason("short"); got != "short" {
		t.Errorf("clipReason(%q) = %q, want it unchanged", "short", got)
	}
}
