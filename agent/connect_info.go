package agent

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// knownHostsName is the agent's name in a known_hosts line: the connect host, with the
// port when it is not 22.
func knownHostsName(st *Status) string {
	if st.Port != 22 {
		return "[" + st.ConnectHost + "]:" + strconv.Itoa(st.Port)
	}
	return st.ConnectHost
}

// WriteConnectInfo tells a person how to connect to the agent st describes: the ssh
// command, a ~/.ssh/config block (what VS Code Remote-SSH reads) and the known_hosts
// lines, so that nobody needs StrictHostKeyChecking=no. The agent prints it at start
// and `jobsshd status` prints it again from status.json: one text, from one
// implementation.
func WriteConnectInfo(w io.Writer, st *Status) {
	host, port, user := st.ConnectHost, st.Port, st.User
	hostPort := knownHostsName(st)
	var b strings.Builder
	fmt.Fprintf(&b, "jobsshd is serving %s on port %d.\n\n", user, port)
	identity := "id_container"
	if st.IDFileMissing {
		identity = "YOUR_KEY"
		fmt.Fprintf(&b, "There is no id_container key (%s).\nConnect with a key from %s:\n", st.IDFileProblem, strings.Join(st.KeySources, ", "))
	} else {
		fmt.Fprintf(&b, "Connect (private key %s, PuTTY/WinSCP/FileZilla key %s):\n", st.IDFile, st.IDFilePPK)
	}
	fmt.Fprintf(&b, "  ssh -i %s -p %d %s@%s\n\n", identity, port, user, host)
	fmt.Fprintf(&b, "~/.ssh/config block (VS Code Remote-SSH reads it):\n")
	fmt.Fprintf(&b, "  Host %s\n    HostName %s\n    Port %d\n    User %s\n    IdentityFile ~/.ssh/%s\n\n", host, host, port, user, identity)
	fmt.Fprintf(&b, "known_hosts lines (replace host and port if your platform relays the connection):\n")
	for _, k := range st.HostKeys {
		fmt.Fprintf(&b, "  %s %s\n", hostPort, k.PublicKey)
	}
	writeWebInfo(&b, st.Web, user)
	_, _ = io.WriteString(w, b.String()) // stderr or a terminal: nothing to do when it is gone
}
