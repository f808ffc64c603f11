# shellcheck shell=bash
# Sourced by .ci/image-test: the checks, one function per way the image is used.
# Each container is labelled $LABEL and removed by the script's cleanup.

ROOT_STATUS=/var/lib/jobsshd/status.json # jobsshd's state directory as root

# check_image_files: the binary and entrypoint.sh are root's, mode 755, in both images.
check_image_files() {
	step "image files"
	local ctr mnt
	ctr=$(podman create --label "$LABEL" jobsshd /jobsshd version)
	mnt=$(podman mount "$ctr")
	expect "jobsshd image: /jobsshd mode and owner" "755 root:root" "$(stat -c '%a %U:%G' "$mnt/jobsshd" 2>&1)"
	podman umount "$ctr" >/dev/null
	expect_rc "jobsshd image: /jobsshd runs (version)" 0 podman start --attach "$ctr"
	expect "job-example: jobsshd and entrypoint.sh mode and owner" \
		"755 root:root /usr/local/bin/jobsshd,755 root:root /usr/local/bin/entrypoint.sh," \
		"$(timeout 60 podman run --rm --label "$LABEL" --entrypoint stat "$IMAGE" -c '%a %U:%G %n' \
			/usr/local/bin/jobsshd /usr/local/bin/entrypoint.sh 2>&1 | tr '\n' ,)"
	# The apt layer cleans up itself: the base image made here has no docker-clean
	# setting to do it (with the lists and the package cache left, it was 99 MB, not 15).
	expect "job-example: no apt lists or package cache left in the image" "" \
		"$(timeout 60 podman run --rm --label "$LABEL" --entrypoint find "$IMAGE" \
			/var/lib/apt/lists /var/cache/apt -type f ! -name lock 2>&1)"
}

# check_job_example: job-example as a platform runs it, a client key mounted as
# authorized_keys and the port published on 127.0.0.1; the README's race-free key fetch.
check_job_example() {
	step "job-example as root serving work (README: Container images)"
	local c=jt-main t0
	t0=$(date +%s.%N)
	run_job $c -p 127.0.0.1::2222 -v "$KEY.pub:/home/work/.ssh/authorized_keys:ro" -- || {
		fail "$c: podman run" "a running container" "podman run failed: $RUN_ERR"
		return
	}
	# Straight after `run -d`, as the README does: status --wait must not race the key.
	expect_rc "status --wait right after start" 0 podman exec $c jobsshd status --wait --timeout 30s
	local st=$OUT
	expect_has "status --wait: the port" 2222 "$st"
	expect_has "status --wait: the key path" /home/work/id_container "$st"
	expect_has "status --wait: the ssh command" "ssh -i" "$st"
	expect_rc "id_container readable right after status --wait" 0 podman exec $c cat /home/work/id_container
	wait_listening $c $ROOT_STATUS || return
	listening_time $c "$t0"
	check_status_figures $c "$st"

	expect "PID 1 is entrypoint.sh" "/bin/sh /usr/local/bin/entrypoint.sh sleep infinity" \
		"$(timeout 30 podman exec $c sh -c 'tr "\0" " " </proc/1/cmdline' 2>&1 | sed 's/ $//')"
	expect "jobsshd is PID 1's child" "1" \
		"$(timeout 30 podman exec $c sh -c 'for d in /proc/[0-9]*; do [ "$(cat $d/comm)" = jobsshd ] && sed -n "s/^PPid:\t//p" $d/status; done' 2>&1 | sort -u | tr '\n' ' ' | sed 's/ $//')"
	expect "the user key files in the home" \
		"600 work id_container,644 work id_container.pub,600 work id_container.ppk," \
		"$(timeout 30 podman exec -w /home/work $c stat -c '%a %U %n' id_container id_container.pub id_container.ppk 2>&1 | tr '\n' ,)"
	check_logins "root serving work" $c work

	local port kh
	port=$(host_port $c 2222)
	kh=$IT_DIR/known_hosts-$c
	ssh_opts "$kh"
	expect_rc "a pty session's exit status" 7 ssh "${SSH_OPTS[@]}" -tt -p "$port" work@127.0.0.1 'exit 7'
	# README: copy id_container out of the container and log in with it.
	timeout 30 podman exec $c cat /home/work/id_container >"$IT_DIR/id_container" 2>&1
	chmod 600 "$IT_DIR/id_container"
	ssh_opts "$kh" "$IT_DIR/id_container"
	expect_rc "login with the id_container copied out" 0 ssh "${SSH_OPTS[@]}" -p "$port" work@127.0.0.1 true

	timeout 60 podman stop -t 30 $c >/dev/null 2>&1
	expect "podman stop: exit 143 (SIGTERM, no SIGKILL)" 143 "$(podman inspect -f '{{.State.ExitCode}}' $c 2>&1)"
}

