// Package statedir opens the agent's state directory (host keys, status.json) once, checks
// the directory it opened, and hands out that opened directory (an *os.Root) for every
// later read and write, so that what was checked is what is used: a directory swapped
// for another one, or a symlink planted on its path, after the check changes nothing.
//
// The rule (Check) is that the directory belongs to the uid the agent runs as and that
// neither its group nor others can write it: whoever can write it can replace the host
// keys (and so impersonate the server) or race the agent's own files there, and host
// keys in a directory others can list and rename in are not the server's alone.
package statedir
