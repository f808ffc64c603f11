#!/usr/bin/python3
"""asyncssh client for the jobsshd client matrix (integration/client_matrix_test.go).

Usage: asyncssh_matrix.py HOST PORT USER KEYFILE KNOWN_HOSTS COMMAND LOCAL_UP REMOTE_UP REMOTE_DOWN LOCAL_DOWN

Logs in with KEYFILE, checking the host key against KNOWN_HOSTS (OpenSSH format), runs
COMMAND, uploads LOCAL_UP to REMOTE_UP and downloads REMOTE_DOWN to LOCAL_DOWN over
SFTP, then prints {"stdout": ..., "exit_status": ...} as JSON. The Go test checks the
results; this script exits non-zero (traceback on stderr) only when a step fails.
"""

import asyncio
import json
import sys

try:
    import asyncssh
except ImportError as err:  # the Go side turns this into a test failure
    sys.stderr.write("asyncssh is not importable by %s: %s (apt-get install python3-asyncssh)\n"
                     % (sys.executable, err))
    sys.exit(3)

TIMEOUT = 30.0  # every step is bounded; the Go side bounds the whole run too


async def main(host, port, user, key, known_hosts, command, local_up, remote_up, remote_down, local_down):
    async with asyncssh.connect(host, port=int(port), username=user, client_keys=[key],
                                known_hosts=known_hosts, agent_path=None,
                                config=None, connect_timeout=TIMEOUT) as conn:
        res = await asyncio.wait_for(conn.run(command, check=False), TIMEOUT)
        async with conn.start_sftp_client() as sftp:
            await asyncio.wait_for(sftp.put(local_up, remote_up), TIMEOUT)
            await asyncio.wait_for(sftp.get(remote_down, local_down), TIMEOUT)
    print(json.dumps({"stdout": res.stdout, "exit_status": res.exit_status}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
