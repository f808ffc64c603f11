package agent

import (
	"errors"
	"fmt"
	"syscall"

	"jobsshd/internal/statedir"
)

// readOnlyAdvice adds the fix to err when it is a write to the state directory that
// failed because its file system is read-only (a state directory that exists in an
// image run with --read-only), and returns err as it is otherwise.
func readOnlyAdvice(err error) error {
	if errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("%w: %s", err, statedir.ReadOnlyFix)
	}
	return err
}
