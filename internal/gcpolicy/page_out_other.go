//go:build !linux

package gcpolicy

// pageOutExecutable does nothing outside Linux: jobsshd's agent runs only there.
func pageOutExecutable() (int, error) { return 0, nil }
