#!/bin/sh
# entrypoint.sh: run a job's main command, with jobsshd beside it when JOBSSHD_ENABLE=1.
#
#   entrypoint.sh COMMAND [ARGS...]
#
# Variables read here (every other JOBSSHD_* setting -- JOBSSHD_PORT, JOBSSHD_USER,
# JOBSSHD_JOB_SECRET, ... -- is read by jobsshd itself from the environment it inherits;
# nothing is put on its command line, which every process in the container can read):
#   JOBSSHD_ENABLE=1    start jobsshd before COMMAND (default: do not)
#   JOBSSHD_REQUIRED=1  when jobsshd does not start, exit 1 without running COMMAND
#                       (default: log the failure to stderr and run COMMAND anyway)
#   JOBSSHD_BIN         the jobsshd binary (default: jobsshd on PATH)
#
# The exit status is COMMAND's, or 128+N when COMMAND died of signal N. SIGTERM, SIGINT
# and SIGHUP are forwarded to COMMAND; one that comes before COMMAND starts stops
# jobsshd and exits 128+N without running COMMAND. jobsshd gets SIGTERM when COMMAND has
# ended, and SIGKILL if it is still running STOP_TIMEOUT seconds later. JOBSSHD_STATE_DIR
# (or jobsshd's default) tells where to look for its status.json.
#
# As PID 1 this script reaps the orphans the kernel hands it: dash and busybox sh wait for
# any child (wait3/waitpid(-1)) whenever they wait, so every exited orphan is collected
# while the script sits in `wait` for COMMAND or jobsshd (or for a short command
# substitution); it is outside a wait only for a few builtins at a time.
#
# POSIX sh; tested under dash and busybox sh (integration/entrypoint_test.go).

START_TIMEOUT=10 # seconds for jobsshd to write status.json (key generation included)
STOP_TIMEOUT=10  # seconds for jobsshd to exit after SIGTERM (it gives sessions 5)

log() { printf 'entrypoint: %s\n' "$*" >&2; }

main_pid=
jobsshd_pid=
jobsshd_start=
caught=       # set by the trap, so wait_child can tell an interrupted wait
pending_name= # a signal that came before COMMAND started
pending_num=

on_signal() { # NAME NUMBER
	caught=$2
	if [ -n "$main_pid" ]; then
		kill -s "$1" "$main_pid" 2>/dev/null || :
	else
		pending_name=$1
		pending_num=$2
	fi
}
trap 'on_signal TERM 15' TERM
trap 'on_signal INT 2' INT
trap 'on_signal HUP 1' HUP
# USR1, USR2 and QUIT too: preemption and checkpoint handlers of training jobs listen
# for them, and as PID 1 a signal nobody traps is dropped.
trap 'on_signal USR1 10' USR1
trap 'on_signal USR2 12' USR2
trap 'on_signal QUIT 3' QUIT

# wait_child PID [interruptible] sets rc to the exit status of the child PID. A trapped
# signal makes `wait` return at once with 128+N while the child still runs (POSIX), so
# wait again unless the child is gone (then wait did collect it, just as the signal
# came). With "interruptible", a signal before COMMAND started ends the wait: it fails.
wait_child() {
	while :; do
		caught=
		wait "$1"
		rc=$?
		[ -n "$caught" ] || return 0
		kill -0 "$1" 2>/dev/null || return 0
		[ -z "${2:-}" ] || [ -z "$pending_name" ] || return 1
	done
}

# nap sleeps about 0.1 s and adds the tenths it slept to $ticks; a sleep without
# fractions (some minimal images) sleeps 1 s.
nap() {
	if sleep 0.1 2>/dev/null; then
		ticks=$((ticks + 1))
	else
		sleep 1
		ticks=$((ticks + 10))
	fi
}

