#!/usr/bin/python3
"""paramiko client driven by the jobsshd integration tests.

Usage: paramiko_client.py HOST PORT USER KEYFILE SCENARIO [ARG...]

Prints one JSON object on stdout describing what the server did; the Go test
decides whether that is right. Exits non-zero (with a traceback on stderr)
only when the client itself could not do its part.
"""

import base64
import json
import socket
import sys
import time

try:
    import paramiko
    from paramiko.common import (
        MSG_CHANNEL_CLOSE,
        MSG_CHANNEL_EOF,
        MSG_CHANNEL_REQUEST,
    )
except ImportError as err:  # the Go side turns this into a test failure
    sys.stderr.write("paramiko is not importable by %s: %s (apt-get install python3-paramiko)\n"
                     % (sys.executable, err))
    sys.exit(3)

TIMEOUT = 20.0  # every blocking step is bounded; the Go side bounds the whole run too


def record_channel_events():
    """Record on each channel the order of EOF, exit-status, exit-signal and close.

    paramiko 2.x ignores exit-signal (RFC 4254 6.10) entirely, so without this a
    killed command looks like recv_exit_status() == -1 with no reason.
    """
    table = paramiko.Transport._channel_handler_table
    orig_request = table[MSG_CHANNEL_REQUEST]
    orig_eof = table[MSG_CHANNEL_EOF]
    orig_close = table[MSG_CHANNEL_CLOSE]

    def events(chan):
        if not hasattr(chan, "jobsshd_events"):
            chan.jobsshd_events = []
        return chan.jobsshd_events

    def on_request(chan, m):
        pos = m.packet.tell()
        key = m.get_text()
        if key == "exit-signal":
            m.get_boolean()  # want-reply, always false
            chan.jobsshd_exit_signal = {
                "name": m.get_text(),
                "core_dumped": m.get_boolean(),
                "message": m.get_text(),
            }
            events(chan).append("exit-signal")
            chan.status_event.set()
            return
        if key == "exit-status":
            events(chan).append("exit-status")
        m.packet.seek(pos)
        orig_request(chan, m)

    def on_eof(chan, m):
        events(chan).append("eof")
        orig_eof(chan, m)

    def on_close(chan, m):
        events(chan).append("close")
        orig_close(chan, m)

    table[MSG_CHANNEL_REQUEST] = on_request
    table[MSG_CHANNEL_EOF] = on_eof
    table[MSG_CHANNEL_CLOSE] = on_close


def load_key(path):
    errors = []
    for cls in (paramiko.Ed25519Key, paramiko.RSAKey, paramiko.ECDSAKey):
        try:
            return cls.from_private_key_file(path)
        except Exception as err:  # try the next type
            errors.append("%s: %s" % (cls.__name__, err))
    raise SystemExit("cannot load key %s: %s" % (path, "; ".join(errors)))


