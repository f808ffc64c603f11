// Package jobtrust lets the workers of one distributed job (Volcano's VC_WORKER_HOSTS,
// or an explicit host list) log in to each other with plain `ssh <host>`: no password,
// no host-key prompt, and only from inside the job.
//
// Every worker holds the same job secret (an environment variable or a file mounted
// from a Kubernetes Secret, or a private key file such as Volcano's ssh plugin mounts).
// From it each worker derives, with no coordination, the same job user key and the same
// job host key (derive.go). A worker accepts the job user key only from the addresses of
// the job's hosts (trust.go), serves the job host key, and writes the user's OpenSSH
// client files so that `ssh <host>` uses the key and knows the host key
// (client_files.go).
package jobtrust
