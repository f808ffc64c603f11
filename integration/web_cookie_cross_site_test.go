package integration

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jobsshd/internal/testwait"
)

// TestWebCookieCrossSite: what a real browser does with the SameSite=Strict cookie
// when another site (here http://localhost:P, which is another site than
// http://127.0.0.1:PORT) points at the agent: an <img> and a credentialed fetch of the
// key files carry no cookie (the agent refuses them and reads no key), and neither
// does a top-level navigation that page starts by a link: the person lands on the
// 401 page, not on a shell. Opened directly, the page still works with the cookie.
func TestWebCookieCrossSite(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	ctx := newTermBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"?token="+w.token)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page to attach with the token", `window.jobsshd && jobsshd.state().connects === 1`, 20*time.Second)
	shells := strings.Count(w.Logs(), "event=session.start")

	other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(rw, `<!doctype html><img src="%[1]sid_container.pub">
<script>fetch(%[2]q, {credentials: "include", mode: "no-cors"}).finally(() => { document.title = "fetched"; });</script>
<a id="go" href="%[1]s">open the terminal</a>`, w.base, w.base+"id_container")
	}))
	t.Cleanup(other.Close)
	_, port, _ := net.SplitHostPort(other.Listener.Addr().String())
	if err := chromedp.Do(ctx, chromedp.Navigate("http://localhost:"+port+"/")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the other site's fetch to finish", `document.title === "fetched"`, 10*time.Second)
	testwait.For(t, 10*time.Second, "the agent to refuse the <img> and the fetch", func() bool {
		return strings.Count(w.Logs(), `reason="no token"`) >= 2
	})
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#go"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the cross-site navigation to land", `location.href === `+jsString(w.base)+` && document.body && document.body.innerText.includes("unauthorized")`, 10*time.Second)
	if evalJS[bool](t, ctx, `window.jobsshd !== undefined`) {
		t.Error("a cross-site link opened the terminal page with the cookie")
	}
	if strings.Contains(w.Logs(), "event=web.key") {
		t.Errorf("another site's page made the agent read a key file:\n%s", w.Logs())
	}
	if n := strings.Count(w.Logs(), "event=session.start"); n != shells {
		t.Errorf("another site's page started %d shells", n-shells)
	}
	// The cookie is still there for the agent's own site: opened directly, the page works.
	if err := chromedp.Do(ctx, chromedp.Navigate(w.base)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page to attach with the cookie", `window.jobsshd && jobsshd.state().connects === 1`, 20*time.Second)
}
