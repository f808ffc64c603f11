#!/usr/bin/env bash
# web-proxy.sh — SSH through `jobsshd proxy` and the agent's /ssh WebSocket against the
# same agent's SSH port, in one run (issue 12's performance targets):
#
#   - 512 MiB sftp get (to /dev/null) and put, direct, through the proxy as
#     ProxyCommand, and through a plain TCP relay as ProxyCommand (socat with 1 MiB
#     buffers: the least any process between ssh and the agent costs, with no WebSocket
#     and no Go), taking turns in an order that rotates from round to round; then the
#     median of each round's proxy/direct and relay/direct ratios;
#   - `ssh host true`, N times each way, alternating, median wall time.
#
# Usage (as root, from anywhere):
#   bench/web-proxy.sh [SIZE_MB] [ROUNDS] [LATENCY_RUNS]     defaults: 512 3 20
# Needs openssh-client, socat and python3. Env: BENCH_USER, the account served (default work,
# which must exist); CIPHER (default aes128-gcm@openssh.com).
set -euo pipefail
SIZE_MB=${1:-512}
ROUNDS=${2:-3}
RUNS=${3:-20}
U=${BENCH_USER:-work}
CIPHER=${CIPHER:-aes128-gcm@openssh.com}
REPO=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" -eq 0 ] || { echo "web-proxy.sh: run as root (the agent serves $U)" >&2; exit 1; }
id "$U" >/dev/null 2>&1 || { echo "web-proxy.sh: no account $U: set BENCH_USER" >&2; exit 1; }
command -v sftp >/dev/null || { echo "web-proxy.sh: sftp is missing: apt-get install openssh-client" >&2; exit 1; }
command -v socat >/dev/null || { echo "web-proxy.sh: socat is missing: apt-get install socat" >&2; exit 1; }
command -v python3 >/dev/null || { echo "web-proxy.sh: python3 is missing: apt-get install python3" >&2; exit 1; }

W=$(mktemp -d /tmp/web-proxy.XXXXXX)
chmod 755 "$W"
AGENT_PID=
cleanup() {
  if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT

(cd "$REPO" && CGO_ENABLED=0 go build -o "$W/jobsshd" .)
mkdir -m 700 "$W/state"
mkdir -m 700 "$W/id" && chown "$U:" "$W/id"   # the agent creates id_container there as $U
"$W/jobsshd" --user "$U" --bind 127.0.0.1 --port 0 --state-dir "$W/state" --id-file "$W/id/id_container" \
  --web 127.0.0.1:0 >"$W/agent.out" 2>"$W/agent.log" &
AGENT_PID=$!
for _ in $(seq 100); do [ -s "$W/state/status.json" ] && break; sleep 0.1; done
[ -s "$W/state/status.json" ] || { echo "web-proxy.sh: the agent did not start:" >&2; cat "$W/agent.log" >&2; exit 1; }
read -r PORT WEBPORT < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["port"], s["web"]["port"])' "$W/state/status.json")
KEY="$W/id/id_container"
HOMEDIR=$(getent passwd "$U" | cut -d: -f6)
SRC="$HOMEDIR/web-proxy-bench.bin"
head -c "${SIZE_MB}M" /dev/urandom >"$SRC"
chown "$U:" "$SRC"
LOCAL="$W/local.bin"
cp "$SRC" "$LOCAL"
trap 'cleanup; rm -f "$SRC" "$HOMEDIR/web-proxy-bench.up"' EXIT

OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes
  -o BatchMode=yes -o LogLevel=ERROR -c "$CIPHER" -i "$KEY")
PROXY=(-o "ProxyCommand=$W/jobsshd proxy --token-file $W/state/web-token ws://127.0.0.1:$WEBPORT/ssh")
RELAY=(-o "ProxyCommand=socat -b 1048576 - TCP:127.0.0.1:$PORT")

# transfer WAY DIRECTION: prints MiB/s of one sftp get or put, login included.
transfer() {
  local way=$1 dir=$2 extra=()
  case $way in
    proxy) extra=("${PROXY[@]}") ;;
    relay) extra=("${RELAY[@]}") ;;
  esac
  local cmd="get $SRC /dev/null"
  [ "$dir" = put ] && cmd="put $LOCAL $HOMEDIR/web-proxy-bench.up"
  local t0 t1
  t0=$(date +%s.%N)
  echo "$cmd" | sftp -q "${OPTS[@]}" -P "$PORT" "${extra[@]}" -b - "$U@127.0.0.1" >/dev/null ||
    { echo "web-proxy.sh: sftp $dir ($way) failed; agent log: $W/agent.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 -c "print(f'{$SIZE_MB/($t1-$t0):.0f}')"
}

echo "round way get_MBps put_MBps"
: >"$W/rows"
for r in $(seq "$ROUNDS"); do
  ways=(direct proxy relay)
  case $((r % 3)) in
    2) ways=(proxy relay direct) ;;
    0) ways=(relay direct proxy) ;;
  esac
  for way in "${ways[@]}"; do
    echo "$r $way $(transfer "$way" get) $(transfer "$way" put)" | tee -a "$W/rows"
  done
done
python3 - "$W/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r, way, get, put = line.split()
    rows.setdefault(way, {})[r] = (float(get), float(put))
def span(xs):
    return f"{statistics.median(xs):.2f} [{min(xs):.2f} {max(xs):.2f}]"
for i, what in ((0, "get"), (1, "put")):
    for way in ("proxy", "relay"):
        ratios = [rows[way][r][i] / rows["direct"][r][i] for r in rows["direct"]]
        print(f"{what} {way}/direct: {span(ratios)}")
PY

# latency WAY: seconds of one `ssh host true`.
latency() {
  local extra=()
  [ "$1" = proxy ] && extra=("${PROXY[@]}")
  local t0 t1
  t0=$(date +%s.%N)
  ssh "${OPTS[@]}" -p "$PORT" "${extra[@]}" "$U@127.0.0.1" true ||
    { echo "web-proxy.sh: ssh true ($1) failed" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1-$t0:.4f}')"
}
: >"$W/lat.direct"; : >"$W/lat.proxy"
for _ in $(seq "$RUNS"); do
  latency direct >>"$W/lat.direct"
  latency proxy >>"$W/lat.proxy"
done
python3 - "$W/lat.direct" "$W/lat.proxy" <<'PY'
import statistics, sys
d = [float(x) for x in open(sys.argv[1])]
p = [float(x) for x in open(sys.argv[2])]
md, mp = statistics.median(d), statistics.median(p)
print(f"ssh true: direct median {md*1000:.1f} ms [{min(d)*1000:.1f} {max(d)*1000:.1f}], "
      f"proxy median {mp*1000:.1f} ms [{min(p)*1000:.1f} {max(p)*1000:.1f}], ratio {mp/md:.2f}")
PY
