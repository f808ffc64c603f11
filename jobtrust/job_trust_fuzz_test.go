package jobtrust

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"jobsshd/internal/testenv"
)

// fuzzHostKey is a fixed job host key for the fuzz targets' blocks.
func fuzzHostKey(tb testing.TB) ssh.PublicKey {
	tb.Helper()
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public())
	if err != nil {
		tb.Fatal(err)
	}
	return pub
}

// FuzzParseHosts feeds arbitrary host lists (--job-hosts, and VC_*_HOSTS, which the
// job's spec sets) to ParseHosts and HostsFromEnv. A list it accepts ends up in the
// user's ~/.ssh/config and known_hosts, so what must hold is what OpenSSH's client
// will read there:
//   - no entry is empty, starts with '-' or '.', or holds a separator, a blank, a
//     quote, '%' or a pattern character ('*', '?', '!', '[');
//   - the entries, joined again, parse to the same list;
//   - HostsFromEnv gives the same hosts, each once, for the list in two VC_*_HOSTS
//     variables, and an error when ParseHosts refuses the list;
//   - x/crypto's known_hosts reader (knownhosts.New) accepts the job host key written
//     by knownHostsBlock for every host at the job's port, and no other key;
//   - OpenSSH's own `ssh -G` applies the config block to every host (port, user,
//     identity) and not to a host outside the list.
func FuzzParseHosts(f *testing.F) {
	for _, seed := range []string{
		"worker-0.job.svc,worker-1.job.svc", " 10.9.0.3 , ,fe80::1,w_2 ", "a*,b", "host%h", "-oProxyCommand=x",
		"fe80::1%eth0", "[::1]:22", "a b", strings.Repeat("a", 254), "::ffff:10.0.0.1,0x7f.1,1", "w-0,w-0,W-0",
	} {
		f.Add(seed)
	}
	hostKey := fuzzHostKey(f)
	otherKey, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize)).Public())
	if err != nil {
		f.Fatal(err)
	}
	sshClient := testenv.RequireTool(f, "ssh", "openssh-client")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, list string) {
		hosts, err := ParseHosts(list)
		envHosts, envErr := HostsFromEnv([]string{"VC_WORKER_HOSTS=" + list, "VC_PS_HOSTS=" + list, "MY_HOSTS=x*"})
		if err != nil {
			if hosts != nil || envErr == nil {
				t.Fatalf("ParseHosts(%q): error %v with hosts %q; HostsFromEnv: %q, %v", list, err, hosts, envHosts, envErr)
			}
			return
		}
		if envErr != nil || !slices.Equal(envHosts, MergeHosts(nil, hosts)) {
			t.Fatalf("HostsFromEnv for %q: got %q, %v, want %q once each", list, envHosts, envErr, hosts)
		}
		for _, h := range hosts {
			if h == "" || h[0] == '-' || h[0] == '.' || strings.ContainsAny(h, ", \t\r\n\"'%*?![]\\#") {
				t.Fatalf("ParseHosts(%q): got host %q", list, h)
			}
		}
		again, err := ParseHosts(strings.Join(hosts, ","))
		if err != nil || !slices.Equal(again, hosts) {
			t.Fatalf("ParseHosts(%q) = %q, joined again: %q, %v", list, hosts, again, err)
		}
		if len(hosts) == 0 {
			return
		}
		c := ClientFiles{SSHDir: dir, Hosts: hosts, Port: 2222, User: "ma-user", HostKey: hostKey}
		known := filepath.Join(dir, "known_hosts")
		if err := os.WriteFile(known, []byte(c.knownHostsBlock()), 0o600); err != nil {
			t.Fatal(err)
		}
		check, err := knownhosts.New(known)
		if err != nil {
			t.Fatalf("known_hosts for %q does not parse: %v\n%s", hosts, err, c.knownHostsBlock())
		}
		addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 2222}
		for _, h := range hosts {
			if err := check(net.JoinHostPort(h, "2222"), addr, hostKey); err != nil {
				t.Fatalf("known_hosts for %q: host %q with the job key: %v\n%s", hosts, h, err, c.knownHostsBlock())
			}
			var ke *knownhosts.KeyError
			if err := check(net.JoinHostPort(h, "2222"), addr, otherKey); !errors.As(err, &ke) || len(ke.Want) == 0 {
				t.Fatalf("known_hosts for %q: host %q with another key: got %v, want a key mismatch", hosts, h, err)
			}
		}
		checkConfigBlock(t, sshClient, c, filepath.Join(dir, "config"))
	})
}

