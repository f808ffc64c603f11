# shellcheck shell=bash
# Sourced by .ci/image-test: reporting checks, bounded waits, and logging in to a
# running container with OpenSSH's ssh, sftp and scp under strict host key checking.
#
# Needs: IT_DIR, KEY (the client's private key), PAYLOAD (a file to move each way).

LABEL=jobsshd-image-test # on every container, network and volume the test makes
FAILED=()
CHECKS=0

step() { printf '\n== %s\n' "$*"; }
die() {
	printf 'image-test: %s\n' "$*" >&2
	exit 1
}
pass() {
	CHECKS=$((CHECKS + 1))
	printf 'ok    %s\n' "$1"
}
# fail NAME EXPECTED GOT: report a failed check and go on with the others.
fail() {
	CHECKS=$((CHECKS + 1))
	FAILED+=("$1")
	printf 'FAIL  %s\n      expected: %s\n      got:      %s\n' "$1" "$2" "$3"
}
# expect NAME WANT GOT: GOT must equal WANT.
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "$2" "$3"; fi
}
# expect_rc NAME WANT CMD...: CMD (bounded to 120 s), its stdin /dev/null, must exit
# WANT; its output is shown when it does not. OUT holds the output (stdout and stderr)
# afterwards.
expect_rc() {
	expect_rc_stdin "$@" </dev/null
}
# expect_has NAME WANT TEXT: TEXT must contain WANT.
expect_has() {
	case $3 in
	*"$2"*) pass "$1" ;;
	*) fail "$1" "output containing \"$2\"" "${3:0:2000}" ;;
	esac
}