# listening_time NAME T0: print how long from `podman run` (T0) and from the
# container's start to jobsshd's "listening" log line (for BENCHMARKS.md).
listening_time() {
	local started listening
	started=$(podman inspect -f '{{.State.StartedAt.UnixNano}}' "$1" 2>/dev/null)
	listening=$(podman logs "$1" 2>&1 | sed -n 's/^time=\([^ ]*\) level=INFO msg=listening.*/\1/p' | head -1)
	[ -n "$started" ] && [ -n "$listening" ] || return 0
	listening=$(date -d "$listening" +%s%N)
	printf 'info  start to listening: %d ms after the container started, %d ms after podman run\n' \
		$(((listening - started) / 1000000)) $(((listening - ${2/./}) / 1000000))
}

# check_stdout_is_the_jobs: the job's stdout carries the job's output only.
check_stdout_is_the_jobs() {
	step "the job's stdout"
	expect "echo x | podman run -i IMAGE cat: stdout" x \
		"$(echo x | timeout 60 podman run -i --rm --label "$LABEL" -e JOBSSHD_ENABLE=1 "$IMAGE" cat 2>/dev/null)"
}

# check_exit_statuses: the job's status is the container's; JOBSSHD_REQUIRED stops a
# job whose jobsshd cannot start.
check_exit_statuses() {
	step "exit statuses"
	expect_rc "a job's exit 42 is the container's" 42 \
		podman run --rm --label "$LABEL" -e JOBSSHD_ENABLE=1 "$IMAGE" sh -c 'exit 42'
	expect_rc "JOBSSHD_REQUIRED=1 with a bad user exits 1" 1 \
		podman run --rm --label "$LABEL" -e JOBSSHD_ENABLE=1 -e JOBSSHD_REQUIRED=1 \
		-e JOBSSHD_USER=no-such-user "$IMAGE" sh -c 'echo the-job-ran'
	case $OUT in
	*the-job-ran*) fail "JOBSSHD_REQUIRED=1 does not run the job" "no output from the job" "$OUT" ;;
	*) pass "JOBSSHD_REQUIRED=1 does not run the job" ;;
	esac
}

# check_workers: two workers of one job on a podman network: ssh w1 from w0 without a
# prompt, and the job secret is not in the session's environment.
check_workers() {
	step "two workers of a job"
	local secret w
	secret=$(head -c 32 /dev/urandom | base64)
	timeout 30 podman network create --label "$LABEL" "$NETWORK" >/dev/null ||
		fail "podman network create" "a network" "failed"
	for w in w0 w1; do
		run_job jt-$w --network "$NETWORK" --network-alias $w --hostname $w \
			-e JOBSSHD_JOB_SECRET="$secret" -e VC_WORKER_HOSTS=w0,w1 -- ||
			fail "jt-$w: podman run" "a running container" "podman run failed: $RUN_ERR"
	done
	wait_listening jt-w0 $ROOT_STATUS && wait_listening jt-w1 $ROOT_STATUS || return
	expect_rc "ssh w1 from w0 without a prompt" 0 podman exec --user work -w /home/work \
		-e HOME=/home/work jt-w0 ssh -o BatchMode=yes w1 'echo on-$(hostname); env'
	expect_has "ssh w1 from w0 reaches w1" on-w1 "$OUT"
	case $OUT in
	*"$secret"* | *JOBSSHD_JOB_SECRET*) fail "the job secret is not in the session's environment" "no secret" "it is there" ;;
	*) pass "the job secret is not in the session's environment" ;;
	esac
}

