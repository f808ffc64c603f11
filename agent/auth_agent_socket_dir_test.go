package agent

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuthAgentSocketDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		tmp      func(t *testing.T) string
		wantHome bool
	}{
		{name: "temp dir", tmp: func(t *testing.T) string { return t.TempDir() }},
		{name: "no temp dir (minimal image)", tmp: func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "missing")
		}, wantHome: true},
		{name: "temp dir not a directory", tmp: func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return f
		}, wantHome: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmp, home := tt.tmp(t), t.TempDir()
			dir, err := authAgentSocketDir(tmp, home)
			if err != nil {
				t.Fatalf("authAgentSocketDir(%q, %q): %v", tmp, home, err)
			}
			parent, want := filepath.Dir(dir), tmp
			if tt.wantHome {
				want = home
			}
			if parent != want {
				t.Errorf("got %s, want a directory in %s", dir, want)
			}
			if !strings.Contains(filepath.Base(dir), "jobsshd-agent-") {
				t.Errorf("got %s, want a jobsshd-agent- name", dir)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != fs.ModeDir|0o700 {
				t.Errorf("%s: mode %v, want %v", dir, fi.Mode(), fs.ModeDir|0o700)
			}
		})
	}
	t.Run("neither usable", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "missing")
		if dir, err := authAgentSocketDir(missing, missing); err == nil {
			t.Errorf("got %s, want an error naming both places", dir)
		} else if strings.Count(err.Error(), missing) < 2 {
			t.Errorf("error %q does not name both places tried", err)
		}
	})
}
