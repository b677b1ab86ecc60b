#!/usr/bin/env python3
"""Memory of a call (README "Footprint"): two headless plain-SIP consoles, no
registrar, call each other directly over loopback: A (1001) calls B (1002),
B answers; `[audio] device = "file"` (a 440 Hz microphone, looped; what each
hears is recorded), one codec. Prints each console's RSS from
/proc/PID/smaps_rollup idle (after start-up gave its code back), at its peak
during the call (sampled every 0.2 s), and 1 s after the call.

Usage: benches/call_rss.py BIN [CODEC] [CALL_SECONDS]   (defaults opus 10)
  benches/call_rss.py target/release/tongdai opus 10
"""
import json, math, os, shutil, socket, struct, subprocess, sys, tempfile, time, wave

BIN = os.path.abspath(sys.argv[1])
CODEC = sys.argv[2] if len(sys.argv) > 2 else "opus"
SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
USERS = {"a": "1001", "b": "1002"}


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1])
    return out


class Console:
    def __init__(self, root, name, port, peer_port, mic):
        d = os.path.join(root, name)
        rec = os.path.join(d, "rec")
        os.makedirs(rec)
        self.env = dict(os.environ, LANG="C.UTF-8")
        for var, sub in [("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                         ("XDG_DATA_HOME", "data"), ("XDG_RUNTIME_DIR", "run"), ("HOME", "home")]:
            p = os.path.join(d, sub)
            os.makedirs(p, mode=0o700, exist_ok=True)
            self.env[var] = p
        for var in ("TONGDAI_BACKEND", "TONGDAI_CONFIG", "TONGDAI_SIP_PASSWORD"):
            self.env.pop(var, None)
        self.cfg = os.path.join(d, "config.toml")
        with open(self.cfg, "w") as f:
            f.write(f'backend = "sip"\n[audio]\ndevice = "file"\nmic_wav = "{mic}"\nrecord_dir = "{rec}"\n'
                    f'[sip]\nuser = "{USERS[name]}"\nserver = "127.0.0.1:{peer_port}"\nregister = false\n'
                    f'bind = "127.0.0.1:{port}"\ncodecs = ["{CODEC}"]\n')
        self.name = name
        self.proc = subprocess.Popen([BIN, "--headless", "--config", self.cfg, "--socket-name", "c"],
                                     env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(d, "stderr"), "wb"))

    def ctl(self, *args):
        r = subprocess.run([BIN, "--config", self.cfg, "--socket-name", "c", "ctl", *args],
                           env=self.env, capture_output=True, text=True, timeout=10)
        if r.returncode != 0 and args[0] != "--json":
            sys.exit(f"{self.name}: ctl {' '.join(args)}: {r.stderr}")
        return r

    def status(self):
        try:
            v = json.loads(self.ctl("--json", "status").stdout)
        except ValueError:
            return {}
        return v.get("status", v)

    def wait(self, what, pred, timeout=20.0):
        end = time.monotonic() + timeout
        s = {}
        while time.monotonic() < end:
            s = self.status()
            if pred(s):
                return s
            time.sleep(0.05)
        sys.exit(f"{self.name}: no {what} within {timeout} s; last status {s}")

    def rss(self):
        return rollup(self.proc.pid)["Rss"]


def main():
    root = tempfile.mkdtemp(prefix="tongdai-call-rss-")
    mic = os.path.join(root, "mic.wav")
    with wave.open(mic, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 16000)))
                               for i in range(16000)))
    pa, pb = free_port(), free_port()
    a = Console(root, "a", pa, pb, mic)
    b = Console(root, "b", pb, pa, mic)
    try:
        for c in (a, b):
            c.wait("ready", lambda s: s.get("connection") == "ready")
        time.sleep(3.0)  # start-up gives its code back 2 s after login
        idle = {c.name: c.rss() for c in (a, b)}
        a.ctl("call", USERS["b"])
        b.wait("ringing", lambda s: (s.get("call") or {}).get("phase") == "ringing")
        b.ctl("answer")
        a.wait("connected", lambda s: (s.get("call") or {}).get("phase") == "connected")
        peak = {c.name: 0 for c in (a, b)}
        end = time.monotonic() + SECS
        while time.monotonic() < end:
            for c in (a, b):
                peak[c.name] = max(peak[c.name], c.rss())
            time.sleep(0.2)
        quality = a.status().get("quality")
        a.ctl("end")
        a.wait("the end", lambda s: s.get("call") is None)
        time.sleep(1.0)
        for c in (a, b):
            print(f"{CODEC} call, console {c.name}: RSS idle {idle[c.name] / 1024:.1f} MB, "
                  f"peak during {SECS:.0f} s of call {peak[c.name] / 1024:.1f} MB, "
                  f"1 s after {c.rss() / 1024:.1f} MB")
        print(f"call quality seen by a: {quality}")
    finally:
        for c in (a, b):
            c.proc.terminate()
            c.proc.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
