package agent

import (
	"errors"
	"fmt"
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
		got := readOnlyAdvice(tt.err)
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: %v does not wrap %v", tt.name, got, tt.err)
		}
		if added := strings.Contains(got.Error(), "JOBSSHD_STATE_DIR"); added != tt.want {
			t.Errorf("%s: got %q, want the advice: %v", tt.name, got, tt.want)
		}
	}
}
