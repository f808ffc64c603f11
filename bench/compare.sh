#!/usr/bin/env bash
# compare.sh — the same client workloads against jobsshd and OpenSSH's sshd, in one run,
# on loopback, so the figures can be read as ratios (this machine is shared and noisy).
#
# Usage (as root, from the repository root):  bench/compare.sh [SIZE_MB] [CIPHER]
#   SIZE_MB  size of the transfer file (default 512)
#   CIPHER   e.g. aes128-gcm@openssh.com (default: what the client negotiates, chacha20-poly1305)
# Env: JOBSSHD=path to a built binary (default: builds . with CGO_ENABLED=0)
#      ONLY="sftp_download scp_download" to run a subset
#      REPS=N  repetitions (default 3). Each workload runs on both servers back to back,
#              the order alternating between repetitions, so load from elsewhere on this
#              shared machine hits both sides alike; the ratio is taken per repetition.
#
# Prints one line per workload, server and repetition:  workload server value unit  server_cpu_s
# and a final table of jobsshd/OpenSSH ratios: the median over the repetitions, with the
# lowest and highest (throughput: >1 is better; latency, cpu, rss: <1 is better).
# Needs: openssh-server, openssh-client, socat, netcat-openbsd (apt-get install them).
set -u
SIZE_MB=${1:-512}; CIPHER=${2:-}; REPS=${REPS:-3}
W=$(mktemp -d /tmp/cmp.XXXX); chmod 755 "$W"; U=work   # the served user re-executes the binary for sftp/scp
id $U >/dev/null 2>&1 || useradd -m -s /bin/bash $U
usermod -p '*' $U   # OpenSSH refuses accounts whose password field is locked with '!'
HOMEDIR=$(getent passwd $U | cut -d: -f6)
if [ -z "${JOBSSHD:-}" ]; then CGO_ENABLED=0 go build -o "$W/jobsshd" . || exit 1; JOBSSHD="$W/jobsshd"; fi

ssh-keygen -q -t ed25519 -N '' -f "$W/client"; ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
mkdir -p "$HOMEDIR/.ssh"; cat "$W/client.pub" >> "$HOMEDIR/.ssh/authorized_keys"
chown -R $U: "$HOMEDIR/.ssh"; chmod 700 "$HOMEDIR/.ssh"; chmod 600 "$HOMEDIR/.ssh/authorized_keys"
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

P_OSSH=$(freeport)
cat > "$W/sshd_config" <<EOF
Port $P_OSSH
ListenAddress 127.0.0.1
HostKey $W/hostkey
PidFile $W/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
mkdir -p /run/sshd
# Each server runs in its own cpuacct cgroup, so its CPU time includes every child it spawns
# (OpenSSH's per-connection processes are not all reaped into the listener's own counters).
CG=/sys/fs/cgroup/cpuacct
incg() { local g=$CG/cmp-$$-$1; shift; mkdir -p "$g" 2>/dev/null; exec sh -c 'echo $$ > "$0/cgroup.procs" 2>/dev/null; exec "$@"' "$g" "$@"; }
incg openssh /usr/sbin/sshd -D -f "$W/sshd_config" -E "$W/sshd.log" & PID_OSSH=$!

P_JOB=$(freeport)
incg jobsshd "$JOBSSHD" --user $U --port $P_JOB --state-dir "$W/state" >"$W/jobsshd.out" 2>"$W/jobsshd.err" & PID_JOB=$!
for i in $(seq 100); do nc -z 127.0.0.1 $P_OSSH 2>/dev/null && nc -z 127.0.0.1 $P_JOB 2>/dev/null && break; sleep 0.1; done

O=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes -i "$W/client")
[ -n "$CIPHER" ] && O+=(-c "$CIPHER")
# One source file per size, written aside and renamed: runs of other sizes at the same time
# (the machine is shared) must not truncate the file under a transfer.
SRC="$HOMEDIR/bench-${SIZE_MB}M.src"
[ -f "$SRC" ] && [ "$(stat -c %s "$SRC")" -eq $((SIZE_MB*1048576)) ] || { head -c $((SIZE_MB*1048576)) /dev/urandom > "$SRC.$$" && mv "$SRC.$$" "$SRC"; }
chown $U: "$SRC"

cpu() { # seconds of CPU used by the server with pid $1 and all its children
  local g; g=$(awk -F: '$2 ~ /cpuacct/ {print $3}' /proc/$1/cgroup 2>/dev/null)
  if [ -n "$g" ] && [ -r "$CG$g/cpuacct.usage" ] && [[ "$g" == */cmp-$$-* ]]; then awk '{print $1/1e9}' "$CG$g/cpuacct.usage"
  else awk '{print ($14+$15+$16+$17)/100}' /proc/$1/stat; fi; }
now() { date +%s.%N; }
want() { [ "$1" = "$CUR" ]; }
RES="$W/results"; : > "$RES"
report() { # name server value unit cpu
  printf '%-22s %-8s %10.1f %-5s cpu %.2fs  (rep %s)\n' "$1" "$2" "$3" "$4" "$5" "$REP"; echo "$1 $2 $3 $4 $5 $REP" >> "$RES"; }