# check_pod_yaml_and_web: the key as JOBSSHD_AUTHORIZED_KEYS with deploy/pod.yaml's
# settings, and web access as deploy/web-ingress.yaml turns it on: /healthz answers.
check_pod_yaml_and_web() {
	step "deploy/pod.yaml's settings, with web access"
	local c=jt-pod port env=() line
	# The container's environment as deploy/pod.yaml writes it, with the ConfigMap's key
	# lines being our key.
	while IFS= read -r line; do
		env+=(-e "$line")
	done < <(pod_yaml_env "$(cat "$KEY.pub")")
	expect_has "deploy/pod.yaml passes the key as JOBSSHD_AUTHORIZED_KEYS" \
		"JOBSSHD_AUTHORIZED_KEYS=$(cat "$KEY.pub")" "${env[*]}"
	run_job $c -p 127.0.0.1::2222 -p 127.0.0.1::8022 "${env[@]}" -e JOBSSHD_WEB=0.0.0.0:8022 \
		-e JOBSSHD_WEB_TOKEN="$(head -c 32 /dev/urandom | base64)" -- || {
		fail "$c: podman run" "a running container" "podman run failed: $RUN_ERR"
		return
	}
	wait_listening $c $ROOT_STATUS || return
	port=$(host_port $c 2222)
	ssh_opts "$(known_hosts $c "$port")"
	expect_rc "JOBSSHD_AUTHORIZED_KEYS: ssh logs in" 0 ssh "${SSH_OPTS[@]}" -p "$port" work@127.0.0.1 true
	port=$(host_port $c 8022)
	wait_for 20 timeout 10 curl -sf -m 5 -o /dev/null "http://127.0.0.1:$port/healthz"
	expect "/healthz answers 200 from the container" 200 \
		"$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" 2>&1)"
}

# pod_yaml_env KEYLINE prints NAME=VALUE for each variable of deploy/pod.yaml's Pod, a
# ConfigMap reference being KEYLINE (python3-yaml, which .ci/run installs).
pod_yaml_env() {
	/usr/bin/python3 - "$ROOT/deploy/pod.yaml" "$1" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
pod = next(d for d in docs if d["kind"] == "Pod")
for e in pod["spec"]["containers"][0]["env"]:
    if "value" in e:
        print("%s=%s" % (e["name"], e["value"]))
    elif "configMapKeyRef" in e.get("valueFrom", {}):
        print("%s=%s" % (e["name"], sys.argv[2]))
    else:
        sys.exit("deploy/pod.yaml: %s: the image test knows value and configMapKeyRef only" % e["name"])
EOF
}

# check_as_image_user: Kubeflow-style, as the image's non-root user.
check_as_image_user() {
	step "--user work"
	local c=jt-user
	run_job $c --user work -p 127.0.0.1::2222 -v "$KEY.pub:/home/work/.ssh/authorized_keys:ro" -- || {
		fail "$c: podman run" "a running container" "podman run failed: $RUN_ERR"
		return
	}
	wait_listening $c /home/work/.local/state/jobsshd/status.json && check_logins "--user work" $c work
}

# check_arbitrary_uid: OpenShift's restricted default, an arbitrary uid in group 0 with
# no entry in /etc/passwd (--passwd=false: podman would otherwise add one). The home is
# $HOME, a directory of that uid's.
check_arbitrary_uid() {
	step "--user 1000680000:0, no /etc/passwd entry"
	local c=jt-anyuid home=$IT_DIR/home-anyuid
	make_uid_home "$home"
	run_job $c --user 1000680000:0 --passwd=false -e HOME=/home/anyuid -v "$home:/home/anyuid" \
		-p 127.0.0.1::2222 -- || {
		fail "$c: podman run" "a running container" "podman run failed: $RUN_ERR"
		return
	}
	expect "no /etc/passwd entry for the uid" "" "$(timeout 30 podman exec $c grep :1000680000: /etc/passwd 2>&1)"
	wait_listening $c /home/anyuid/.local/state/jobsshd/status.json && check_logins "--user 1000680000:0" $c 1000680000

	# The same uid under the login name the platform gives (a notebook's jovyan).
	c=jt-jovyan
	run_job $c --user 1000680000:0 --passwd=false -e HOME=/home/anyuid -e JOBSSHD_USER=jovyan \
		-e JOBSSHD_STATE_DIR=/tmp/jobsshd -v "$home:/home/anyuid" -p 127.0.0.1::2222 -- || {
		fail "$c: podman run" "a running container" "podman run failed: $RUN_ERR"
		return
	}
	wait_listening $c /tmp/jobsshd/status.json || return
	check_logins "JOBSSHD_USER=jovyan" $c jovyan
	local port
	port=$(host_port $c 2222)
	ssh_opts "$IT_DIR/known_hosts-$c"
	expect_rc "--user 1000680000:0 with JOBSSHD_USER=jovyan: ssh as jovyan" 0 \
		ssh "${SSH_OPTS[@]}" -p "$port" jovyan@127.0.0.1 'id -u; pwd'
	expect "--user 1000680000:0 with JOBSSHD_USER=jovyan: the uid and home" "1000680000,/home/anyuid," "$(tr '\n' , <<<"$OUT")"
}

