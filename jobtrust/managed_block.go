package jobtrust

import (
	"bytes"
	"fmt"
)

// The lines that enclose what jobsshd writes into a user's file. Everything outside
// them is the user's and is kept byte for byte.
const (
	beginMarker = "# BEGIN jobsshd job trust"
	endMarker   = "# END jobsshd job trust"
)

// withManagedBlock returns content with its managed block (the lines from beginMarker to
// endMarker) replaced by block, which must be whole lines between the markers, marker
// lines included. Without a managed block, block goes first (atTop) or last. An empty
// block removes the managed block. A begin marker without an end is an error: guessing
// where the block ends could delete the user's lines.
func withManagedBlock(content []byte, block string, atTop bool) ([]byte, error) {
	lines := bytes.SplitAfter(content, []byte("\n"))
	start, end := -1, -1
	for i, l := range lines {
		t := string(bytes.TrimRight(l, " \t\r\n"))
		switch {
		case t == beginMarker && start < 0:
			start = i
		case t == endMarker && start >= 0:
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if start >= 0 && end < 0 {
		return nil, fmt.Errorf("line %d has %q but no %q follows: add the end line or remove the block", start+1, beginMarker, endMarker)
	}
	var out bytes.Buffer
	switch {
	case start >= 0:
		for _, l := range lines[:start] {
			out.Write(l)
		}
		out.WriteString(block)
		for _, l := range lines[end+1:] {
			out.Write(l)
		}
	case atTop:
		out.WriteString(block)
		out.Write(content)
	default:
		out.Write(content)
		if len(content) > 0 && content[len(content)-1] != '\n' && block != "" {
			out.WriteByte('\n')
		}
		out.WriteString(block)
	}
	return out.Bytes(), nil
}
