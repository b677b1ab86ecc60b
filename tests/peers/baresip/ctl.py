#!/usr/bin/env python3
"""Tiny client for baresip's ctrl_tcp socket (JSON in netstrings).

  ctl.py <port> <command> [params...]

Sends {"command": ..., "params": ..., "token": ...} and prints the matching
JSON response on one line; exit 0 when baresip says ok, 1 when not, 2 on a
connection problem. Events that arrive before the response are skipped
(or printed to stderr with -v / CTL_VERBOSE=1).

Shortcuts (baresip 1.0 menu commands, any other name is passed through):
  dial <uri>     hangup        accept        hold         resume
  dtmf <digits>  -> sndcode    calls -> listcalls        reg -> reginfo
  help
"""
import json
import os
import socket
import sys
import time

ALIASES = {"dtmf": "sndcode", "calls": "listcalls", "list": "listcalls", "reg": "reginfo"}


def netstring(data: bytes) -> bytes:
    return str(len(data)).encode() + b":" + data + b","


def read_netstrings(sock, buf: bytearray):
    """Yield decoded JSON objects as complete netstrings arrive."""
    while True:
        while True:
            colon = buf.find(b":")
            if colon < 0:
                break
            size = int(buf[:colon])
            end = colon + 1 + size
            if len(buf) < end + 1:
                break
            payload = bytes(buf[colon + 1:end])
            del buf[:end + 1]  # payload and the trailing ','
            yield json.loads(payload)
        chunk = sock.recv(65536)
        if not chunk:
            return
        buf.extend(chunk)


def main(argv):
    verbose = os.environ.get("CTL_VERBOSE") == "1"
    if len(argv) > 1 and argv[1] == "-v":
        verbose = True
        argv = argv[:1] + argv[2:]
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    port = int(argv[1])
    command = ALIASES.get(argv[2], argv[2])
    params = " ".join(argv[3:])
    token = "ctl%d" % int(time.time() * 1000)
    msg = {"command": command, "params": params, "token": token}
    timeout = float(os.environ.get("CTL_TIMEOUT", "5"))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(netstring(json.dumps(msg).encode()))
            for obj in read_netstrings(s, bytearray()):
                if obj.get("response") and obj.get("token") == token:
                    print(json.dumps(obj))
                    return 0 if obj.get("ok") else 1
                if verbose:
                    print("event: " + json.dumps(obj), file=sys.stderr)
    except (OSError, ValueError) as e:
        print("ctl.py: %s" % e, file=sys.stderr)
        return 2
    print("ctl.py: connection closed without a response", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
