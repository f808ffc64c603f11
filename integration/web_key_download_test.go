package integration

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWebKeyDownloadReadsAsTheAccount: the key downloads read the files as the account,
// refusing what the account could plant at their paths to make root read for it: a
// symlink to /etc/shadow, a FIFO (which would hang the read), a huge file, a file that
// is not the account's. Each answer comes at once, and none carries another file.
func TestWebKeyDownloadReadsAsTheAccount(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	pub := w.IDFile + ".pub"
	want, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := getKey(t, w, "id_container.pub"); code != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("GET /id_container.pub: %d %q, want 200 with the file", code, body)
	}
	shadow, err := os.ReadFile("/etc/shadow")
	if err != nil {
		t.Fatal(err)
	}
	shadowLine, _, _ := strings.Cut(string(shadow), "\n")
	for _, tc := range []struct {
		name  string
		plant func() error
	}{
		{"symlink to /etc/shadow", func() error { return os.Symlink("/etc/shadow", pub) }},
		{"FIFO", func() error {
			if err := syscall.Mkfifo(pub, 0o600); err != nil {
				return err
			}
			return os.Chown(pub, w.Account.UID, w.Account.GID)
		}},
		{"16 MiB file", func() error {
			if err := os.WriteFile(pub, bytes.Repeat([]byte("A"), 16<<20), 0o600); err != nil {
				return err
			}
			return os.Chown(pub, w.Account.UID, w.Account.GID)
		}},
		{"root's file", func() error { return os.WriteFile(pub, []byte("ssh-ed25519 ROOTS"), 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Remove(pub); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if err := tc.plant(); err != nil {
				t.Fatal(err)
			}
			code, body := getKey(t, w, "id_container.pub")
			if code == http.StatusOK {
				t.Errorf("GET /id_container.pub with a %s there: 200 (%d bytes), want a refusal", tc.name, len(body))
			}
			if bytes.Contains(body, []byte(shadowLine)) || bytes.Contains(body, []byte("ROOTS")) || len(body) > 4096 {
				t.Errorf("the refusal carries what was planted: %.200q", body)
			}
		})
	}
}

// getKey GETs /NAME with the token, within 10 s (a read that blocks fails the test).
func getKey(t *testing.T, w *termWeb, name string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.base+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET /%s: %v", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("GET /%s: read the answer: %v", name, err)
	}
	return resp.StatusCode, body
}
