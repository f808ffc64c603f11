package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"
)

// BenchmarkChannelWrite writes 32 KiB per operation into a session channel of a bare
// x/crypto server, over TCP on 127.0.0.1 with aes128-gcm, to an x/crypto client that
// discards it: the library's own share of every download (exec, scp, sftp), without
// the agent's copy loops or a child process. It is there to compare x/crypto versions
// (BENCHMARKS.md, "golang.org/x/crypto v0.59.0"). The allocation figures count both
// ends, which share the process; the client's readPacket makes one buffer per packet,
// so the writer's share is the difference from that, or a -memprofile focused on the
// writer (-memprofilerate=1, pprof -sample_index=alloc_objects -focus=WriteExtended).
func BenchmarkChannelWrite(b *testing.B) {
	ch := channelWritePair(b)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// channelWritePair connects an x/crypto client to an x/crypto server on 127.0.0.1 and
// returns the server's end of a session channel the client opened and drains.
func channelWritePair(b *testing.B) ssh.Channel {
	b.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	hostKey, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		b.Fatal(err)
	}
	algos := ssh.Config{Ciphers: []string{ssh.CipherAES128GCM}}
	srvConf := &ssh.ServerConfig{Config: algos, NoClientAuth: true}
	srvConf.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	accepted := make(chan ssh.Channel, 1)
	go func() {
		defer close(accepted)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, chans, reqs, err := ssh.NewServerConn(c, srvConf)
		if err != nil {
			c.Close()
			return
		}
		go ssh.DiscardRequests(reqs)
		nc, ok := <-chans
		if !ok {
			return
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go ssh.DiscardRequests(chReqs)
		accepted <- ch
	}()
	client, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{
		Config: algos, User: "bench", HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	clientCh, clientReqs, err := client.OpenChannel("session", nil)
	if err != nil {
		b.Fatal(err)
	}
	go ssh.DiscardRequests(clientReqs)
	drained := make(chan struct{})
	go func() { defer close(drained); _, _ = io.Copy(io.Discard, clientCh) }()
	ch, ok := <-accepted
	if !ok {
		b.Fatal("the server side of the pair did not come up")
	}
	b.Cleanup(func() { ch.Close(); <-drained })
	return ch
}