# check_podman_passwd_entry: --user 1000680000:0 without --passwd=false, as most people
# type it: podman then adds an /etc/passwd entry for the uid whose home is the working
# directory, "/". Without a usable $HOME jobsshd cannot keep its state: the error must
# name HOME; with one (a volume), jobsshd uses it and ssh, sftp and scp get in.
check_podman_passwd_entry() {
	step "--user 1000680000:0 with podman's /etc/passwd entry (home /)"
	local c=jt-pwuid home=$IT_DIR/home-pwuid
	expect_rc "podman's entry, no usable HOME: jobsshd stops the job" 1 \
		podman run --rm --label "$LABEL" --user 1000680000:0 -e JOBSSHD_ENABLE=1 -e JOBSSHD_REQUIRED=1 "$IMAGE" true
	expect_has "podman's entry, no usable HOME: the error names HOME" "set HOME to a directory uid 1000680000 may write" "$OUT"
	make_uid_home "$home"
	run_job $c --user 1000680000:0 -e HOME=/home/anyuid -v "$home:/home/anyuid" -p 127.0.0.1::2222 -- || {
		fail "$c: podman run" "a running container" "podman run failed: $RUN_ERR"
		return
	}
	expect "podman's entry for the uid, home /" "1000680000:*:1000680000:0:container user:/:/bin/sh" \
		"$(timeout 30 podman exec $c grep :1000680000: /etc/passwd 2>&1)"
	wait_listening $c /home/anyuid/.local/state/jobsshd/status.json || return
	expect_has "podman's entry: jobsshd says it uses \$HOME" "uses \$HOME, /home/anyuid" "$(podman logs $c 2>&1)"
	check_logins "podman's entry, HOME on a volume" $c 1000680000
	expect_rc "podman's entry: id_container is in \$HOME" 0 podman exec $c test -s /home/anyuid/id_container
}

# check_openshift_home: OpenShift's usual home, made in the image for whatever uid runs
# it: root's, group 0, mode 0775. authorized_keys there is refused, as OpenSSH refuses
# it (StrictModes: a directory others may write), with a message saying who can fix
# it; id_container, a file of the uid's own, still logs in.
check_openshift_home() {
	step "--user 1000680000:0, a home of root's that group 0 may write"
	local c=jt-oshome home=$IT_DIR/home-openshift port kh
	make_uid_home "$home"
	chown 0:0 "$home"
	chmod 775 "$home"
	run_job $c --user 1000680000:0 --passwd=false -e HOME=/home/os -v "$home:/home/os" -p 127.0.0.1::2222 -- || {
		fail "$c: podman run" "a running container" "podman run failed: $RUN_ERR"
		return
	}
	wait_listening $c /home/os/.local/state/jobsshd/status.json || return
	port=$(host_port $c 2222)
	kh=$(known_hosts $c "$port")
	ssh_opts "$kh"
	expect_rc "group-writable home: authorized_keys is refused" 255 ssh "${SSH_OPTS[@]}" -p "$port" 1000680000@127.0.0.1 true
	expect_has "group-writable home: the log names who can fix it" "chmod go-w /home/os as its owner, uid 0" "$(podman logs $c 2>&1)"
	timeout 30 podman exec $c cat /home/os/id_container >"$IT_DIR/id_container-$c" 2>&1
	chmod 600 "$IT_DIR/id_container-$c"
	check_logins "group-writable home, id_container" $c 1000680000 "$IT_DIR/id_container-$c"
}

# make_uid_home DIR makes DIR a home of uid 1000680000 with the client's key.
make_uid_home() {
	rm -rf "$1"
	mkdir -p "$1/.ssh"
	cp "$KEY.pub" "$1/.ssh/authorized_keys"
	chmod 700 "$1" "$1/.ssh"
	chmod 600 "$1/.ssh/authorized_keys"
	chown -R 1000680000:0 "$1"
}

