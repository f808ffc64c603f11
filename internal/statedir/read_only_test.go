package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestReadOnlyAdvice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool // the advice is added
	}{
		{"read-only file system", fmt.Errorf("create temporary file: %w", syscall.EROFS), true},
		{"no space", fmt.Errorf("write: %w", syscall.ENOSPC), false},
	}
	for _, tt := range tests {
		got := ReadOnlyAdvice(tt.err)
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: %v does not wrap %v", tt.name, got, tt.err)
		}
		if added := strings.Contains(got.Error(), "JOBSSHD_STATE_DIR"); added != tt.want {
			t.Errorf("%s: got %q, want the advice: %v", tt.name, got, tt.want)
		}
	}
}

// TestCreateFixReadOnly: a state directory that cannot be created on a read-only file
// system gets the read-only advice, not the advice about permissions or HOME.
func TestCreateFixReadOnly(t *testing.T) {
	t.Parallel()
	if got := createFix(fmt.Errorf("mkdir: %w", syscall.EROFS), 1000); got != readOnlyFix {
		t.Errorf("EROFS: got %q, want %q", got, readOnlyFix)
	}
	if got := createFix(fmt.Errorf("mkdir: %w", fs.ErrPermission), 1000); !strings.Contains(got, "set HOME") {
		t.Errorf("EACCES not as root: got %q, want the HOME advice", got)
	}
}