# wait_for SECONDS CMD...: run CMD every 0.2 s until it succeeds; fail after SECONDS, or
# at once when CMD exits 2 (it cannot succeed any more). CMD must bound itself.
wait_for() {
	local deadline=$((SECONDS + $1)) rc
	shift
	while :; do
		"$@" >/dev/null 2>&1
		rc=$?
		[ "$rc" != 0 ] || return 0
		[ "$rc" != 2 ] && [ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# run_job NAME [podman run options...] -- [COMMAND...]: start a job-example container
# in the background with jobsshd enabled, labelled for the cleanup.
run_job() {
	local name=$1
	shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	[ $# -gt 0 ] || set -- sleep infinity
	# Its stderr goes to a file (RUN_ERR on failure): aardvark-dns, started by the first
	# container of a network, keeps it and writes "failed to connect to syslog" there.
	timeout 120 podman run -d --name "$name" --label "$LABEL" -e JOBSSHD_ENABLE=1 -e JOBSSHD_REQUIRED=1 \
		"${opts[@]}" "$IMAGE" "$@" >/dev/null 2>"$IT_DIR/run-$name.err" && return 0
	# shellcheck disable=SC2034 # cases.sh reports it
	RUN_ERR=$(cat "$IT_DIR/run-$name.err")
	return 1
}

# wait_listening NAME STATUS: wait (bounded) until jobsshd in container NAME wrote its
# status.json STATUS, that is, listens. Fails, with the container's log, otherwise; at
# once when the container stopped (run_job sets JOBSSHD_REQUIRED=1).
wait_listening() {
	if wait_for 30 listening "$1" "$2"; then
		return 0
	fi
	fail "$1: jobsshd listening" "$2 written within 30 s" "none; podman logs: $(podman logs "$1" 2>&1 | tail -20)"
	return 1
}

# listening NAME STATUS succeeds once STATUS exists in container NAME, and exits the
# caller's wait_for (status 1 from a subshell is not enough) when NAME is not running.
listening() {
	timeout 30 podman exec "$1" test -s "$2" && return 0
	[ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || return 2
	return 1
}

# host_port NAME PORT prints the 127.0.0.1 port that PORT of container NAME is published on.
host_port() {
	podman port "$1" "$2/tcp" | sed -n 's/^127\.0\.0\.1://p' | head -1
}

# known_hosts NAME HOSTPORT writes $IT_DIR/known_hosts-NAME from the known_hosts lines
# jobsshd printed at start, for 127.0.0.1:HOSTPORT, and prints its path.
known_hosts() {
	local kh=$IT_DIR/known_hosts-$1
	podman logs "$1" 2>&1 | awk -v h="[127.0.0.1]:$2" '
		/^known_hosts lines/ { on = 1; next }
		on && /^  \[/ { print h, $2, $3; next }
		{ on = 0 }' >"$kh"
	printf '%s\n' "$kh"
}

# ssh_opts KNOWN_HOSTS: strict host key checking against KNOWN_HOSTS only, our key
# only, no prompts, bounded connect.
ssh_opts() {
	SSH_OPTS=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes
		-o "UserKnownHostsFile=$1" -o GlobalKnownHostsFile=/dev/null
		-o IdentitiesOnly=yes -i "${2:-$KEY}" -o ConnectTimeout=10 -o LogLevel=ERROR)
}

# check_logins CASE NAME USER [KEY]: ssh, sftp, scp -O and scp into container NAME as
# USER, with the host keys it printed; each file moved up and back must be unchanged.
check_logins() {
	local c=$1 name=$2 user=$3 key=${4:-$KEY} port kh dir
	port=$(host_port "$name" 2222)
	if [ -z "$port" ]; then
		fail "$c: published port" "2222 published on 127.0.0.1" "$(podman port "$name" 2>&1)"
		return
	fi
	kh=$(known_hosts "$name" "$port")
	if [ ! -s "$kh" ]; then
		fail "$c: known_hosts lines in the log" "lines after \"known_hosts lines\"" "$(podman logs "$name" 2>&1 | tail -20)"
		return
	fi
	ssh_opts "$kh" "$key"
	expect_rc "$c: ssh runs a command" 0 ssh "${SSH_OPTS[@]}" -p "$port" "$user@127.0.0.1" 'echo logged-in-as-$(id -u)'
	expect_has "$c: ssh command output" logged-in-as- "$OUT"
	dir=$IT_DIR/transfer-$name
	rm -rf "$dir" && mkdir -p "$dir"
	expect_rc_stdin "$c: sftp put and get" 0 sftp "${SSH_OPTS[@]}" -P "$port" -b - "$user@127.0.0.1" <<EOF
put $PAYLOAD up-sftp
get up-sftp $dir/down-sftp
EOF
	expect_same "$c: sftp round trip" "$dir/down-sftp"
	expect_rc "$c: scp -O up" 0 scp -O "${SSH_OPTS[@]}" -P "$port" "$PAYLOAD" "$user@127.0.0.1:up-scp-O"
	expect_rc "$c: scp -O down" 0 scp -O "${SSH_OPTS[@]}" -P "$port" "$user@127.0.0.1:up-scp-O" "$dir/down-scp-O"
	expect_same "$c: scp -O round trip" "$dir/down-scp-O"
	expect_rc "$c: scp up" 0 scp "${SSH_OPTS[@]}" -P "$port" "$PAYLOAD" "$user@127.0.0.1:up-scp"
	expect_rc "$c: scp down" 0 scp "${SSH_OPTS[@]}" -P "$port" "$user@127.0.0.1:up-scp" "$dir/down-scp"
	expect_same "$c: scp round trip" "$dir/down-scp"
}

# expect_rc_stdin NAME WANT CMD...: expect_rc, CMD reading the caller's stdin (the
# `sftp -b -` above reads its batch from a heredoc).
expect_rc_stdin() {
	local name=$1 want=$2 rc
	shift 2
	OUT=$(timeout 120 "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ]; then pass "$name"; else fail "$name" "exit status $want from: $*" "exit status $rc, output: ${OUT:0:2000}"; fi
}

# expect_same NAME FILE: FILE must hold what PAYLOAD holds.
expect_same() {
	if cmp -s "$PAYLOAD" "$2"; then
		pass "$1"
	else
		fail "$1" "$2 equal to the $(stat -c %s "$PAYLOAD")-byte file sent" "$(stat -c %s "$2" 2>&1)"
	fi
}