# check_read_only: a read-only root filesystem, a tmpfs on /tmp, the home on a volume.
# Without a state directory jobsshd cannot start there; its error must name the fix,
# and the fix must work.
check_read_only() {
	step "--read-only, tmpfs /tmp, the home on a volume"
	local c=jt-ro
	expect_rc "--read-only without a state directory: jobsshd stops the job" 1 \
		podman run --rm --label "$LABEL" --read-only --tmpfs /tmp -e JOBSSHD_ENABLE=1 \
		-e JOBSSHD_REQUIRED=1 "$IMAGE" true
	expect_has "--read-only without a state directory: the error names JOBSSHD_STATE_DIR" JOBSSHD_STATE_DIR "$OUT"
	timeout 30 podman volume create --label "$LABEL" "$VOLUME" >/dev/null
	# The volume starts with the image's /home/work (podman copies it up); the key goes in
	# before the container starts, as a platform's volume would hold it.
	timeout 60 podman run --rm --label "$LABEL" -v "$VOLUME:/home/work" -v "$KEY.pub:/key.pub:ro" \
		--entrypoint sh "$IMAGE" -c 'install -d -o work -g work -m 700 /home/work/.ssh && install -o work -g work -m 600 /key.pub /home/work/.ssh/authorized_keys' ||
		fail "$c: key into the volume" "authorized_keys installed" "failed"
	# /var/lib/jobsshd cannot be made on a read-only root: jobsshd says to pass
	# --state-dir, and a platform does (a tmpfs here; a volume keeps the host keys).
	run_job $c --read-only --tmpfs /tmp -v "$VOLUME:/home/work" -e JOBSSHD_STATE_DIR=/tmp/jobsshd \
		-p 127.0.0.1::2222 -- || {
		fail "$c: podman run" "a running container" "podman run failed: $RUN_ERR"
		return
	}
	wait_listening $c /tmp/jobsshd/status.json && check_logins "--read-only" $c work
}

# check_status_figures NAME TEXT: what `jobsshd status` says about container NAME (TEXT:
# the output of status --wait) is true: its known_hosts lines let ssh in under strict
# host key checking, `status --json` has their fingerprints, and the live figures count
# an open session, then drop back when it ends.
check_status_figures() {
	local c=$1 port kh json fp
	port=$(host_port "$c" 2222)
	kh=$IT_DIR/known_hosts-status
	awk -v h="[127.0.0.1]:$port" '/^known_hosts lines/ { on = 1; next }
		on && /^  \[/ { print h, $2, $3; next } { on = 0 }' <<<"$2" >"$kh"
	ssh_opts "$kh"
	expect_rc "status --wait: its known_hosts lines pass strict checking" 0 \
		ssh "${SSH_OPTS[@]}" -p "$port" work@127.0.0.1 true
	json=$(timeout 30 podman exec "$c" jobsshd status --json 2>&1)
	fp=$(ssh-keygen -lf "$kh" 2>&1 | awk '{ print $2 }' | sort | tr '\n' ' ')
	expect "status --json: the host key fingerprints" "$fp" \
		"$(python3 -c 'import json, sys; print(" ".join(sorted(k["fingerprint"] for k in json.load(sys.stdin)["host_keys"])) + " ")' <<<"$json" 2>&1)"
	# One session held open; the figures are rewritten at most every few seconds.
	timeout 60 ssh "${SSH_OPTS[@]}" -p "$port" work@127.0.0.1 'sleep 50' </dev/null &
	local holder=$!
	if wait_for 20 live_is "$c" 'l["connections"] >= 1 and l["sessions"] >= 1 and l.get("last_activity")'; then
		pass "status: an open session is counted (connections, sessions, last activity)"
	else
		fail "status: an open session is counted (connections, sessions, last activity)" \
			"live.connections >= 1, live.sessions >= 1, live.last_activity within 20 s" "$(live_of "$c")"
	fi
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	if wait_for 20 live_is "$c" 'l["connections"] == 0 and l["sessions"] == 0'; then
		pass "status: the figures drop back to 0 when the client is gone"
	else
		fail "status: the figures drop back to 0 when the client is gone" "live 0 connections, 0 sessions within 20 s" "$(live_of "$c")"
	fi
}

# live_of NAME prints the live figures of `jobsshd status --json` in container NAME.
live_of() {
	timeout 30 podman exec "$1" jobsshd status --json 2>&1 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["live"])' 2>&1
}

# live_is NAME EXPR succeeds when the Python expression EXPR holds for l, the live
# figures of `jobsshd status --json` in container NAME.
live_is() {
	timeout 30 podman exec "$1" jobsshd status --json 2>/dev/null |
		python3 -c 'import json, sys; l = json.load(sys.stdin)["live"]; sys.exit(0 if ('"$2"') else 1)' 2>/dev/null
}
