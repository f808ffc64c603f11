#!/usr/bin/env bash
# memory-burst.sh — the agent's RSS at rest, at the peak of a burst of work, and in the
# seconds after the burst ends: how fast memory goes back to the system.
#
# Usage (as root, from the repository root):  bench/memory-burst.sh [JOBSSHD_BINARY]
#   default: builds . with CGO_ENABLED=0
# The burst: 30 concurrent `ssh host 'cat > /dev/null'` of 64 MiB each and 30
# `ssh host true` a second later, aes128-gcm.
# Prints the idle RSS 3 s after start, the peak (VmHWM), and VmRSS 0-30 s after the
# burst. Needs: openssh-client, netcat-openbsd, python3.
set -u
W=$(mktemp -d /tmp/burst.XXXX); chmod 755 "$W"; U=work
id $U >/dev/null 2>&1 || useradd -m -s /bin/bash $U
BIN=${1:-}
if [ -z "$BIN" ]; then CGO_ENABLED=0 go build -o "$W/jobsshd" . || exit 1; BIN="$W/jobsshd"; fi
H=$(getent passwd $U | cut -d: -f6)
ssh-keygen -q -t ed25519 -N '' -f "$W/client"
mkdir -p "$H/.ssh"; cat "$W/client.pub" >> "$H/.ssh/authorized_keys"
chown -R $U: "$H/.ssh"; chmod 700 "$H/.ssh"; chmod 600 "$H/.ssh/authorized_keys"
P=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$BIN" --user $U --port "$P" --state-dir "$W/state" >/dev/null 2>"$W/agent.err" & PJ=$!
for i in $(seq 50); do nc -z 127.0.0.1 "$P" 2>/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' /proc/$PJ/status; }
sleep 3; echo "idle 3 s after start: $(rss) MiB"
O=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
   -o BatchMode=yes -o IdentitiesOnly=yes -i "$W/client" -c aes128-gcm@openssh.com -p "$P")
head -c $((64<<20)) /dev/urandom > "$W/up"
pids=()
for i in $(seq 30); do ssh "${O[@]}" $U@127.0.0.1 'cat > /dev/null' < "$W/up" & pids+=($!); done
sleep 1   # the uploads log in first: 60 logins at once could meet the 64-startup bound
for i in $(seq 30); do ssh "${O[@]}" $U@127.0.0.1 true & pids+=($!); done
wait "${pids[@]}"
line="peak $(awk '/VmHWM/{printf "%.1f", $2/1024}' /proc/$PJ/status) MiB; after the burst (MiB):"
prev=0
for t in 0 1 2 3 4 5 6 8 10 15 20 30; do
  sleep $((t - prev)); prev=$t; line="$line t+${t}s $(rss)"
done
echo "$line"
kill $PJ; wait $PJ 2>/dev/null; rm -rf "$W"
