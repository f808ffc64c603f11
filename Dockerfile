# Images for jobsshd (README: "Container images"). Stages:
#   build        compiles the static binary, exactly as README and the integration tests do
#   jobsshd      only /jobsshd, for platforms to copy into their own images:
#                  COPY --from=jobsshd /jobsshd /usr/local/bin/jobsshd
#   job-example  a job image with jobsshd and entrypoint.sh, accounts work and ma-user
# --chmod needs BuildKit (the default builder since Docker 23; buildah/podman support it).

# The Go release is go.mod's go directive, in full (deploy/dockerfile_test.go checks it):
# with GOTOOLCHAIN=local, as the golang images set it, an older cached 1.26.x would stop
# with "go.mod requires go >= 1.26.8".
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same command as README's "Run it" and integration/harness_test.go (checked by
# deploy/dockerfile_test.go): CGO off gives a static binary that runs in any image.
RUN CGO_ENABLED=0 go build -o /out/jobsshd .

# Nothing but the binary: a platform copies it from here, it is never run on its own.
FROM scratch AS jobsshd
COPY --from=build --chmod=0755 /out/jobsshd /jobsshd

FROM debian:bookworm-slim AS job-example
# The OpenSSH client, for `ssh worker-1` between the workers of a job (README:
# "Distributed jobs"); jobsshd itself needs nothing from the image.
# The layer cleans up after itself rather than trusting the base image's docker-clean
# setting: without it the package cache stayed and the layer was 99 MB, not 15 MB.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
# The accounts jobsshd serves by default as root: work, then ma-user. useradd leaves the
# password locked ("!"), which does not block jobsshd's key-only logins.
RUN useradd -m -s /bin/bash work \
 && useradd -m -s /bin/bash ma-user
# 0755: file transfer sessions run this binary again as the served account.
COPY --from=jobsshd --chmod=0755 /jobsshd /usr/local/bin/jobsshd
# WinSCP's SCP mode types `scp -t` into a shell; in an image without scp, jobsshd
# started as scp serves that side of the protocol. An image with OpenSSH's scp (this
# one) keeps it: a link earlier on PATH would hide the client side of scp.
RUN command -v scp >/dev/null || ln -s /usr/local/bin/jobsshd /usr/local/bin/scp
COPY --chmod=0755 entrypoint.sh /usr/local/bin/entrypoint.sh
EXPOSE 2222
# entrypoint.sh runs CMD as the job; JOBSSHD_ENABLE=1 starts jobsshd beside it.
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["sleep", "infinity"]
