package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// dialError turns a failed WebSocket dial into one line that says what failed and
// what to do about it.
func dialError(u *url.URL, resp *http.Response, err error) error {
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		return statusError(u, resp)
	}
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("cannot resolve %q (%v): check the host name in the URL, or your DNS/VPN", dnsErr.Name, dnsErr.Err)
	case errors.As(err, &hostnameErr):
		return fmt.Errorf("TLS: the certificate of %s is not valid for that name (%v): use the host name the certificate names", u.Host, err)
	case errors.As(err, &unknownAuthority), errors.As(err, &verifyErr), errors.As(err, &invalidCert):
		return fmt.Errorf("TLS: the certificate of %s is not trusted (%v): install the platform's CA certificate on this computer, or use the platform's public URL", u.Host, err)
	case errors.As(err, &recordErr):
		return fmt.Errorf("TLS: %s does not speak TLS: use ws:// instead of wss:// (or http:// instead of https://)", u.Host)
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return fmt.Errorf("TLS: %s answers plain HTTP: use ws:// instead of wss:// (or http:// instead of https://), or ask the operator for --web-tls-cert", u.Host)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return fmt.Errorf("cannot connect to %s: %v: check the URL's host and port, and HTTPS_PROXY if you need a proxy", u.Host, opErr.Err)
	}
	return fmt.Errorf("WebSocket to %s: %v", u.Redacted(), err)
}

// statusError names the fix for an HTTP answer that is not the upgrade.
func statusError(u *url.URL, resp *http.Response) error {
	code := resp.StatusCode
	switch {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("401 unauthorized from %s: the web token is missing or wrong: pass --token-file with the agent's web-token file, or set JOBSSHD_WEB_TOKEN", hostOf(u))
	case code == http.StatusForbidden:
		return fmt.Errorf("403 forbidden from %s: the ingress or agent refused this client: pass the ingress's credentials with --header 'Name: value', or ask the operator whether your address is in the agent's --allow-cidr", hostOf(u))
	case code == http.StatusNotFound:
		return fmt.Errorf("404 not found: %s: the URL must be the agent's /ssh path (e.g. wss://%s/jobs/42/ssh), and the agent must run with --web", u.Redacted(), hostOf(u))
	case code == http.StatusTooManyRequests:
		return fmt.Errorf("429 too many requests from %s: too many wrong tokens from this address: wait a minute and retry with the right --token-file", hostOf(u))
	case code >= 300 && code < 400:
		return fmt.Errorf("%d redirect from %s to %q: the URL is not the agent's /ssh (an ingress login page?): use the URL of /ssh itself, with --header for the ingress's credentials", code, hostOf(u), resp.Header.Get("Location"))
	case code == http.StatusOK:
		return fmt.Errorf("200 from %s without a WebSocket upgrade: the URL is not the agent's /ssh, or a proxy on the way does not pass WebSockets", hostOf(u))
	case code >= 500:
		return fmt.Errorf("%s from %s: the agent or the ingress in front of it failed: is the job running, with --web?", resp.Status, hostOf(u))
	}
	return fmt.Errorf("%s from %s: the agent's /ssh did not accept the WebSocket", resp.Status, hostOf(u))
}
