package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadLogLevelFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	others := write("others", "debug\n", 0o644)
	if os.Geteuid() == 0 {
		if err := os.Chown(others, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	// A user's directory with a symlink to a root-only file: root must not read it.
	userDir := filepath.Join(dir, "user")
	if err := os.Mkdir(userDir, 0o755); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(userDir, "level")
	if err := os.Symlink(write("root-only", "TOPSECRET\n", 0o600), planted); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(planted, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(userDir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		path    string
		want    slog.Level
		wantErr string
	}{
		{name: "debug", path: write("debug", "debug\n", 0o644), want: slog.LevelDebug},
		{name: "upper case, spaces", path: write("warn", "  WARN \n", 0o600), want: slog.LevelWarn},
		{name: "group writable", path: write("gw", "debug\n", 0o664), wantErr: "chmod go-w"},
		{name: "not a level", path: write("bad", "loud\n", 0o644), wantErr: "write debug, info, warn or error"},
		{name: "too long", path: write("long", strings.Repeat("x", 65), 0o644), wantErr: "larger than 64 bytes"},
		{name: "FIFO does not hang", path: fifo, wantErr: "not a regular file"},
		{name: "owned by another account", path: others, wantErr: "owned by uid"},
		{name: "missing", path: filepath.Join(dir, "none"), wantErr: "no such file"},
		{name: "a user's symlink to a root-only file", path: planted, wantErr: "not root's alone"},
		{name: "content never quoted", path: write("secret", "TOPSECRET\n", 0o600), wantErr: "holds no log level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.path == others || tt.path == planted) && os.Geteuid() != 0 {
				t.Skip("needs root to give the file to another account")
			}
			got, err := readLogLevelFile(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, %v; want an error with %q", got, err, tt.wantErr)
				} else if strings.Contains(err.Error(), "TOPSECRET") {
					t.Errorf("the error quotes the file: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
