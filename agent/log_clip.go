package agent

import "jobsshd/internal/logclip"

// Bounds on a string a client (or a program of the user's) chose, where it goes into a
// log line. Without them one client fills the log: a 250 KB user name was logged twice
// per attempt, a 250 KB KEXINIT name-list verbatim in connection.close's reason.
// OpenSSH prints such strings with "%.100s" (e.g. auth.c's "Invalid user %.100s").
const (
	// logNameMax: user names, client versions, channel, request, subsystem, signal and
	// environment variable names.
	logNameMax = 100
	// logTextMax: commands, error reasons (which may quote a name), forward targets.
	logTextMax = 512
	// logPathMax: file paths in file.* events and socket paths, which are legitimately
	// longer than a name (PATH_MAX is 4096).
	logPathMax = 1024
)

// clip is logclip.Clip, which the web server shares.
func clip(s string, max int) string { return logclip.Clip(s, max) }

// clipErr is clip for an error's text, which may quote what a client sent.
func clipErr(err error) string {
	if err == nil {
		return ""
	}
	return clip(err.Error(), logTextMax)
}
