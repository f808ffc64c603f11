// Package reaper reaps the orphaned processes the kernel hands to jobsshd when it is
// PID 1 of its PID namespace or a child subreaper, while sparing every child whose
// starter waits for it itself: those are started through the process's Registry,
// Children. It knows nothing of SSH; the agent starts its programs through it and main
// runs ReapOrphans.
package reaper
