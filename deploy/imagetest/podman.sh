# shellcheck shell=bash
# Sourced by .ci/image-test: a podman of the test's own (configuration, storage and
# networks under $IT_DIR, nothing in /etc/containers), and the base images the
# Dockerfile's FROM lines name, made locally since no container registry is reachable.
#
# Needs: IT_DIR (the test's directory), CACHE_DIR (empty: build the base afresh), ROOT
# (the repository).

# podman_setup writes the configuration and exports the variables that make podman,
# and podman alone, use it.
podman_setup() {
	mkdir -p "$IT_DIR"/{storage,run,tmp,networks}
	# podman's default nofile and nproc (1048576) are above this machine's hard limits,
	# and root here has no CAP_SYS_RESOURCE to raise them: setrlimit fails with
	# "Operation not permitted". Take the hard limits instead, and for nproc no more than
	# pid_max: above it (32768 here, hard limit 96367) runc's setrlimit failed too, and a
	# process limit above pid_max limits nothing anyway.
	local nofile nproc pidmax
	nofile=$(ulimit -Hn)
	nproc=$(ulimit -Hu)
	pidmax=$(cat /proc/sys/kernel/pid_max)
	{ [ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ]; } && nofile=1048576
	{ [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pidmax" ]; } && nproc=$pidmax
	# runc, not crun: Debian 12's crun 1.8.1 stops with "cgroups in hybrid mode not
	# supported". cgroupfs and a file event log: these machines run no systemd.
	cat >"$IT_DIR/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$IT_DIR/tmp"

[network]
network_config_dir = "$IT_DIR/networks"
EOF
	cat >"$IT_DIR/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$IT_DIR/storage"
runroot = "$IT_DIR/run"
EOF
	# No search registries for short names (debian:bookworm-slim): the local image, or
	# else only Docker Hub's, which is not reachable here and fails at once.
	cat >"$IT_DIR/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "permissive"
EOF
	export CONTAINERS_CONF="$IT_DIR/containers.conf"
	export CONTAINERS_STORAGE_CONF="$IT_DIR/storage.conf"
	export CONTAINERS_REGISTRIES_CONF="$IT_DIR/registries.conf"
}

# from_image STAGE prints the image the Dockerfile's stage STAGE starts FROM.
from_image() {
	awk -v s="$1" 'toupper($1) == "FROM" && tolower($3) == "as" && $4 == s { print $2 }' "$ROOT/Dockerfile"
}

# base_debian makes the image the job-example stage starts FROM: a minbase bookworm
# from mmdebstrap (about 15-60 s; debootstrap took four minutes and needed trimming),
# kept as a tarball in CACHE_DIR when there is one.
base_debian() {
	local name tar
	name=$(from_image job-example)
	case $name in
	debian:bookworm*) ;;
	*) die "the job-example stage starts FROM $name; this test makes only debian:bookworm* locally (update deploy/imagetest/podman.sh)" ;;
	esac
	if podman image exists "$name"; then
		return 0
	fi
	tar=$IT_DIR/tmp/bookworm-minbase.tar
	if [ -n "$CACHE_DIR" ]; then
		mkdir -p "$CACHE_DIR"
		tar=$CACHE_DIR/bookworm-minbase.tar
	fi
	if [ ! -s "$tar" ]; then
		step "mmdebstrap --variant=minbase bookworm"
		timeout 600 mmdebstrap --quiet --format=tar --variant=minbase bookworm "$tar.part" ||
			die "mmdebstrap failed (it needs Debian's package mirror, as apt does)"
		mv "$tar.part" "$tar"
	fi
	podman import --quiet --change 'CMD ["bash"]' "$tar" "$name" >/dev/null ||
		die "podman import $tar $name failed"
}

# base_golang makes the image the build stage starts FROM: that Debian with
# ca-certificates and this machine's own Go toolchain, which must be the release the
# Dockerfile names (deploy/dockerfile_test.go ties that to go.mod).
base_golang() {
	local name want have ctx
	name=$(from_image build)
	want=${name#golang:}
	want=${want%%-*}
	have=$(go env GOVERSION)
	[ "go$want" = "$have" ] ||
		die "the Dockerfile builds with $name, this machine's Go is $have: the stand-in for $name is made from the local toolchain, so install Go $want"
	if podman image exists "$name"; then
		return 0
	fi
	step "stand-in $name from $(go env GOROOT)"
	ctx=$IT_DIR/tmp/golang
	rm -rf "$ctx"
	mkdir -p "$ctx/ca"
	cp -al "$(go env GOROOT)" "$ctx/go" 2>/dev/null || cp -a "$(go env GOROOT)" "$ctx/go"
	# HTTPS from these machines may pass a TLS-intercepting proxy whose CA is here;
	# without it `go mod download` fails with "certificate signed by unknown authority".
	find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$ctx/ca/" \;
	cat >"$ctx/Containerfile" <<EOF
FROM $(from_image job-example)
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
COPY go /usr/local/go
ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOTOOLCHAIN=local GOPROXY=$(go env GOPROXY)
WORKDIR /go
EOF
	timeout 600 podman build --quiet -t "$name" "$ctx" >/dev/null || die "building the stand-in $name failed"
	rm -rf "$ctx"
}
