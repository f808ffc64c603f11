#!/usr/bin/env bash
# upload-profile.sh — where jobsshd's CPU goes while it receives one upload, in the
# categories that BENCHMARKS.md ("issue 14, uploads and -L") reasons with: the cipher,
# x/crypto/ssh's copies, our copy loop's writes, the collector, the runtime's sysmon.
#
# Usage (as root, from the project root):  bench/upload-profile.sh [WORKLOAD] [SIZE_MB]
#   WORKLOAD: exec_upload (default), sftp_upload, scp_legacy_upload or forward_L
# Env: JOBSSHD=path to a built binary (default: builds .); CIPHER (default aes128-gcm@openssh.com)
# Needs: perf (linux-perf), openssh-client, socat, netcat-openbsd.
#
# It samples the agent and its children with `perf record -g` for the length of one
# transfer and sorts every sample by the first frame of its stack that names a category
# (see classify below), per process name: "jobsshd" is the agent, "exe" or "jobsshd" again
# for the transfer child of sftp and scp, which re-executes the binary.
set -u
WL=${1:-exec_upload}; SIZE_MB=${2:-512}; CIPHER=${CIPHER:-aes128-gcm@openssh.com}
W=$(mktemp -d /tmp/uprof.XXXX); chmod 755 "$W"; U=work
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
id $U >/dev/null 2>&1 || useradd -m -s /bin/bash $U
HOMEDIR=$(getent passwd $U | cut -d: -f6)
if [ -z "${JOBSSHD:-}" ]; then CGO_ENABLED=0 go build -o "$W/jobsshd" . || exit 1; JOBSSHD="$W/jobsshd"; fi
ssh-keygen -q -t ed25519 -N '' -f "$W/client"
mkdir -p "$HOMEDIR/.ssh"; cat "$W/client.pub" >> "$HOMEDIR/.ssh/authorized_keys"
chown -R $U: "$HOMEDIR/.ssh"; chmod 700 "$HOMEDIR/.ssh"; chmod 600 "$HOMEDIR/.ssh/authorized_keys"
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
SRC="$HOMEDIR/bench-${SIZE_MB}M.src"   # the same source file as compare.sh
[ -f "$SRC" ] && [ "$(stat -c %s "$SRC")" -eq $((SIZE_MB*1048576)) ] || { head -c $((SIZE_MB*1048576)) /dev/urandom > "$SRC.$$" && mv "$SRC.$$" "$SRC"; }
chown $U: "$SRC"
P=$(freeport)
"$JOBSSHD" --user $U --port "$P" --state-dir "$W/state" >"$W/jobsshd.log" 2>&1 & PID=$!
for _ in $(seq 100); do nc -z 127.0.0.1 "$P" 2>/dev/null && break; sleep 0.1; done
O=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes -i "$W/client" -c "$CIPHER")
H=$U@127.0.0.1
case $WL in
  exec_upload) run() { ssh "${O[@]}" -p "$P" $H 'cat > /dev/null' < "$SRC"; } ;;
  sftp_upload) run() { echo "put $SRC /tmp/uprof_$$" | sftp "${O[@]}" -P "$P" -b - $H; rm -f /tmp/uprof_$$; } ;;
  scp_legacy_upload) run() { scp -O "${O[@]}" -P "$P" "$SRC" $H:/tmp/uprof_$$; rm -f /tmp/uprof_$$; } ;;
  forward_L)
    LP=$(freeport); SP=$(freeport)
    socat -u TCP-LISTEN:$SP,bind=127.0.0.1,reuseaddr,fork OPEN:/dev/null &
    ssh "${O[@]}" -p "$P" -N -L "$LP:127.0.0.1:$SP" $H &
    for _ in $(seq 50); do nc -z 127.0.0.1 "$LP" 2>/dev/null && break; sleep 0.1; done
    run() { nc -N 127.0.0.1 "$LP" < "$SRC"; } ;;
  *) echo "unknown workload $WL (exec_upload, sftp_upload, scp_legacy_upload, forward_L)" >&2; exit 2 ;;
esac
run >/dev/null   # a first transfer warms the page cache and the agent's pools
perf record -q -g --inherit -p $PID -o "$W/perf.data" >/dev/null 2>&1 & PR=$!
sleep 0.3; s=$(date +%s.%N); run >/dev/null; e=$(date +%s.%N)
kill -INT $PR; wait $PR
echo "$WL, $SIZE_MB MiB, $CIPHER: $(awk -v s="$s" -v e="$e" -v m="$SIZE_MB" 'BEGIN{printf "%.0f MB/s", m/(e-s)}')"
# classify: the first matching rule wins; a sample's stack is its leaf frame first.
perf script -i "$W/perf.data" -F comm,ip,sym 2>/dev/null | awk '
BEGIN { RS = "" }
{
  n = split($0, L, "\n"); split(L[1], h, " "); comm = h[1]; st = $0
  split(L[2], a, " "); leaf = a[2]; split(L[3], b, " "); caller = b[2]
  c = "other"
  if (st ~ /runtime\.sysmon/) c = "Go runtime: sysmon wakeups"
  else if (st ~ /gcmAesDec|aes.*[Dd]ecrypt|xorKeyStream|chacha|poly1305/ && st !~ /writePacket/) c = "decryption"
  else if (st ~ /adjustWindow/) c = "x/crypto: window adjusts"
  else if (st ~ /gcBgMarkWorker|bgsweep|bgscavenge|gcStart|mallocgc/) c = "GC and allocation"
  else if (leaf ~ /memmove/ && caller ~ /transport\)\.readPacket$/) c = "x/crypto: copy of each decrypted packet"
  else if (leaf ~ /memmove/ && st ~ /ReadExtended/) c = "x/crypto: channel buffer -> copy loop buffer"
  else if (leaf ~ /memmove/ && st ~ /bufio/) c = "bufio copies of the transport reads"
  else if (st ~ /syscall\.(write|pwrite)|poll\.\(\*FD\)\.(Write|Pwrite)|rawio\.writeFD/) c = "write(2), pwrite(2): socket, pipe or file"
  else if (st ~ /syscall\.(read|pread)|poll\.\(\*FD\)\.(Read|Pread)|rawio\.ReadFD/) c = "read(2), pread(2)"
  else if (st ~ /netpoll|findRunnable|park_m|stopm/) c = "Go scheduler, netpoll"
  cnt[comm SUBSEP c]++; tot[comm]++
}
END {
  for (k in cnt) { split(k, p, SUBSEP); printf "%-16s %5.1f%%  %s\n", p[1], 100 * cnt[k] / tot[p[1]], p[2] | "sort -k1,1 -k2,2rn" }
  close("sort -k1,1 -k2,2rn")
  for (c in tot) printf "%-16s %d samples\n", c, tot[c]
}'
