package jobtrust

import (
	"strings"
	"testing"
)

func TestWithManagedBlock(t *testing.T) {
	t.Parallel()
	const block = beginMarker + "\nnew\n" + endMarker + "\n"
	tests := []struct {
		name    string
		content string
		block   string
		atTop   bool
		want    string
		wantErr string
	}{
		{name: "empty file, top", content: "", block: block, atTop: true, want: block},
		{name: "empty file, end", content: "", block: block, want: block},
		{name: "prepend", content: "Host a\n", block: block, atTop: true, want: block + "Host a\n"},
		{name: "append after unterminated line", content: "a b", block: block, want: "a b\n" + block},
		{name: "replace in place", content: "x\n" + beginMarker + "\nold\nold2\n" + endMarker + "\ny\n", block: block, atTop: true, want: "x\n" + block + "y\n"},
		{name: "replace with CRLF markers", content: "x\r\n" + beginMarker + "\r\nold\r\n" + endMarker + "\r\ny\r\n", block: block, want: "x\r\n" + block + "y\r\n"},
		{name: "remove", content: "x\n" + beginMarker + "\nold\n" + endMarker + "\n", block: "", want: "x\n"},
		{name: "unchanged", content: "x\n" + block + "y", block: block, want: "x\n" + block + "y"},
		{name: "begin without end", content: "x\n" + beginMarker + "\nmine\n", block: block, wantErr: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := withManagedBlock([]byte(tt.content), tt.block, tt.atTop)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, error %v, want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}
