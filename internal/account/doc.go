// Package account is the one account jobsshd serves: its lookup in /etc/passwd and
// /etc/group (one reader for both files, which the SFTP server's long names use too),
// the choice of the default account, and running code with the account's identity
// (Account.Do, on top of internal/asuser).
//
// It parses the files itself rather than using os/user: the login shell is needed,
// which os/user does not expose, and the static build has no NSS.
package account
