package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// plaintextWarning is the warning `jobsshd proxy` prints when it is about to send
// credentials unencrypted over the network (a ws:// or http:// URL whose host is not
// this computer): the web token, with which whoever sees the traffic can open a shell
// in the browser as the job's account, and the --header values, which usually carry
// the ingress's own credentials (a platform login's bearer token or API key). It names
// the headers, never their values. "" when there is nothing to warn about.
func plaintextWarning(rawURL, token string, header http.Header) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "http") {
		return ""
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
		return ""
	}
	var what []string
	if token != "" {
		what = append(what, "the web token")
	}
	if len(header) > 0 {
		names := make([]string, 0, len(header))
		for name := range header {
			names = append(names, name)
		}
		slices.Sort(names)
		what = append(what, "the --header values ("+strings.Join(names, ", ")+")")
	}
	if len(what) == 0 {
		return ""
	}
	return fmt.Sprintf("jobsshd proxy: warning: %s:// sends %s unencrypted to %s: anyone on the way can take them; use wss:// (TLS at the ingress, or the agent's --web-tls-cert)",
		u.Scheme, strings.Join(what, " and "), host)
}
