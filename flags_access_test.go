package main

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// defaultAccess is what the access flags are when none is given.
var defaultAccess = accessOptions{algorithms: "default", maxUnauthenticated: 64, maxAuthTries: 6, maxConnections: 256, maxSessions: 64, maxChannels: 1024,
	loginGraceTime: 30 * time.Second, clientAliveInterval: 60 * time.Second, clientAliveCountMax: 3}

func TestAccessFlags(t *testing.T) {
	t.Parallel()
	with := func(change func(*accessOptions)) accessOptions {
		a := defaultAccess
		change(&a)
		return a
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		want       accessOptions
		wantInline string
		wantErr    string
	}{
		{name: "defaults", want: defaultAccess},
		{name: "key sources", args: []string{"--authorized-keys", "/a", "--authorized-keys", "/b", "--trusted-user-ca", "/ca1,/ca2"},
			want: with(func(a *accessOptions) {
				a.authorizedKeysFiles, a.trustedUserCAs = stringList{"/a", "/b"}, stringList{"/ca1", "/ca2"}
			})},
		{name: "inline keys are not a file list", env: map[string]string{"JOBSSHD_AUTHORIZED_KEYS": "ssh-ed25519 AAAA x\nssh-ed25519 BBBB y"},
			want: defaultAccess, wantInline: "ssh-ed25519 AAAA x\nssh-ed25519 BBBB y"},
		{name: "cidrs", args: []string{"--allow-cidr", "10.1.2.3/8, 192.168.1.5,fd00::/8", "--allow-cidr", "::ffff:127.0.0.0/104"},
			want: with(func(a *accessOptions) {
				a.allowCIDRs = prefixList{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.5/32"),
					netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("127.0.0.0/8")}
			})},
		{name: "limits from the environment", env: map[string]string{"JOBSSHD_MAX_CONNECTIONS": "10", "JOBSSHD_MAX_SESSIONS": "2", "JOBSSHD_MAX_CHANNELS": "100",
			"JOBSSHD_CLIENT_ALIVE_INTERVAL": "0", "JOBSSHD_LOGIN_GRACE_TIME": "5s", "JOBSSHD_PERMIT_USER_ENVIRONMENT": "true"},
			want: with(func(a *accessOptions) {
				a.maxConnections, a.maxSessions, a.clientAliveInterval, a.loginGraceTime, a.permitUserEnvironment = 10, 2, 0, 5*time.Second, true
				a.maxChannels = 100
			})},
		{name: "strict algorithms from the environment", env: map[string]string{"JOBSSHD_ALGORITHMS": "strict"},
			want: with(func(a *accessOptions) { a.algorithms = "strict" })},
		{name: "unknown algorithm profile", args: []string{"--algorithms", "fips"}, wantErr: `--algorithms "fips": use default or strict`},
		{name: "per-source bound from the environment", env: map[string]string{"JOBSSHD_MAX_UNAUTHENTICATED_PER_SOURCE": "4"},
			want: with(func(a *accessOptions) { a.maxUnauthenticatedPerSource = 4 })},
		{name: "negative per-source bound", args: []string{"--max-unauthenticated-per-source", "-1"}, wantErr: "--max-unauthenticated-per-source -1"},
		{name: "bad cidr", args: []string{"--allow-cidr", "10.0.0.0/33"}, wantErr: "not a CIDR prefix"},
		{name: "mapped prefix wider than IPv4", args: []string{"--allow-cidr", "::ffff:0:0/80"}, wantErr: "IPv4-mapped"},
		{name: "bad address", args: []string{"--allow-cidr", "localhost"}, wantErr: "not an address"},
		{name: "zero limit", args: []string{"--max-connections", "0"}, wantErr: "--max-connections 0: use 1 or more"},
		{name: "zero grace", args: []string{"--login-grace-time", "0s"}, wantErr: "--login-grace-time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tt.env[k] }
			got, err := parseServeFlags(tt.args, getenv, &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.access, tt.want) {
				t.Errorf("got %+v, want %+v", got.access, tt.want)
			}
			got.user = "root" // config needs an account name; any will do
			cfg, err := got.config(getenv)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AuthorizedKeys != tt.wantInline {
				t.Errorf("inline keys: got %q, want %q", cfg.AuthorizedKeys, tt.wantInline)
			}
			if (tt.want.clientAliveInterval == 0) != cfg.DisableClientAlive {
				t.Errorf("--client-alive-interval %v became Config.DisableClientAlive %v, want true (off) exactly for 0", tt.want.clientAliveInterval, cfg.DisableClientAlive)
			}
		})
	}
}
