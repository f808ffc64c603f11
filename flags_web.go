//go:build linux

package main

import (
	"flag"
	"fmt"
	"time"

	"jobsshd/web"
)

// webOptions are the serve flags of the web server (package web). --web is off by
// default: an agent opens no HTTP port unless asked to.
type webOptions struct {
	addr           string
	tokenFile      string
	allowedOrigins stringList
	tlsCert        string
	tlsKey         string
	trustedProxies prefixList
	reconnect      time.Duration
}

// webTokenVariable holds the web token itself. Like the job secret it is no flag: a
// command line is visible to every process of the container.
const webTokenVariable = "JOBSSHD_WEB_TOKEN"

func (o *webOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "web", "", "serve the web terminal, SSH over WebSocket (/ssh) and the key downloads on host:port or unix:/path (off by default)")
	fs.StringVar(&o.tokenFile, "web-token-file", "", "file holding the web token (or set "+webTokenVariable+"); default: one generated into the state directory")
	fs.Var(&o.allowedOrigins, "web-allowed-origin", "Origin (scheme://host[:port]) besides the page's own host from which browsers may open WebSockets, e.g. the platform's UI (repeatable or comma separated)")
	fs.StringVar(&o.tlsCert, "web-tls-cert", "", "serve HTTPS with this certificate (PEM, with --web-tls-key)")
	fs.StringVar(&o.tlsKey, "web-tls-key", "", "the private key of --web-tls-cert (PEM)")
	fs.Var(&o.trustedProxies, "web-trusted-proxy", "peers (CIDRs) whose X-Forwarded-For names the client's address (its last entry that is not one of these), e.g. the ingress's network")
	fs.DurationVar(&o.reconnect, "web-reconnect", web.DefaultReconnect, "how long a web terminal's shell waits for its page to reconnect after the WebSocket dropped")
}

// check rejects values that cannot work; the address itself is checked by web.New.
func (o *webOptions) check() error {
	if o.reconnect <= 0 {
		return fmt.Errorf("--web-reconnect %s: use a positive duration such as 5m", o.reconnect)
	}
	if o.addr == "" && (o.tokenFile != "" || o.tlsCert != "" || o.tlsKey != "" || len(o.allowedOrigins) > 0 || len(o.trustedProxies) > 0) {
		return fmt.Errorf("--web-* flags are set but --web is not: pass --web host:port to turn the web server on")
	}
	return nil
}

// config is the web server's configuration; the agent's parts are added by startWeb.
func (o *webOptions) config(getenv func(string) string) web.Config {
	return web.Config{
		Addr:           o.addr,
		TokenFile:      o.tokenFile,
		Token:          getenv(webTokenVariable),
		AllowedOrigins: o.allowedOrigins,
		TLSCert:        o.tlsCert,
		TLSKey:         o.tlsKey,
		TrustedProxies: o.trustedProxies,
		Reconnect:      o.reconnect,
	}
}
