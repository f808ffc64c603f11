module jobsshd

go 1.26.8

require (
	github.com/creack/pty v1.1.24 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
