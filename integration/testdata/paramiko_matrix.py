#!/usr/bin/python3
"""paramiko client for the jobsshd client matrix (integration/client_matrix_test.go).

Usage: paramiko_matrix.py HOST PORT USER KEYFILE KNOWN_HOSTS COMMAND LOCAL_UP REMOTE_UP REMOTE_DOWN LOCAL_DOWN

Logs in with KEYFILE, accepting only the host keys in KNOWN_HOSTS (RejectPolicy), runs
COMMAND, uploads LOCAL_UP to REMOTE_UP and downloads REMOTE_DOWN to LOCAL_DOWN over
SFTP, then prints {"stdout": ..., "exit_status": ...} as JSON. The Go test checks the
results; this script exits non-zero (traceback on stderr) only when a step fails.
"""

import json
import sys

try:
    import paramiko
except ImportError as err:  # the Go side turns this into a test failure
    sys.stderr.write("paramiko is not importable by %s: %s (apt-get install python3-paramiko)\n"
                     % (sys.executable, err))
    sys.exit(3)

TIMEOUT = 30.0  # every blocking step is bounded; the Go side bounds the whole run too


def main(host, port, user, key, known_hosts, command, local_up, remote_up, remote_down, local_down):
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host, port=int(port), username=user, key_filename=key,
                   allow_agent=False, look_for_keys=False, timeout=TIMEOUT,
                   banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    try:
        _, stdout, _ = client.exec_command(command, timeout=TIMEOUT)
        out = stdout.read().decode()
        status = stdout.channel.recv_exit_status()
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(TIMEOUT)
        sftp.put(local_up, remote_up)
        sftp.get(remote_down, local_down)
        sftp.close()
    finally:
        client.close()
    print(json.dumps({"stdout": out, "exit_status": status}))


if __name__ == "__main__":
    main(*sys.argv[1:])
