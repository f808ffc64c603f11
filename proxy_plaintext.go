package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// plaintextTokenWarning is the warning `jobsshd proxy` prints when it is about to send
// the web token unencrypted over the network (a ws:// or http:// URL whose host is not
// this computer): whoever can see the traffic can take the token and open a shell in
// the browser as the job's account. "" when there is nothing to warn about.
func plaintextTokenWarning(rawURL, token string) string {
	u, err := url.Parse(rawURL)
	if err != nil || token == "" || (u.Scheme != "ws" && u.Scheme != "http") {
		return ""
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
		return ""
	}
	return fmt.Sprintf("jobsshd proxy: warning: %s:// sends the web token unencrypted to %s: anyone on the way can take it; use wss:// (TLS at the ingress, or the agent's --web-tls-cert)", u.Scheme, host)
}
