#!/usr/bin/python3
"""paramiko direct-tcpip client driven by the jobsshd integration tests.

Usage: paramiko_forward.py HOST PORT USER KEYFILE TARGET_HOST TARGET_PORT SIZE

Opens a "direct-tcpip" channel to TARGET_HOST:TARGET_PORT (an echo server), sends
SIZE random bytes, shuts its side down and reads until EOF; then opens one to port 1
on TARGET_HOST, where nothing listens. Prints one JSON object describing what came back; the Go test decides whether
that is right. Exits non-zero (with a traceback on stderr) only when the client
itself could not do its part.
"""

import hashlib
import json
import os
import sys
import time

try:
    import paramiko
except ImportError as err:  # the Go side turns this into a test failure
    sys.stderr.write("paramiko is not importable by %s: %s (apt-get install python3-paramiko)\n"
                     % (sys.executable, err))
    sys.exit(3)

TIMEOUT = 20.0  # every blocking step is bounded; the Go side bounds the whole run too


def load_key(path):
    errors = []
    for cls in (paramiko.Ed25519Key, paramiko.RSAKey, paramiko.ECDSAKey):
        try:
            return cls.from_private_key_file(path)
        except Exception as err:  # try the next type
            errors.append("%s: %s" % (cls.__name__, err))
    raise SystemExit("cannot load key %s: %s" % (path, "; ".join(errors)))


def echo(transport, host, port, size):
    """Round-trips size random bytes through an echo server behind direct-tcpip."""
    data = os.urandom(size)
    chan = transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0),
                                  timeout=TIMEOUT)
    chan.settimeout(TIMEOUT)
    chan.sendall(data)
    chan.shutdown_write()  # EOF: the echo server answers everything, then closes
    got = bytearray()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        chunk = chan.recv(65536)
        if not chunk:
            break
        got += chunk
    chan.close()
    return {"sent": size, "received": len(got),
            "match": hashlib.sha256(bytes(got)).hexdigest() == hashlib.sha256(data).hexdigest()}


def refused(transport, host):
    """Opens direct-tcpip to port 1, where nothing listens, and reports the refusal."""
    try:
        chan = transport.open_channel("direct-tcpip", (host, 1), ("127.0.0.1", 0), timeout=TIMEOUT)
    except paramiko.ChannelException as err:
        return {"code": err.code, "text": err.text}
    chan.close()
    return None


def main():
    host, port, user, keyfile, target_host, target_port, size = sys.argv[1:8]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(host, port=int(port), username=user, pkey=load_key(keyfile),
                   allow_agent=False, look_for_keys=False, timeout=TIMEOUT,
                   banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    transport = client.get_transport()
    result = {"echo": echo(transport, target_host, int(target_port), int(size)),
              "refused": refused(transport, target_host)}
    client.close()
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
