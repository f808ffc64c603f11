// Package deploy holds the Kubernetes and Volcano manifests that run jobsshd beside a
// job, and the tests that keep them, the Dockerfile and entrypoint.sh consistent with
// the binary: the build command, stage names, paths, ports and JOBSSHD_* variables.
package deploy
