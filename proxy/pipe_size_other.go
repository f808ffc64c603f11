//go:build !linux

package proxy

// growStdioPipes is a no-op outside Linux, whose pipes cannot be resized this way.
func growStdioPipes(stdin, stdout any) {}
