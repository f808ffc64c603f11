#!/usr/bin/env bash
# receive-ab.sh — several jobsshd binaries and OpenSSH's sshd alive at once, the same
# uploads into each in one run: per transfer its MB/s and the server's CPU (its cpuacct
# cgroup, children included, as compare.sh counts it), the servers' order rotating and
# reversing every round so that load from elsewhere on the shared machine falls on all
# of them alike. CPU per transfer moves less with the load than MB/s does.
#
# Usage (as root, from the repository root):
#   bench/receive-ab.sh ROUNDS SIZE_MB BINARY...        e.g. 7 512 /tmp/jobsshd-a /tmp/jobsshd-b
# A BINARY may be a wrapper script that sets the environment and execs a binary (its
# name is the server's name in the output). Env: WORKLOADS (default "forward_L
# exec_upload"), CIPHER (default aes128-gcm@openssh.com; CIPHER= for what the client and
# each server negotiate), BENCH_USER (default work).
# Before the rounds each jobsshd server receives the file once through
# `ssh host sha256sum` and once through -L into a file, and both must have its digest:
# a receive path that corrupts data fails here rather than measuring well.
# Needs: openssh-server, openssh-client, socat, netcat-openbsd, python3.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 ROUNDS SIZE_MB BINARY... (e.g. 7 512 /tmp/jobsshd-a /tmp/jobsshd-b)" >&2; exit 2; }
ROUNDS=$1; SIZE_MB=$2; shift 2
WORKLOADS=${WORKLOADS:-forward_L exec_upload}
CIPHER=${CIPHER-aes128-gcm@openssh.com}
U=${BENCH_USER:-work}
[ "$(id -u)" -eq 0 ] || { echo "receive-ab.sh: run as root (the servers serve $U)" >&2; exit 1; }
id "$U" >/dev/null 2>&1 || { echo "receive-ab.sh: no account $U: set BENCH_USER" >&2; exit 1; }
for t in sshd socat nc python3; do
  command -v $t >/dev/null || [ -x /usr/sbin/$t ] || { echo "receive-ab.sh: $t is missing" >&2; exit 1; }
done

W=$(mktemp -d /tmp/receive-ab.XXXXXX); chmod 755 "$W"
HOMEDIR=$(getent passwd "$U" | cut -d: -f6)
CG=/sys/fs/cgroup/cpuacct
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -s "$W/client.pub" ] && sed -i "\|$(cut -d' ' -f2 "$W/client.pub")|d" "$HOMEDIR/.ssh/authorized_keys"
  rm -rf "$W"; rmdir $CG/rab-$$-* 2>/dev/null || true
}
trap cleanup EXIT
ssh-keygen -q -t ed25519 -N '' -f "$W/client"; ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
mkdir -p "$HOMEDIR/.ssh"; cat "$W/client.pub" >>"$HOMEDIR/.ssh/authorized_keys"
chown -R "$U:" "$HOMEDIR/.ssh"; chmod 700 "$HOMEDIR/.ssh"; chmod 600 "$HOMEDIR/.ssh/authorized_keys"
usermod -p '*' "$U"   # OpenSSH refuses accounts whose password field is locked with '!'
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
SRC="$HOMEDIR/bench-${SIZE_MB}M.src"   # the same source file as compare.sh
[ -f "$SRC" ] && [ "$(stat -c %s "$SRC")" -eq $((SIZE_MB * 1048576)) ] ||
  { head -c $((SIZE_MB * 1048576)) /dev/urandom >"$SRC.$$" && mv "$SRC.$$" "$SRC"; }
chown "$U:" "$SRC"