def connect(host, port, user, keyfile):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(host, port=port, username=user, pkey=load_key(keyfile),
                   allow_agent=False, look_for_keys=False, timeout=TIMEOUT,
                   banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    return client


def read_all(chan):
    """Read stdout and stderr until EOF (or close), bounded by TIMEOUT."""
    out, err = bytearray(), bytearray()
    deadline = time.monotonic() + TIMEOUT
    while True:
        if chan.recv_ready():
            out += chan.recv(65536)
        elif chan.recv_stderr_ready():
            err += chan.recv_stderr(65536)
        elif chan.eof_received or chan.closed:
            # Data that raced with the EOF check is buffered before EOF is flagged.
            if not (chan.recv_ready() or chan.recv_stderr_ready()):
                return bytes(out), bytes(err)
        elif time.monotonic() > deadline:
            raise SystemExit("no EOF within %ss; stdout so far %r" % (TIMEOUT, bytes(out)))
        else:
            time.sleep(0.005)


def read_until(chan, needle, limit=TIMEOUT):
    """Read the channel until needle appears; return everything read."""
    buf = bytearray()
    deadline = time.monotonic() + limit
    chan.settimeout(0.2)
    while needle not in buf:
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for %r; got %r" % (needle, bytes(buf)))
        try:
            data = chan.recv(65536)
        except socket.timeout:
            continue
        if not data:
            raise SystemExit("channel closed before %r; got %r" % (needle, bytes(buf)))
        buf += data
    return bytes(buf)


def finish(chan, out, err, extra=None):
    if not chan.status_event.wait(TIMEOUT):
        raise SystemExit("no exit-status or close within %ss" % TIMEOUT)
    # Let a close that follows exit-status arrive so the event order is complete.
    deadline = time.monotonic() + TIMEOUT
    while not chan.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    result = {
        "stdout_b64": base64.b64encode(out).decode(),
        "stderr_b64": base64.b64encode(err).decode(),
        "exit_status": chan.exit_status,
        "exit_signal": getattr(chan, "jobsshd_exit_signal", None),
        "events": getattr(chan, "jobsshd_events", []),
    }
    result.update(extra or {})
    return result


def scenario_exec(client, command, pty="no"):
    chan = client.get_transport().open_session(timeout=TIMEOUT)
    if pty == "pty":
        chan.get_pty(term="xterm", width=80, height=24)
    chan.exec_command(command)
    if pty != "pty":
        chan.shutdown_write()  # a pty session keeps stdin open, as ssh -t does
    out, err = read_all(chan)
    return finish(chan, out, err)


def scenario_env(client, command):
    chan = client.get_transport().open_session(timeout=TIMEOUT)
    # paramiko sends env requests without want-reply: the command's output tells.
    chan.update_environment({"LANG": "C.UTF-8", "LC_TIME": "C.UTF-8",
                             "JOBSSHD_IT_NOT_ACCEPTED": "leaked"})
    chan.exec_command(command)
    chan.shutdown_write()
    out, err = read_all(chan)
    return finish(chan, out, err)


def scenario_signal(client, name):
    """Send an RFC 4254 6.9 "signal" request (paramiko has no API for it)."""
    chan = client.get_transport().open_session(timeout=TIMEOUT)
    chan.exec_command("trap 'echo got-%s; exit 0' %s; echo ready; "
                      "while :; do sleep 0.05; done" % (name, name))
    before = read_until(chan, b"ready")
    m = paramiko.Message()
    m.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    m.add_int(chan.remote_chanid)
    m.add_string("signal")
    m.add_boolean(False)
    m.add_string(name)
    chan.transport._send_user_message(m)
    out, err = read_all(chan)
    return finish(chan, before + out, err)


def scenario_pty_size(client):
    chan = client.get_transport().open_session(timeout=TIMEOUT)
    chan.get_pty(term="xterm", width=101, height=37)
    chan.exec_command("stty size")
    out, err = read_all(chan)
    return finish(chan, out, err)


def scenario_pty_resize(client):
    chan = client.get_transport().open_session(timeout=TIMEOUT)
    chan.get_pty(term="xterm", width=80, height=24)
    chan.exec_command(
        "trap 'echo resized=$(stty size); exit 0' WINCH; "
        "echo ready=$(stty size); while :; do sleep 0.05; done")
    before = read_until(chan, b"ready=24 80")
    chan.resize_pty(width=120, height=50)
    after = read_until(chan, b"resized=")
    out, err = read_all(chan)
    return finish(chan, before + after + out, err)


def scenario_shell(client):
    chan = client.get_transport().open_session(timeout=TIMEOUT)
    chan.get_pty(term="xterm", width=80, height=24)
    chan.invoke_shell()
    chan.sendall(b"echo hi-$((40+2))\n")
    got = read_until(chan, b"hi-42")
    chan.sendall(b"exit\n")
    out, err = read_all(chan)
    return finish(chan, got + out, err)


def scenario_auth_none(host, port, user):
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = TIMEOUT
    try:
        transport.start_client(timeout=TIMEOUT)
        try:
            transport.auth_none(user)
        except paramiko.BadAuthenticationType as err:
            return {"allowed_types": list(err.allowed_types), "authenticated": False}
        return {"allowed_types": None, "authenticated": transport.is_authenticated()}
    finally:
        transport.close()


def main():
    if len(sys.argv) < 6:
        raise SystemExit(__doc__)
    host, port, user, keyfile, scenario = sys.argv[1:6]
    args = sys.argv[6:]
    port = int(port)
    record_channel_events()
    if scenario == "auth-none":
        result = scenario_auth_none(host, port, user)
    else:
        client = connect(host, port, user, keyfile)
        try:
            if scenario == "exec":
                result = scenario_exec(client, *args)
            elif scenario == "env":
                result = scenario_env(client, *args)
            elif scenario == "signal":
                result = scenario_signal(client, *args)
            elif scenario == "pty-size":
                result = scenario_pty_size(client)
            elif scenario == "pty-resize":
                result = scenario_pty_resize(client)
            elif scenario == "shell":
                result = scenario_shell(client)
            else:
                raise SystemExit("unknown scenario %r" % scenario)
        finally:
            client.close()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
