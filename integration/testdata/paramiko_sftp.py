#!/usr/bin/python3
"""paramiko SFTP client driven by the jobsshd integration tests.

Usage: paramiko_sftp.py HOST PORT USER KEYFILE REMOTE_DIR LOCAL_FILE LOCAL_COPY

REMOTE_DIR is relative to where the server starts (the home). The script puts
LOCAL_FILE there, gets it back into LOCAL_COPY, lists, chmods, stats, renames
and removes, and prints one JSON object with what the server answered; the Go
test decides whether that is right. Exits non-zero (with a traceback on stderr)
only when an operation that must succeed fails.
"""

import errno
import json
import stat
import sys

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


def attrs(a):
    return {"mode": a.st_mode, "size": a.st_size, "uid": a.st_uid, "gid": a.st_gid,
            "mtime": a.st_mtime}


def error_of(fn):
    """Run fn, which must fail, and return its errno and message."""
    try:
        fn()
    except IOError as err:
        return {"errno": err.errno, "message": str(err)}
    return None


def main():
    host, port, user, keyfile, remote_dir, local_file, local_copy = sys.argv[1:8]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(host, port=int(port), username=user, pkey=load_key(keyfile),
                   allow_agent=False, look_for_keys=False, timeout=TIMEOUT,
                   banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    sftp = client.open_sftp()
    sftp.get_channel().settimeout(TIMEOUT)
    out = {"start_dir": sftp.normalize(".")}

    sftp.chdir(remote_dir)
    out["put"] = attrs(sftp.put(local_file, "up.bin", confirm=True))
    sftp.get("up.bin", local_copy)
    sftp.mkdir("sub", 0o700)
    out["listdir"] = {a.filename: attrs(a) for a in sftp.listdir_attr(".")}
    sftp.chmod("up.bin", 0o750)
    out["stat_after_chmod"] = attrs(sftp.stat("up.bin"))
    sftp.rename("up.bin", "sub/moved.bin")
    out["stat_after_rename"] = attrs(sftp.stat("sub/moved.bin"))
    out["old_name_after_rename"] = error_of(lambda: sftp.stat("up.bin"))
    sftp.put(local_file, "sub/kept.bin")
    sftp.put(local_file, "gone.bin")
    sftp.remove("gone.bin")
    out["stat_after_remove"] = error_of(lambda: sftp.stat("gone.bin"))
    out["remove_missing"] = error_of(lambda: sftp.remove("missing.bin"))
    out["enoent"] = errno.ENOENT
    out["is_dir_sub"] = stat.S_ISDIR(sftp.stat("sub").st_mode)
    sftp.close()
    client.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
