package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestLineErrorMayName: a rejected line tells whether it names a key, whatever broke
// it, and a line whose content was never read may name any key.
func TestLineErrorMayName(t *testing.T) {
	job, other := newTestKey(t), newTestKey(t)
	jobLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(job)))
	otherLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other)))
	tests := []struct {
		name  string
		input string
		want  bool
	}{
		{name: "bad from= on its line", input: `from="10.0.0.2/16",command="x" ` + jobLine, want: true},
		{name: "unterminated quote", input: `command="echo x ` + jobLine, want: true},
		{name: "blob glued to an option", input: `command="` + strings.Fields(jobLine)[1] + `"`, want: true},
		{name: "unknown option", input: `bogus ` + jobLine, want: true},
		{name: "another key's bad line", input: `bogus ` + otherLine, want: false},
		{name: "not a key at all", input: "not a key", want: false},
		{name: "too long", input: strings.Repeat("x", maxAuthorizedKeyLine+10), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ParseAuthorizedKeys(strings.NewReader(tt.input+"\n"), "test")
			if len(errs) != 1 {
				t.Fatalf("got %d rejected lines, want 1", len(errs))
			}
			if got := errs[0].MayName(job); got != tt.want {
				t.Errorf("MayName: got %v, want %v (%v)", got, tt.want, errs[0])
			}
		})
	}
}

// newTestKey makes a fresh ed25519 public key.
func newTestKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
