#!/usr/bin/env bash
# live-status.sh — what status.json's live figures cost the agent (issue 13): its CPU
# while idle with a session open, and during an exec download and upload, for two
# binaries in one run, interleaved, so load from elsewhere on this shared machine hits
# both alike. It also counts how often each agent rewrote status.json.
#
# Usage (as root, from the repository root):
#   A=/path/jobsshd-before B=/path/jobsshd-after bench/live-status.sh [SIZE_MB] [REPS]
#   SIZE_MB  size of each transfer (default 1024); REPS  rounds (default 5)
#   IDLE_S   seconds of the idle workload (default 15)
# Prints one line per workload, binary and round:  workload binary wall_s agent_cpu_s status_writes
# then the medians with [min max] of B/A per workload.
# Needs: openssh-client, python3; the account "work" (created when missing).
set -u
SIZE_MB=${1:-1024}; REPS=${2:-5}; IDLE_S=${IDLE_S:-15}
: "${A:?set A to the first jobsshd binary}" "${B:?set B to the second jobsshd binary}"
W=$(mktemp -d /tmp/live.XXXX); chmod 755 "$W"; U=work
id $U >/dev/null 2>&1 || useradd -m -s /bin/bash $U
ssh-keygen -q -t ed25519 -N '' -f "$W/client"

declare -A PID PORT
start() { # NAME BINARY
	mkdir -p "$W/id-$1"; chown $U: "$W/id-$1"
	JOBSSHD_AUTHORIZED_KEYS=$(cat "$W/client.pub") "$2" --user $U --bind 127.0.0.1 --port 0 \
		--state-dir "$W/state-$1" --id-file "$W/id-$1/id_container" >/dev/null 2>"$W/$1.err" & PID[$1]=$!
	for _ in $(seq 100); do [ -s "$W/state-$1/status.json" ] && break; sleep 0.1; done
	PORT[$1]=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["port"])' "$W/state-$1/status.json")
}
start A "$A"; start B "$B"

cpu() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat"; } # the agent's own threads
# writes NAME SECONDS_FILE: counts status.json rewrites (each is a rename: a new inode)
# while the file SECONDS_FILE exists.
watch_writes() {
	local f="$W/state-$1/status.json" last="" n=0 ino
	while [ -e "$2" ]; do
		ino=$(stat -c %i "$f" 2>/dev/null); [ -n "$ino" ] && [ "$ino" != "$last" ] && { [ -n "$last" ] && n=$((n+1)); last=$ino; }
		sleep 0.05
	done
	echo $n
}
S=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes
	-o IdentitiesOnly=yes -c aes128-gcm@openssh.com -i "$W/client")
run() { # WORKLOAD NAME
	local p=${PORT[$2]} flag="$W/running" c0 c1 t0 t1 w
	touch "$flag"; watch_writes "$2" "$flag" >"$W/writes" &
	c0=$(cpu "${PID[$2]}"); t0=$(date +%s.%N)
	case $1 in
	idle) ssh "${S[@]}" -p "$p" $U@127.0.0.1 "sleep $IDLE_S" ;;
	download) ssh "${S[@]}" -p "$p" $U@127.0.0.1 "head -c ${SIZE_MB}M /dev/zero" >/dev/null ;;
	upload) head -c "${SIZE_MB}M" /dev/zero | ssh "${S[@]}" -p "$p" $U@127.0.0.1 "cat >/dev/null" ;;
	esac
	t1=$(date +%s.%N); c1=$(cpu "${PID[$2]}")
	rm -f "$flag"; wait $!; w=$(cat "$W/writes")
	printf '%s %s %.2f %.2f %s\n' "$1" "$2" "$(echo "$t1 - $t0" | bc)" "$(echo "$c1 - $c0" | bc)" "$w"
}
for r in $(seq "$REPS"); do
	for wl in idle download upload; do
		if [ $((r % 2)) = 1 ]; then run $wl A; run $wl B; else run $wl B; run $wl A; fi
	done
done | tee "$W/results"
kill "${PID[A]}" "${PID[B]}"; wait
python3 - "$W/results" <<'EOF'
import sys, statistics as st, collections
rows = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    wl, b, wall, cpu, writes = line.split()
    rows[wl][b].append((float(wall), float(cpu), int(writes)))
print("workload  B/A wall [min max]  B/A agent CPU [min max]  agent CPU s A / B (median)  writes A / B (median)")
for wl, r in rows.items():
    def ratio(i):
        v = [b[i] / a[i] if a[i] else float("nan") for a, b in zip(r["A"], r["B"])]
        return f"{st.median(v):.2f} [{min(v):.2f} {max(v):.2f}]"
    med = lambda b, i: st.median(x[i] for x in r[b])
    print(f"{wl}  {ratio(0)}  {ratio(1)}  {med('A',1):.2f} / {med('B',1):.2f}  {med('A',2)} / {med('B',2)}")
EOF
rm -rf "$W"
