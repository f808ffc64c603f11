#!/usr/bin/env bash
# web-proxy-ab.sh — two jobsshd binaries (A and B, e.g. main's and a branch's) side by
# side: both agents alive at once, each round one 512 MiB sftp get through
# `jobsshd proxy` (the agent's own binary as the proxy) and one directly from each, the
# order alternating, and for every proxied get the agent's CPU (utime+stime from
# /proc/PID/stat, 10 ms ticks) and the proxy's (user+sys, ms). CPU per transfer moves
# less with the machine's load than MB/s does.
#
# Usage (as root):
#   bench/web-proxy-ab.sh BIN_A BIN_B [ROUNDS] [SIZE_MB]     defaults: 8 512
# Build the binaries first, e.g. `CGO_ENABLED=0 go build -o /tmp/jobsshd-a .` in each
# checkout. Needs openssh-client and python3. Env: BENCH_USER (default work), CIPHER
# (default aes128-gcm@openssh.com). Prints one line per round, then medians.
set -euo pipefail
BIN_A=$(readlink -f "$1")
BIN_B=$(readlink -f "$2")
ROUNDS=${3:-8}
SIZE_MB=${4:-512}
U=${BENCH_USER:-work}
CIPHER=${CIPHER:-aes128-gcm@openssh.com}

[ "$(id -u)" -eq 0 ] || { echo "web-proxy-ab.sh: run as root (the agents serve $U)" >&2; exit 1; }
id "$U" >/dev/null 2>&1 || { echo "web-proxy-ab.sh: no account $U: set BENCH_USER" >&2; exit 1; }
command -v sftp >/dev/null || { echo "web-proxy-ab.sh: sftp is missing: apt-get install openssh-client" >&2; exit 1; }

W=$(mktemp -d /tmp/web-proxy-ab.XXXXXX)
chmod 755 "$W"
HOMEDIR=$(getent passwd "$U" | cut -d: -f6)
SRC="$HOMEDIR/web-proxy-ab.bin"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$W" "$SRC"
}
trap cleanup EXIT
head -c "${SIZE_MB}M" /dev/urandom >"$SRC"
chown "$U:" "$SRC"

# The proxy's CPU: ssh sends its ProxyCommand SIGHUP at the end, so the wrapper
# ignores it (the proxy inherits that and ends with its WebSocket) and then reads its
# child's times.
cat >"$W/pwrap" <<'EOF'
#!/usr/bin/env bash
out=$1; shift
trap '' HUP
"$@"
times >"$out.t"
tail -1 "$out.t" | awk '{n=0; for(i=1;i<=2;i++){split($i,a,"m"); sub("s","",a[2]); n+=a[1]*60+a[2]} printf "%d\n", n*1000}' >"$out.tmp"
mv "$out.tmp" "$out"
EOF
chmod 755 "$W/pwrap"

# start NAME BIN: an agent in $W/NAME; its PID is appended to PIDS.
start() {
  local d="$W/$1"
  mkdir -m 755 "$d" && mkdir -m 700 "$d/state" && mkdir -m 700 "$d/id" && chown "$U:" "$d/id"
  "$2" --user "$U" --bind 127.0.0.1 --port 0 --state-dir "$d/state" --id-file "$d/id/id_container" \
    --web 127.0.0.1:0 >"$d/agent.out" 2>"$d/agent.log" </dev/null &
  PIDS+=($!)
  echo $! >"$d/pid"
  for _ in $(seq 100); do [ -s "$d/state/status.json" ] && break; sleep 0.1; done
  [ -s "$d/state/status.json" ] || { echo "web-proxy-ab.sh: agent $1 did not start:" >&2; cat "$d/agent.log" >&2; exit 1; }
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["port"], s["web"]["port"])' \
    "$d/state/status.json" >"$d/ports"
}
start a "$BIN_A"
start b "$BIN_B"

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# get NAME WAY: "MB/s agent_ticks proxy_ms" of one get (ticks and ms only for proxy).
get() {
  local d="$W/$1" way=$2 port webport pid bin t0 t1 ticks0 extra=()
  read -r port webport <"$d/ports"
  pid=$(cat "$d/pid")
  bin=$(readlink -f "/proc/$pid/exe")
  [ "$way" = proxy ] && extra=(-o "ProxyCommand=$W/pwrap $d/proxy.cpu $bin proxy --token-file $d/state/web-token ws://127.0.0.1:$webport/ssh")
  ticks0=$(ticks "$pid")
  t0=$(date +%s.%N)
  echo "get $SRC /dev/null" | sftp -q -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -c "$CIPHER" -i "$d/id/id_container" \
    -P "$port" "${extra[@]}" -b - "$U@127.0.0.1" >/dev/null ||
    { echo "web-proxy-ab.sh: sftp get ($1 $way) failed; agent log: $d/agent.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  local mbs
  mbs=$(python3 -c "print(f'{$SIZE_MB/($t1-$t0):.0f}')")
  if [ "$way" = direct ]; then echo "$mbs"; return; fi
  local dt=$(($(ticks "$pid") - ticks0))
  for _ in $(seq 100); do [ -s "$d/proxy.cpu" ] && break; sleep 0.05; done
  echo "$mbs $dt $(cat "$d/proxy.cpu")"
  rm -f "$d/proxy.cpu" "$d/proxy.cpu.t"
}

echo "round | A: direct MB/s, proxy MB/s agent_ticks proxy_ms | B: same"
: >"$W/rows"
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then
    ad=$(get a direct); ap=$(get a proxy); bp=$(get b proxy); bd=$(get b direct)
  else
    bd=$(get b direct); bp=$(get b proxy); ap=$(get a proxy); ad=$(get a direct)
  fi
  echo "$r | A: $ad, $ap | B: $bd, $bp"
  echo "$ad $ap $bd $bp" >>"$W/rows"
done
python3 - "$W/rows" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
names = ["direct MB/s", "proxy MB/s", "agent ticks", "proxy ms"]
for side, off in (("A", 0), ("B", 4)):
    cols = [[r[off + i] for r in rows] for i in range(4)]
    ratio = [p / d for d, p in zip(cols[0], cols[1])]
    parts = [f"{n} {statistics.median(c):.0f} [{min(c):.0f} {max(c):.0f}]" for n, c in zip(names, cols)]
    parts.append(f"proxy/direct {statistics.median(ratio):.2f} [{min(ratio):.2f} {max(ratio):.2f}]")
    print(side + ": " + ", ".join(parts))
PY
