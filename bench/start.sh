#!/usr/bin/env bash
# start.sh — start-to-listening of one or more jobsshd binaries, interleaved (issue 14's
# target: 50 ms): the time from exec until the SSH port accepts a connection, until
# status.json exists (a platform waits for either), and until status.json lists both host
# keys (a new RSA key is created after listening, agent/host_keys_later.go), in two cases:
#
#   first    an empty state directory: the host keys are created
#   restart  the state directory of an earlier start: the host keys are loaded
#
# Usage (as root, from the repository root):  bench/start.sh [ROUNDS] [BINARY...]
#   ROUNDS   rounds (default 10); in each round every binary starts once per case, in an
#            order that rotates from round to round, so load from elsewhere on this shared
#            machine hits all of them alike
#   BINARY   built jobsshd binaries to compare (default: builds . with CGO_ENABLED=0)
# Env: BENCH_USER, the account served (default work, which must exist).
# Prints one line per start and then, per binary and case, the median and [min max] in ms.
# Needs python3.
set -euo pipefail
ROUNDS=${1:-10}
shift || true
U=${BENCH_USER:-work}
[ "$(id -u)" -eq 0 ] || { echo "start.sh: run as root (the agent serves $U)" >&2; exit 1; }
id "$U" >/dev/null 2>&1 || { echo "start.sh: no account $U: set BENCH_USER" >&2; exit 1; }
command -v python3 >/dev/null || { echo "start.sh: python3 is missing: apt-get install python3" >&2; exit 1; }
W=$(mktemp -d /tmp/start-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
if [ $# -eq 0 ]; then
  CGO_ENABLED=0 go build -o "$W/jobsshd" . || exit 1
  set -- "$W/jobsshd"
fi

python3 - "$W" "$U" "$ROUNDS" "$@" <<'EOF'
import json, os, shutil, signal, socket, statistics, subprocess, sys, time

work, user, rounds, bins = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def accepts(port):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); return True
    except OSError:
        return False
    finally:
        s.close()

def host_keys(status):
    try:
        with open(status) as f:
            return len(json.load(f).get("host_keys", []))
    except (OSError, ValueError):
        return 0

def start(binary, state):
    """Starts binary on a free port; returns ms to accepting, to status.json, and to
    status.json listing both host keys (the RSA key may be created after listening)."""
    port = free_port()
    status = os.path.join(state, "status.json")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "--user", user, "--port", str(port), "--bind", "127.0.0.1",
                          "--state-dir", state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listening = written = complete = None
    try:
        while listening is None or written is None or complete is None:
            now = (time.monotonic() - t0) * 1000
            if now > 30000 or p.poll() is not None:
                raise SystemExit(f"start.sh: {binary} did not start within 30 s (exit {p.poll()})")
            if written is None and os.path.exists(status):
                written = now
            if written is not None and complete is None and host_keys(status) >= 2:
                complete = now
            if listening is None and accepts(port):
                listening = (time.monotonic() - t0) * 1000
            time.sleep(0.0002)
    finally:
        p.send_signal(signal.SIGTERM); p.wait()
    return listening, written, complete

res = {}
for r in range(rounds):
    order = bins[r % len(bins):] + bins[:r % len(bins)]
    for case in ("first", "restart"):
        for i, b in enumerate(order):
            state = os.path.join(work, f"state-{bins.index(b)}")
            if case == "first":
                shutil.rmtree(state, ignore_errors=True)
            times = start(b, state)
            res.setdefault((b, case), []).append(times)
            print(f"round {r+1} {case:8} {b}: listening {times[0]:6.1f} ms, status.json {times[1]:6.1f} ms, "
                  f"with both host keys {times[2]:6.1f} ms", flush=True)

print("\nmedian [min max] in ms over", rounds, "rounds:")
for (b, case), v in res.items():
    for k, name in ((0, "listening"), (1, "status.json"), (2, "both keys")):
        xs = [x[k] for x in v]
        print(f"  {case:8} {name:12} {statistics.median(xs):6.1f} [{min(xs):6.1f} {max(xs):6.1f}]  {b}")
EOF
