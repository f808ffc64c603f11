#!/usr/bin/env bash
# sftp-subsystems.sh — the SFTP servers side by side under one OpenSSH sshd: the same
# sshd binary and configuration, started once per transfer with only the `Subsystem sftp`
# program differing, and the same OpenSSH sftp client:
#
#   pkgsftp   github.com/pkg/sftp v1.13.12's sftp.NewServer (bench/pkgsftp, its own module)
#   jobsshd   `jobsshd sftp-server` (sftpd), built from this checkout
#   openssh   OpenSSH's own /usr/lib/openssh/sftp-server
#
# Each round downloads (get to /dev/null) and uploads (put) one file of SIZE_MB MiB per
# server; the servers take turns, in an order that rotates from round to round, so load
# from elsewhere on a shared machine hits all three alike. Prints per round MB/s (MiB
# per second, including the sftp login, as BENCHMARKS.md's other sections) and the CPU
# seconds (user + system) of the subsystem process, which GNU time measures (the same
# /usr/bin/time wrapper around each program); then the median with the lowest and
# highest per server and direction. On a shared machine the CPU seconds vary less than
# the rates.
#
# Usage (as root, from anywhere):
#   bench/sftp-subsystems.sh [SIZE_MB] [ROUNDS]        defaults: 512 3
# Needs openssh-server, openssh-client and time (apt-get install them).
# Env: CIPHER (default aes128-gcm@openssh.com); BENCH_USER, the account logged in to
#      (default sftpbench, created if missing and left in place, its password field set
#      to '*' and the script's client key in its authorized_keys).
set -euo pipefail
SIZE_MB=${1:-512}
ROUNDS=${2:-3}
CIPHER=${CIPHER:-aes128-gcm@openssh.com}
U=${BENCH_USER:-sftpbench}
REPO=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "sftp-subsystems.sh: run as root (it starts sshd and logs in as $U)" >&2
  exit 1
fi
for f in /usr/sbin/sshd /usr/lib/openssh/sftp-server /usr/bin/time; do
  [ -x "$f" ] || { echo "sftp-subsystems.sh: $f is missing: apt-get install openssh-server time" >&2; exit 1; }
done
command -v sftp >/dev/null || { echo "sftp-subsystems.sh: sftp is missing: apt-get install openssh-client" >&2; exit 1; }
command -v python3 >/dev/null || { echo "sftp-subsystems.sh: python3 is missing (it picks a free port): apt-get install python3" >&2; exit 1; }

W=$(mktemp -d /tmp/sftp-subsystems.XXXXXX)
chmod 755 "$W"   # the served account executes the subsystem programs from here
SSHD_PID=
cleanup() {
  if [ -n "$SSHD_PID" ]; then kill "$SSHD_PID" 2>/dev/null || true; wait "$SSHD_PID" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT

echo "building jobsshd and bench/pkgsftp" >&2
(cd "$REPO" && CGO_ENABLED=0 go build -o "$W/jobsshd" .)
(cd "$REPO/bench/pkgsftp" && CGO_ENABLED=0 go build -o "$W/pkgsftp" .)

id "$U" >/dev/null 2>&1 || useradd -m -s /bin/sh "$U"
usermod -p '*' "$U"   # OpenSSH refuses a login whose password field is locked with '!'
HOMEDIR=$(getent passwd "$U" | cut -d: -f6)

ssh-keygen -q -t ed25519 -N '' -f "$W/client"
ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
mkdir -p "$HOMEDIR/.ssh"
cp "$W/client.pub" "$HOMEDIR/.ssh/authorized_keys"
chown -R "$U:" "$HOMEDIR/.ssh"
chmod 700 "$HOMEDIR/.ssh"
chmod 600 "$HOMEDIR/.ssh/authorized_keys"
mkdir "$W/cpu"
chown "$U:" "$W/cpu"   # where the subsystem's /usr/bin/time appends its CPU seconds

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$W/sshd_config" <<CONFIG
Port $PORT
ListenAddress 127.0.0.1
HostKey $W/hostkey
PidFile $W/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
CONFIG
mkdir -p /run/sshd   # sshd's privilege separation directory

declare -A PROGRAM=(
  [pkgsftp]="$W/pkgsftp"
  [jobsshd]="$W/jobsshd sftp-server"
  [openssh]=/usr/lib/openssh/sftp-server
)
SERVERS=(pkgsftp jobsshd openssh)

# start_sshd NAME: sshd in the foreground, its one varying line on the command line.
start_sshd() {
  /usr/sbin/sshd -D -f "$W/sshd_config" -E "$W/sshd.log" \
    -o "Subsystem=sftp /usr/bin/time -a -o $W/cpu/times -f %U+%S ${PROGRAM[$1]}" &
  SSHD_PID=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "sftp-subsystems.sh: sshd did not listen on port $PORT; its log:" >&2
  cat "$W/sshd.log" >&2
  exit 1
}
stop_sshd() {
  kill "$SSHD_PID"
  wait "$SSHD_PID" 2>/dev/null || true
  SSHD_PID=
}

SRC="$HOMEDIR/sftp-subsystems.src"
DST="$HOMEDIR/sftp-subsystems.dst"
head -c $((SIZE_MB * 1048576)) /dev/urandom > "$SRC"
chown "$U:" "$SRC"

OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes -i "$W/client"
  -c "$CIPHER" -P "$PORT")

