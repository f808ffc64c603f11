package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProxyCommandUsage(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no URL", nil, "give one URL"},
		{"two URLs", []string{"ws://a/ssh", "ws://b/ssh"}, "give one URL"},
		{"bad scheme", []string{"ftp://a/ssh"}, "scheme must be wss://"},
		{"no host", []string{"wss:///ssh"}, "has no host"},
		{"bad header", []string{"--header", "NoColon", "ws://a/ssh"}, "use 'Name: value'"},
		{"header with a newline", []string{"--header", "X-A: b\r\nX-B: c", "ws://a/ssh"}, "use 'Name: value'"},
		{"missing token file", []string{"--token-file", "/nonexistent", "ws://a/ssh"}, "--token-file"},
		{"Authorization twice", []string{"--token-file", tokenFile, "--header", "Authorization: Basic x", "ws://a/ssh"}, "both want the Authorization header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := proxyCommand(tc.args, func(string) string { return "" }, strings.NewReader(""), &bytes.Buffer{}, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("jobsshd proxy %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), exitUsage, tc.want)
			}
		})
	}
}

func TestProxyConfig(t *testing.T) {
	t.Parallel()
	var o proxyOptions
	if err := o.headers.Set("X-Api-Key:  abc "); err != nil {
		t.Fatal(err)
	}
	opts, err := o.proxyConfig("wss://platform.example/jobs/42/ssh", func(k string) string {
		return map[string]string{"JOBSSHD_WEB_TOKEN": " env-token "}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Token != "env-token" || opts.Header.Get("X-Api-Key") != "abc" {
		t.Errorf("got token %q and X-Api-Key %q, want env-token and abc", opts.Token, opts.Header.Get("X-Api-Key"))
	}
}
