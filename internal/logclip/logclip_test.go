package logclip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{name: "short", in: "alice", max: 10, want: "alice"},
		{name: "exact", in: "0123456789", max: 10, want: "0123456789"},
		{name: "long", in: strings.Repeat("a", 20), max: 10, want: "aaaaaaaaaa…[clipped: 20 bytes]"},
		// "é" is 2 bytes: a cut inside it backs off to the character's start.
		{name: "cut inside a character", in: "aaaaaaaaa" + "é" + "zz", max: 10, want: "aaaaaaaaa…[clipped: 13 bytes]"},
		{name: "invalid UTF-8", in: "a\xffb", max: 10, want: "a\uFFFDb"},
		{name: "invalid and long", in: strings.Repeat("\xff", 20), max: 10, want: "\uFFFD…[clipped: 20 bytes]"},
		{name: "control characters kept for the handler to escape", in: "a\nb", max: 10, want: "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clip(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Clip(%q, %d) = %q is not valid UTF-8", tt.in, tt.max, got)
			}
		})
	}
}

// FuzzClip: whatever the input, the result is valid UTF-8 and bounded.
func FuzzClip(f *testing.F) {
	f.Add("alice", 100)
	f.Add("é\xff\x00", 1)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		got := Clip(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q is not valid UTF-8", s, max, got)
		}
		if len(got) > max+MarkMax {
			t.Fatalf("Clip(%q, %d) = %q: %d bytes, longer than the bound", s, max, got, len(got))
		}
	})
}