# start_time PID prints when process PID started (field 22 of /proc/PID/stat); with the
# pid it names one process, even after the pid has been reused.
start_time() {
	read -r s <"/proc/$1/stat" || return 1
	set -- ${s##*) } # the fields after "pid (comm) "; field 3, the state, is $1
	printf '%s\n' "${20}"
} 2>/dev/null

# gone PID START succeeds when process PID, which started at START (start_time; empty
# without /proc), has exited: collected, a zombie this shell has not collected yet (kill
# -0 succeeds on one), or its pid taken by another process since.
gone() {
	kill -0 "$1" 2>/dev/null || return 0
	read -r s <"/proc/$1/stat" 2>/dev/null || return 1 # no /proc: kill -0 is all there is
	set -- "$2" ${s##*) } # START, then the fields from 3 (the state) on: field N is $((N-1))
	case $2 in
	Z | X) return 0 ;;
	esac
	[ -n "$1" ] && [ "${21}" != "$1" ]
}

# state_dir prints the directory where jobsshd writes status.json, chosen as jobsshd
# chooses it (README: --state-dir).
state_dir() {
	if [ -n "${JOBSSHD_STATE_DIR:-}" ]; then
		printf '%s\n' "$JOBSSHD_STATE_DIR"
	elif [ "$(id -u)" = 0 ]; then
		printf '%s\n' /var/lib/jobsshd
	elif [ -n "${XDG_STATE_HOME:-}" ]; then
		printf '%s\n' "$XDG_STATE_HOME/jobsshd"
	else
		printf '%s\n' "${HOME:-.}/.local/state/jobsshd"
	fi
}

# kill_after PID, run in the background: SIGKILL PID unless it exits within STOP_TIMEOUT.
kill_after() {
	ticks=0
	while [ "$ticks" -lt $((STOP_TIMEOUT * 10)) ]; do
		kill -0 "$1" 2>/dev/null || exit 0
		nap
	done
	log "jobsshd (pid $1) still runs ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
	kill -KILL "$1" 2>/dev/null || :
}

# start_jobsshd starts jobsshd in the background and waits until it listens; it fails
# (with the reason on stderr) when jobsshd exits first or takes too long, and returns 2
# at once on a signal (the container is being stopped).
start_jobsshd() {
	bin=${JOBSSHD_BIN:-jobsshd}
	if ! command -v "$bin" >/dev/null 2>&1; then
		log "jobsshd not started: $bin not found (install it as /usr/local/bin/jobsshd, mode 0755, or set JOBSSHD_BIN)"
		return 1
	fi
	status=$(state_dir)/status.json
	# A status.json left by an earlier run (a state directory kept so that host keys
	# survive) would say "listening" before this jobsshd does; pids repeat in a fresh PID
	# namespace, so the pid in it proves nothing. jobsshd removes it too.
	rm -f "$status"
	"$bin" &
	jobsshd_pid=$!
	jobsshd_start=$(start_time "$jobsshd_pid") # empty without /proc
	# status --wait --pid ends when this jobsshd listens, when it exits first (at once,
	# not after the timeout: JOBSSHD_REQUIRED=1 stops the container that much sooner), or
	# after START_TIMEOUT; the reason it was not ready goes to stderr. --listening: the
	# job needs neither the RSA host key a new state directory gets after listening nor
	# id_container. It runs in the background so that this shell stays in `wait`, which
	# collects jobsshd (and orphans) the moment they exit.
	"$bin" status --wait --listening --pid "$jobsshd_pid" --timeout "${START_TIMEOUT}s" >/dev/null &
	poller=$!
	if ! wait_child "$poller" interruptible; then
		kill "$poller" 2>/dev/null || :
		wait_child "$poller"
		return 2
	fi
	if [ "$rc" = 0 ]; then
		log "jobsshd is listening (pid $jobsshd_pid, $status)"
		return 0
	fi
	status_rc=$rc
	if gone "$jobsshd_pid" "$jobsshd_start"; then
		wait_child "$jobsshd_pid"
		jobsshd_pid=
		log "jobsshd exited with status $rc before listening; its error is above"
	elif [ "$status_rc" = 1 ]; then
		log "jobsshd (pid $jobsshd_pid) did not write $status within ${START_TIMEOUT}s"
	else
		log "jobsshd status exited with status $status_rc (its error is above): is $bin older than this entrypoint.sh?"
	fi
	return 1
}

# stop_jobsshd stops the jobsshd this script started and collects it.
stop_jobsshd() {
	[ -n "$jobsshd_pid" ] || return 0
	# A jobsshd that died during the job was collected then, and its pid may belong to
	# another process by now: signal it only while it is the same process.
	if [ -n "$jobsshd_start" ] && [ "$(start_time "$jobsshd_pid")" != "$jobsshd_start" ]; then
		wait_child "$jobsshd_pid"
		log "jobsshd had exited with status $rc while the job ran"
	elif kill -TERM "$jobsshd_pid" 2>/dev/null; then
		kill_after "$jobsshd_pid" &
		watchdog=$!
		wait_child "$jobsshd_pid"
		jobsshd_rc=$rc
		wait_child "$watchdog" # notices within 0.1 s that jobsshd is gone
		[ "$jobsshd_rc" = 0 ] || log "jobsshd exited with status $jobsshd_rc"
	else
		wait_child "$jobsshd_pid"
		log "jobsshd had exited with status $rc while the job ran"
	fi
	jobsshd_pid=
}

# start_main COMMAND [ARGS...] starts the job in the background; main_pid is its pid.
start_main() {
	# POSIX starts a background command with SIGINT and SIGQUIT ignored (no job control
	# in scripts), and no program can catch a signal ignored at exec (Python then has no
	# KeyboardInterrupt). coreutils' env --default-signal undoes that; busybox env cannot,
	# hence the absolute paths. Without it SIGINT is still forwarded, and ignored.
	for env in env /usr/bin/env /bin/env; do
		if "$env" --default-signal=INT,QUIT true >/dev/null 2>&1; then
			set -- "$env" --default-signal=INT,QUIT "$@"
			break
		fi
	done
	# A background command's stdin is /dev/null (POSIX) unless redirected from a saved
	# copy; the job keeps ours (docker run -i). fd 9 is used because jobs rarely inherit it.
	if { command exec 9<&0; } 2>/dev/null; then
		(
			unset JOBSSHD_JOB_SECRET # only jobsshd needs the secret, not the job
			exec "$@"
		) 0<&9 9<&- &
		main_pid=$!
		exec 9<&-
	else
		(
			unset JOBSSHD_JOB_SECRET
			exec "$@"
		) &
		main_pid=$!
	fi
}

if [ $# -eq 0 ]; then
	log "usage: entrypoint.sh COMMAND [ARGS...] (give the job's main command)"
	exit 2
fi

case ${JOBSSHD_ENABLE:-} in
1)
	start_jobsshd
	case $? in
	0 | 2) ;; # 2: a signal, handled below
	*)
		if [ "${JOBSSHD_REQUIRED:-}" = 1 ]; then
			stop_jobsshd
			log "JOBSSHD_REQUIRED=1: not running the job"
			exit 1
		fi
		log "running the job without SSH access (JOBSSHD_REQUIRED=1 would stop here)"
		;;
	esac
	;;
'' | 0) ;;
*) log "JOBSSHD_ENABLE=$JOBSSHD_ENABLE is not 1: jobsshd not started" ;;
esac

if [ -n "$pending_name" ]; then
	log "got SIG$pending_name before the job started; not running it"
	stop_jobsshd
	exit $((128 + pending_num))
fi
start_main "$@"
# A signal between the check above and main_pid being set was only recorded: pass it on.
[ -z "$pending_name" ] || kill -s "$pending_name" "$main_pid" 2>/dev/null || :
wait_child "$main_pid"
main_rc=$rc
main_pid=
stop_jobsshd
exit "$main_rc"
