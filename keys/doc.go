// Package keys owns jobsshd's key material and the files it trusts keys from: the host
// keys (created once in the state directory and reused on every start), the generated
// id_container user key with its PuTTY (.ppk) export, and authorized_keys parsing with
// OpenSSH's StrictModes checks and hot reload.
//
// The agent usually runs as root but writes into, and reads from, directories the served
// account controls. Everything here is written so that account cannot turn that into a
// root write or read elsewhere: user-side files are created with the account's own
// filesystem identity and never through a symlink, and authorized_keys is trusted only
// when the account could have read it itself.
//
// The package is Linux-only: it relies on per-thread credentials (internal/asuser).
package keys