// checkConfigBlock asks OpenSSH's client which settings it takes from the config block
// for the first and last job host, and for a host outside the job.
func checkConfigBlock(t *testing.T, sshClient string, c ClientFiles, path string) {
	t.Helper()
	block, err := c.configBlock(filepath.Join(c.SSHDir, JobKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	resolved := func(host string) string {
		out, err := exec.Command(sshClient, "-G", "-F", path, "--", host).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh -G %s with the block for %q: %v\n%s\n%s", host, c.Hosts, err, out, block)
		}
		return string(out)
	}
	for _, h := range []string{c.Hosts[0], c.Hosts[len(c.Hosts)-1]} {
		out := resolved(h)
		if !strings.Contains(out, "\nport 2222\n") || !strings.Contains(out, "\nuser ma-user\n") {
			t.Fatalf("ssh -G %s: the block for %q does not apply:\n%s\n%s", h, c.Hosts, out, block)
		}
	}
	const outsider = "outside-the-job.example"
	if slices.Contains(c.Hosts, outsider) {
		return
	}
	if out := resolved(outsider); strings.Contains(out, "\nport 2222\n") {
		t.Fatalf("ssh -G %s: the block for %q applies to a host outside the job:\n%s", outsider, c.Hosts, block)
	}
}

// FuzzWithManagedBlock feeds arbitrary ~/.ssh/config and known_hosts content (the
// user's files) to withManagedBlock with the blocks jobsshd writes, and checks:
//   - it refuses exactly the files with a begin marker line and no end marker line
//     after it;
//   - every line before the managed block is kept at the start, byte for byte, and
//     every line after it at the end;
//   - a second run with the same block leaves the file as the first left it, so
//     restarts do not rewrite it.
func FuzzWithManagedBlock(f *testing.F) {
	c := ClientFiles{SSHDir: "/home/ma-user/.ssh", Hosts: []string{"w-0", "10.9.0.3"}, Port: 2222, User: "ma-user", HostKey: fuzzHostKey(f)}
	config, err := c.configBlock("/home/ma-user/.ssh/id_jobsshd_job")
	if err != nil {
		f.Fatal(err)
	}
	blocks := []string{config, c.knownHostsBlock(), ""}
	for _, seed := range []string{
		"", "Host laptop\n    Port 2200\n", "StrictHostKeyChecking no", config + "Host *\n  User x\n",
		"# mine\r\n" + beginMarker + " \r\nold\r\n" + endMarker + "\r\n", beginMarker + "\nno end\n",
		endMarker + "\n" + beginMarker + "\n" + endMarker + "\n" + beginMarker + "\n",
		"laptop ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFuKnr5GjoTaTnp6sL1qDGeF5MJbqz7yHEWOmSPWv+Bg\n",
	} {
		for i := range blocks {
			f.Add([]byte(seed), uint8(i), i == 0)
		}
	}
	f.Fuzz(func(t *testing.T, content []byte, which uint8, atTop bool) {
		block := blocks[int(which)%len(blocks)]
		out, err := withManagedBlock(content, block, atTop)
		lines := bytes.SplitAfter(content, []byte("\n"))
		start, end := -1, -1
		for i, l := range lines {
			switch string(bytes.TrimRight(l, " \t\r\n")) {
			case beginMarker:
				if start < 0 {
					start = i
				}
			case endMarker:
				if start >= 0 && end < 0 {
					end = i
				}
			}
		}
		if (err != nil) != (start >= 0 && end < 0) {
			t.Fatalf("content %q: got error %v, begin marker at line %d, end at %d", content, err, start, end)
		}
		if err != nil {
			return
		}
		if start >= 0 {
			before := bytes.Join(lines[:start], nil)
			after := bytes.Join(lines[end+1:], nil)
			if !bytes.HasPrefix(out, before) || !bytes.HasSuffix(out, after) || len(out) < len(before)+len(after) {
				t.Fatalf("content %q: got %q, want it to start with %q and end with %q", content, out, before, after)
			}
		} else if !bytes.Contains(out, content) {
			t.Fatalf("content %q without a block: got %q, which lost some of it", content, out)
		}
		if block == "" {
			return // a removal may uncover a begin marker of the user's, refused next time
		}
		again, err := withManagedBlock(out, block, atTop)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("content %q: first run gave %q, second %q, %v", content, out, again, err)
		}
	})
}

// FuzzFromKeyFile feeds arbitrary job key files (--job-key, Volcano's id_rsa) to
// FromKeyFile and checks it against x/crypto's ssh.ParsePrivateKey: a key it takes is
// one x/crypto parses, with the same public key; the host key it derives is the same
// at every call, as every worker must derive the same, and is not the user key.
func FuzzFromKeyFile(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("..", "keys", "testdata", "private_keys", "[a-z]*[a-z0-9]"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed keys in ../keys/testdata/private_keys: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	block, err := ssh.MarshalPrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)), "job")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pem.EncodeToMemory(block))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := FromKeyFile("job.key", data)
		if err != nil {
			if id != nil {
				t.Fatalf("got an error %v and an identity", err)
			}
			return
		}
		ref, refErr := ssh.ParsePrivateKey(data)
		if refErr != nil {
			t.Fatalf("took a key x/crypto refuses: %v", refErr)
		}
		if !bytes.Equal(ref.PublicKey().Marshal(), id.UserKey.PublicKey().Marshal()) {
			t.Fatalf("got user key %s, x/crypto's is %s", ssh.FingerprintSHA256(id.UserKey.PublicKey()), ssh.FingerprintSHA256(ref.PublicKey()))
		}
		if !bytes.Equal(id.UserKeyFile, data) {
			t.Fatal("the user key file is not the file's content")
		}
		again, err := FromKeyFile("job.key", data)
		if err != nil || !bytes.Equal(again.HostKey.PublicKey().Marshal(), id.HostKey.PublicKey().Marshal()) {
			t.Fatalf("a second derivation gave another host key (%v)", err)
		}
		if bytes.Equal(id.HostKey.PublicKey().Marshal(), id.UserKey.PublicKey().Marshal()) {
			t.Fatal("the host key is the user key")
		}
	})
}
