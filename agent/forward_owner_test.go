package agent

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestTCPForwardSocketsBelongToAccount: the sockets of -L and -R are created as the
// served account, so owner-based firewall rules treat the user's tunnels like the user's
// own connections. The kernel records the creator's uid per socket (/proc/net/tcp).
func TestTCPForwardSocketsBelongToAccount(t *testing.T) {
	t.Parallel()
	srv, signer, _ := startNobodyServer(t, nil)
	client := dialClient(t, srv, signer)

	t.Run("direct-tcpip", func(t *testing.T) {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := client.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		// The agent's end of the connection is the accepted socket's remote address.
		port := peer.RemoteAddr().(*net.TCPAddr).Port
		if got := tcpSocketOwner(t, port); got != nobody {
			t.Errorf("got the agent's socket owned by uid %d, want %d", got, nobody)
		}
	})
	t.Run("tcpip-forward", func(t *testing.T) {
		ln, err := client.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := ln.Addr().(*net.TCPAddr).Port
		if got := tcpSocketOwner(t, port); got != nobody {
			t.Errorf("got the forward's listening socket owned by uid %d, want %d", got, nobody)
		}
	})
}

// tcpSocketOwner returns the uid of the IPv4 socket whose local port is port.
func tcpSocketOwner(t *testing.T, port int) int {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
		if len(fields) > 7 && strings.HasSuffix(fields[1], want) {
			uid, err := strconv.Atoi(fields[7])
			if err != nil {
				t.Fatal(err)
			}
			return uid
		}
	}
	t.Fatalf("no socket with local port %d in /proc/net/tcp", port)
	return -1
}
