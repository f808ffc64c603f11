//go:build linux

package main

import "io"

// connectInfoWriter is where serve prints how to connect (agent.Config.ConnectInfo):
// stderr beside the text logs, nothing with --log-format json, whose readers expect
// one JSON object per line; `jobsshd status` prints the same text from status.json
// whenever it is wanted. Never stdout, which belongs to the job under entrypoint.sh.
func connectInfoWriter(opts serveOptions, stderr io.Writer) io.Writer {
	if opts.jsonLogs {
		return nil
	}
	return stderr
}