# incg NAME CMD...: runs CMD in the cpuacct cgroup rab-$$-NAME.
incg() { local g=$CG/rab-$$-$1; shift; mkdir -p "$g"; exec sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$g" "$@"; }
cpu_ms() { awk '{printf "%d\n", $1 / 1e6}' "$CG/rab-$$-$1/cpuacct.usage"; }
# client CMD...: runs CMD in the cgroup rab-$$-client, which holds the client side of
# every transfer (ssh, nc, socat): on two cores the pipeline's total CPU bounds MB/s.
mkdir -p "$CG/rab-$$-client"
# In the background, "client CMD &" would leave $! the subshell's and CMD its child:
# there CLIENT (the same sh, which becomes CMD) is used instead.
CLIENT=(sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$CG/rab-$$-client")
client() { "${CLIENT[@]}" "$@"; }

NAMES=(openssh)
P_openssh=$(freeport)
cat >"$W/sshd_config" <<EOF
Port $P_openssh
ListenAddress 127.0.0.1
HostKey $W/hostkey
PidFile $W/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
mkdir -p /run/sshd
(incg openssh /usr/sbin/sshd -D -f "$W/sshd_config" -E "$W/sshd.log") & PIDS+=($!)
for b in "$@"; do
  n=$(basename "$b"); n=${n//[^A-Za-z0-9_]/_}
  p=$(freeport); printf -v "P_$n" %s "$p"
  (incg "$n" "$(readlink -f "$b")" --user "$U" --bind 127.0.0.1 --port "$p" --state-dir "$W/state-$n" \
    >"$W/$n.out" 2>"$W/$n.log" </dev/null) & PIDS+=($!)
  printf -v "PID_$n" %s $!   # the subshell execs into the server: this is its pid
  NAMES+=("$n")
done
for n in "${NAMES[@]}"; do
  p=P_$n
  for _ in $(seq 100); do nc -z 127.0.0.1 "${!p}" 2>/dev/null && break; sleep 0.1; done
  nc -z 127.0.0.1 "${!p}" || { echo "receive-ab.sh: $n did not start listening" >&2; cat "$W/$n.log" >&2 || true; exit 1; }
done
O=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
   -o BatchMode=yes -o IdentitiesOnly=yes -i "$W/client")
[ -n "$CIPHER" ] && O+=(-c "$CIPHER")
H=$U@127.0.0.1

want=$(sha256sum <"$SRC" | cut -d' ' -f1)
for n in "${NAMES[@]:1}"; do
  p=P_$n
  got=$(ssh "${O[@]}" -p "${!p}" "$H" sha256sum <"$SRC" | cut -d' ' -f1) ||
    { echo "receive-ab.sh: ssh into $n failed; the end of its log:" >&2; tail -3 "$W/$n.log" >&2; exit 1; }
  [ "$got" = "$want" ] || { echo "receive-ab.sh: $n received a corrupted file ($got, want $want)" >&2; exit 1; }
done
for n in "${NAMES[@]:1}"; do   # and through -L, into a file
  p=P_$n; LP=$(freeport); SP=$(freeport)
  socat -u TCP-LISTEN:"$SP",bind=127.0.0.1,reuseaddr,fork OPEN:"$W/fwd-$n",creat,append & SO=$!
  ssh "${O[@]}" -p "${!p}" -N -L "$LP:127.0.0.1:$SP" "$H" & FW=$!
  for _ in $(seq 50); do nc -z 127.0.0.1 "$LP" 2>/dev/null && break; sleep 0.1; done
  nc -N 127.0.0.1 "$LP" <"$SRC"
  for _ in $(seq 100); do [ "$(stat -c %s "$W/fwd-$n" 2>/dev/null)" = $((SIZE_MB * 1048576)) ] && break; sleep 0.1; done
  kill "$FW" "$SO" 2>/dev/null || true; wait "$FW" "$SO" 2>/dev/null || true
  got=$(sha256sum <"$W/fwd-$n" | cut -d' ' -f1); rm -f "$W/fwd-$n"
  [ "$got" = "$want" ] || { echo "receive-ab.sh: $n forwarded a corrupted stream ($got, want $want)" >&2; exit 1; }
done
echo "integrity: every jobsshd server received the ${SIZE_MB} MiB file intact, by exec and through -L"

# xfer WORKLOAD NAME: prints "MB/s cpu_ms" of one transfer into server NAME.
xfer() {
  local wl=$1 n=$2 p=P_$2 c0 c1 s e LP SP FW SO
  case $wl in
    exec_upload) run() { client ssh "${O[@]}" -p "${!p}" "$H" 'cat > /dev/null' <"$SRC"; } ;;
    forward_L)   # as compare.sh: nc -> ssh -L -> server -> socat to /dev/null
      LP=$(freeport); SP=$(freeport)
      "${CLIENT[@]}" socat -u TCP-LISTEN:"$SP",bind=127.0.0.1,reuseaddr,fork OPEN:/dev/null & SO=$!
      "${CLIENT[@]}" ssh "${O[@]}" -p "${!p}" -N -L "$LP:127.0.0.1:$SP" "$H" & FW=$!
      for _ in $(seq 50); do nc -z 127.0.0.1 "$LP" 2>/dev/null && break; sleep 0.1; done
      run() { client nc -N 127.0.0.1 "$LP" <"$SRC"; } ;;
    *) echo "receive-ab.sh: unknown workload $wl (forward_L, exec_upload)" >&2; exit 2 ;;
  esac
  c0=$(cpu_ms "$n"); k0=$(cpu_ms client); s=$(date +%s.%N)
  run >/dev/null
  e=$(date +%s.%N); sleep 1; c1=$(cpu_ms "$n"); k1=$(cpu_ms client)   # the pause lets the server reap its children
  [ "$wl" = forward_L ] && { kill "$FW" "$SO" 2>/dev/null || true; wait "$FW" "$SO" 2>/dev/null || true; }
  python3 -c "print(f'{$SIZE_MB/($e-$s):.0f} $((c1 - c0)) $((k1 - k0))')"
}