run_one() { # server port pid
  local S=$1 P=$2 PID=$3 H=$U@127.0.0.1 s e c0 c1
  if want ssh_true_latency; then
    c0=$(cpu $PID); s=$(now); for i in $(seq 20); do ssh "${O[@]}" -p $P $H true; done; e=$(now); c1=$(cpu $PID)
    report ssh_true_latency $S "$(awk -v s=$s -v e=$e 'BEGIN{print (e-s)/20*1000}')" ms "$(awk -v a=$c0 -v b=$c1 'BEGIN{print b-a}')"
  fi
  if want ssh_true_latency_c25519; then   # the same key exchange on both servers
    c0=$(cpu $PID); s=$(now); for i in $(seq 20); do ssh "${O[@]}" -o KexAlgorithms=curve25519-sha256 -p $P $H true; done; e=$(now); c1=$(cpu $PID)
    report ssh_true_latency_c25519 $S "$(awk -v s=$s -v e=$e 'BEGIN{print (e-s)/20*1000}')" ms "$(awk -v a=$c0 -v b=$c1 'BEGIN{print b-a}')"
  fi
  xfer() { # name command...
    local n=$1; shift; want $n || return 0
    c0=$(cpu $PID); s=$(now); "$@" >/dev/null 2>&1; local rc=$?; e=$(now); sleep 1; c1=$(cpu $PID)   # the pause lets the server reap its children
    if [ $rc -ne 0 ]; then echo "$n $S FAILED (exit $rc)"; return; fi
    report $n $S "$(awk -v s=$s -v e=$e -v mb=$SIZE_MB 'BEGIN{print mb/(e-s)}')" MB/s "$(awk -v a=$c0 -v b=$c1 'BEGIN{print b-a}')"
  }
  xfer exec_download sh -c "ssh ${O[*]} -p $P $H 'cat $SRC' > /dev/null"
  xfer exec_upload sh -c "ssh ${O[*]} -p $P $H 'cat > /dev/null' < $SRC"
  xfer sftp_download sh -c "echo 'get $SRC /dev/null' | sftp ${O[*]} -P $P -b - $H"
  xfer sftp_upload sh -c "echo 'put $SRC /tmp/cmp_up_$S' | sftp ${O[*]} -P $P -b - $H"; rm -f /tmp/cmp_up_$S
  xfer scp_download scp "${O[@]}" -P $P $H:$SRC /tmp/cmp_scp_$S; rm -f /tmp/cmp_scp_$S
  xfer scp_legacy_upload scp -O "${O[@]}" -P $P $SRC $H:/tmp/cmp_scpl_$S; rm -f /tmp/cmp_scpl_$S
  if want forward_L; then
    local LP SP FW NC; LP=$(freeport); SP=$(freeport)
    socat -u TCP-LISTEN:$SP,bind=127.0.0.1,reuseaddr,fork OPEN:/dev/null & NC=$!
    ssh "${O[@]}" -p $P -N -L $LP:127.0.0.1:$SP $H & FW=$!
    for i in $(seq 50); do nc -z 127.0.0.1 $LP 2>/dev/null && break; sleep 0.1; done
    xfer forward_L sh -c "nc -N 127.0.0.1 $LP < $SRC"
    kill $FW $NC 2>/dev/null; wait $FW $NC 2>/dev/null
  fi
  if want rss_10_sessions; then
    local pids=() kb=0 p
    for i in $(seq 10); do ssh "${O[@]}" -p $P $H 'sleep 8' & pids+=($!); done; sleep 4
    for p in $PID $(pgrep -P $PID) $(for c in $(pgrep -P $PID); do pgrep -P $c; done); do
      case "$(cat /proc/$p/comm 2>/dev/null)" in sleep|bash|sh) continue;; esac
      kb=$((kb + $(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0)))
    done
    report rss_10_sessions $S $((kb/1024)) MB 0
    wait "${pids[@]}" 2>/dev/null
  fi
}

ALL="ssh_true_latency ssh_true_latency_c25519 exec_download exec_upload sftp_download sftp_upload scp_download scp_legacy_upload forward_L rss_10_sessions"
for REP in $(seq $REPS); do
  for CUR in $ALL; do
    [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $CUR "* ]] || continue
    if [ $((REP % 2)) -eq 1 ]; then run_one openssh $P_OSSH $PID_OSSH; run_one jobsshd $P_JOB $PID_JOB
    else run_one jobsshd $P_JOB $PID_JOB; run_one openssh $P_OSSH $PID_OSSH; fi
  done
done
kill $PID_OSSH $PID_JOB 2>/dev/null; wait $PID_OSSH $PID_JOB 2>/dev/null

echo; echo "ratios jobsshd / openssh, median of $REPS [min max] (throughput >1 better; latency, cpu, rss <1 better):"
awk '{v[$1" "$2" "$6]=$3; c[$1" "$2" "$6]=$5; n[$1]=1; r[$6]=1}
     function med(a, k,   i, j, t, m) { m = 0; for (i in a) m++
       for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
       return m == 0 ? "" : (m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2) }
     END{for (k in n) { delete vr; delete cr; nv = 0; nc = 0
           for (p in r) { o = k" openssh "p; j = k" jobsshd "p
             if ((o in v) && (j in v) && v[o] > 0) { vr[++nv] = v[j] / v[o] }
             if ((o in c) && (j in c) && c[o] > 0) { cr[++nc] = c[j] / c[o] } }
           if (nv == 0) continue
           lo = vr[1]; hi = vr[1]; for (i = 1; i <= nv; i++) { if (vr[i] < lo) lo = vr[i]; if (vr[i] > hi) hi = vr[i] }
           mv = med(vr); mc = nc ? sprintf("%.2f", med(cr)) : "-"
           printf "  %-22s value %.2f [%.2f %.2f]   server-cpu %s\n", k, mv, lo, hi, mc } }' "$RES" | sort
rm -rf "$W"; rmdir $CG/cmp-$$-* 2>/dev/null
