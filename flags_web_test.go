//go:build linux

package main

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWebFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    webOptions
		wantErr string
	}{
		{name: "off by default", want: webOptions{reconnect: 5 * time.Minute}},
		{name: "flags", args: []string{"--web", ":8022", "--web-token-file", "/t", "--web-allowed-origin", "https://ui.example,https://b.example",
			"--web-trusted-proxy", "10.0.0.0/8", "--web-tls-cert", "/c", "--web-tls-key", "/k", "--web-reconnect", "1m"},
			want: webOptions{addr: ":8022", tokenFile: "/t", allowedOrigins: stringList{"https://ui.example", "https://b.example"},
				trustedProxies: prefixList{netip.MustParsePrefix("10.0.0.0/8")}, tlsCert: "/c", tlsKey: "/k", reconnect: time.Minute}},
		{name: "environment", env: map[string]string{"JOBSSHD_WEB": "unix:/run/w.sock", "JOBSSHD_WEB_TOKEN_FILE": "/t"},
			want: webOptions{addr: "unix:/run/w.sock", tokenFile: "/t", reconnect: 5 * time.Minute}},
		{name: "web flags without --web", args: []string{"--web-token-file", "/t"}, wantErr: "--web is not"},
		{name: "bad reconnect", args: []string{"--web", ":1", "--web-reconnect", "0s"}, wantErr: "--web-reconnect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServeFlags(tc.args, func(k string) string { return tc.env[k] }, &bytes.Buffer{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.web, tc.want) {
				t.Errorf("got %+v, want %+v", got.web, tc.want)
			}
		})
	}
	cfg := (&webOptions{addr: ":1"}).config(func(k string) string { return map[string]string{webTokenVariable: "tok"}[k] })
	if cfg.Token != "tok" {
		t.Errorf("config: token %q, want the value of %s", cfg.Token, webTokenVariable)
	}
}