echo "round workload server MB/s cpu_ms client_cpu_ms load1"
: >"$W/rows"
for r in $(seq "$ROUNDS"); do
  order=("${NAMES[@]}")
  k=$(( (r - 1) % ${#order[@]} )); order=("${order[@]:k}" "${order[@]:0:k}")   # rotate
  if [ $((r % 2)) -eq 0 ]; then for ((i = 0, j = ${#order[@]} - 1; i < j; i++, j--)); do t=${order[i]}; order[i]=${order[j]}; order[j]=$t; done; fi
  for wl in $WORKLOADS; do
    for n in "${order[@]}"; do
      read -r mbs ms cms <<<"$(xfer "$wl" "$n")"
      l=$(cut -d' ' -f1 /proc/loadavg)
      echo "$r $wl $n $mbs $ms $cms $l" | tee -a "$W/rows"
    done
  done
done
# The servers' memory: right after the last transfer, and once idle (jobsshd returns its
# idle heap to the kernel after an interval of 2 s without work).
rss() { local p=PID_$1; awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/${!p}/status"; }
for n in "${NAMES[@]:1}"; do printf -v "R0_$n" %s "$(rss "$n")"; done
sleep 6
echo
for n in "${NAMES[@]:1}"; do r=R0_$n; echo "RSS of $n: ${!r} MiB after the last transfer, $(rss "$n") MiB 6 s later"; done
python3 - "$W/rows" "${NAMES[@]}" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
names = sys.argv[2:]
val = {(r[0], r[1], r[2]): (float(r[3]), float(r[4]), float(r[5])) for r in rows}
loads = [float(r[6]) for r in rows]
fmt = lambda xs, f: f"{f(st.median(xs))} [{f(min(xs))} {f(max(xs))}]"
print(f"\nload average (1 min) during the run: median {st.median(loads):.1f} [{min(loads):.1f} {max(loads):.1f}]")
for wl in dict.fromkeys(r[1] for r in rows):
    rounds = sorted({r[0] for r in rows if r[1] == wl}, key=int)
    print(f"\n{wl}: median [lowest highest] over {len(rounds)} rounds")
    for n in names:
        mbs = [val[(r, wl, n)][0] for r in rounds]; ms = [val[(r, wl, n)][1] for r in rounds]
        cl = [val[(r, wl, n)][2] for r in rounds]
        line = f"  {n:16s} MB/s {fmt(mbs, lambda x: f'{x:.0f}')}   cpu ms {fmt(ms, lambda x: f'{x:.0f}')}   client cpu ms {fmt(cl, lambda x: f'{x:.0f}')}"
        if n != "openssh":
            rt = [val[(r, wl, n)][0] / val[(r, wl, "openssh")][0] for r in rounds]
            rc = [val[(r, wl, n)][1] / val[(r, wl, "openssh")][1] for r in rounds]
            line += f"   vs openssh: MB/s {fmt(rt, lambda x: f'{x:.2f}')} cpu {fmt(rc, lambda x: f'{x:.2f}')}"
        if n not in ("openssh", names[1]):
            rc = [val[(r, wl, n)][1] / val[(r, wl, names[1])][1] for r in rounds]
            line += f"   cpu vs {names[1]}: {fmt(rc, lambda x: f'{x:.2f}')}"
        print(line)
PY