# transfer DIRECTION: one sftp batch; prints MB/s and the subsystem's CPU seconds.
transfer() {
  local cmd s e cpu
  case $1 in
    get) cmd="get $SRC /dev/null" ;;
    put) cmd="put $SRC $DST" ;;
  esac
  s=$(date +%s.%N)
  if ! echo "$cmd" | sftp "${OPTS[@]}" -b - "$U@127.0.0.1" >"$W/sftp.out" 2>&1; then
    echo "sftp-subsystems.sh: sftp $cmd failed:" >&2
    cat "$W/sftp.out" "$W/sshd.log" >&2
    exit 1
  fi
  e=$(date +%s.%N)
  for _ in $(seq 50); do [ -s "$W/cpu/times" ] && break; sleep 0.1; done   # written at its exit
  cpu=$(tail -n 1 "$W/cpu/times" | awk -F+ '{ printf "%.2f", $1 + $2 }')
  rm -f "$W/cpu/times"
  if [ "$1" = put ]; then
    [ "$(stat -c %s "$DST")" -eq $((SIZE_MB * 1048576)) ] || { echo "sftp-subsystems.sh: put wrote a short file" >&2; exit 1; }
    rm -f "$DST"
  fi
  awk -v s="$s" -v e="$e" -v mb="$SIZE_MB" -v cpu="$cpu" 'BEGIN { printf "%.1f %s\n", mb / (e - s), cpu }'
}

echo "$SIZE_MB MiB, $CIPHER, $ROUNDS rounds, sshd $(ssh -V 2>&1)"
RES="$W/results"
: > "$RES"
for round in $(seq "$ROUNDS"); do
  for i in 0 1 2; do
    name=${SERVERS[$(((i + round - 1) % 3))]}
    start_sshd "$name"
    for dir in get put; do
      read -r mbs cpu < <(transfer "$dir")
      printf 'round %d  %-8s %s %8s MB/s  cpu %5s s\n' "$round" "$name" "$dir" "$mbs" "$cpu"
      echo "$name $dir $mbs $cpu" >> "$RES"
    done
    stop_sshd
  done
done
rm -f "$SRC"

echo
# median COLUMN DECIMALS NAME DIR: "median [lowest highest]" of one column of the results.
median() {
  awk -v c="$1" -v n="$3" -v d="$4" '$1 == n && $2 == d { print $c }' "$RES" | sort -n |
    awk -v p="$2" '{ v[NR] = $1 }
      END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            f = "%." p "f"; printf f " [" f " " f "]", m, v[1], v[NR] }'
}
echo "median [lowest highest] over $ROUNDS rounds:"
for dir in get put; do
  for name in "${SERVERS[@]}"; do
    printf '  %s %-8s %7s MB/s   cpu %s s\n' "$dir" "$name" "$(median 3 1 "$name" "$dir")" "$(median 4 2 "$name" "$dir")"
  done
done
