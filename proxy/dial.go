package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"jobsshd/internal/coalesce"
	"jobsshd/internal/rawio"
)

// Options say where and how to reach the agent's /ssh WebSocket.
type Options struct {
	URL    string      // ws://, wss://, http:// or https:// URL of /ssh
	Token  string      // sent as Authorization: Bearer; "" sends none
	Header http.Header // extra headers, for ingresses that want their own credentials
	// Transport is the HTTP transport; nil means one that honours HTTPS_PROXY,
	// HTTP_PROXY and NO_PROXY (http.ProxyFromEnvironment).
	Transport http.RoundTripper
}

// dialTimeout bounds the WebSocket handshake, DNS and TLS included.
const dialTimeout = 30 * time.Second

// CheckURL returns the URL as the WebSocket library takes it, or an error naming the
// fix. http(s) URLs are accepted as the ws(s) URLs they stand for.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w: give the agent's /ssh address, e.g. wss://platform.example/jobs/42/ssh", raw, err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return nil, fmt.Errorf("URL %q: the scheme must be wss:// (or ws://, https://, http://), e.g. wss://platform.example/jobs/42/ssh", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host: e.g. wss://platform.example/jobs/42/ssh", raw)
	}
	return u, nil
}

// Dial opens the WebSocket and returns it as a net.Conn of binary messages. Its error
// is one line that names the fix (dialError).
func Dial(ctx context.Context, o Options) (net.Conn, error) {
	u, err := CheckURL(o.URL)
	if err != nil {
		return nil, err
	}
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if o.Token != "" {
		h.Set("Authorization", "Bearer "+o.Token)
	}
	tr := o.Transport
	var tcp *coalesce.Conn
	if tr == nil {
		// A transport of its own per WebSocket, so that its one TCP connection (to the
		// agent, or to the HTTPS_PROXY) is known: each message is one write on it (internal/coalesce).
		var d net.Dialer
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: dialTimeout,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				tcp = &coalesce.Conn{Conn: rawio.NetConn(c)} // raw reads and writes (internal/rawio)
				return tcp, nil
			}}
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr, CheckRedirect: noRedirect},
		HTTPHeader: h,
		// SSH is encrypted and does not compress.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, dialError(u, resp, err)
	}
	// The connection lives beyond the dial's timeout: ctx bounds it instead.
	nc := websocket.NetConn(ctx, c, websocket.MessageBinary)
	if tcp == nil {
		return nc, nil
	}
	return &coalesce.MessageConn{Conn: nc, TCP: tcp}, nil
}

// noRedirect stops at a redirect, which for /ssh means a wrong URL (or an ingress's
// login page) and is reported as such.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// hostOf is the URL's host without the port, for messages.
func hostOf(u *url.URL) string {
	return strings.TrimSuffix(u.Hostname(), ".")
}
