module jobsshd

go 1.26.8

require (
	golang.org/x/crypto v0.59.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/chromedp/cdproto v0.160.1
	github.com/chromedp/chromedp v0.23.1
	github.com/coder/websocket v1.8.15
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
