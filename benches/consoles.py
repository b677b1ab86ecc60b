#!/usr/bin/env python3
"""N control-only consoles on one box, against one local switchboard.

Starts `tongdai switchboard --agents N` (N generated desk-phone agents,
extensions 20001…) and N `tongdai --headless` consoles, each with its own
config file, home and XDG directories, logged in as its own agent; calls
ring on the desk phone (device 4), so no console has audio. Then prints:

  login time       spawn → control socket says `ready`, for each console
                   started while the others already run (the Nth is the figure)
  memory           per console from /proc/PID/smaps_rollup, 4 s after the
                   last login: PSS (shared pages split between the processes
                   that map them, so the sum counts the shared text once),
                   RSS (also right at each console's login, before it gives
                   back its start-up code), private; thread count; and where
                   console 1's RSS goes, by mapping (/proc/PID/smaps): the
                   binary's code, its read-only data (the relocated part of
                   it is private), heap, other anonymous memory, libraries
  idle CPU         utime+stime of all consoles together over IDLE seconds,
                   as % of one core
  fan-out          SIGUSR1 to the switchboard switches every agent On (then
                   Off): time until each console's control socket delivers
                   its `cs_show_call_status` event, p50 / p99 / max, per round

Usage: benches/consoles.py BIN [N] [IDLE_SECONDS]   (defaults 200 60)
Quick look: benches/consoles.py target/release/tongdai 20 10
"""
import json, os, selectors, shutil, signal, socket, subprocess, sys, tempfile, time

BIN = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
IDLE = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
ROUNDS = 3
TICK = os.sysconf("SC_CLK_TCK")
DEMO_KEY = "tongdai-demo-access-key-not-a-secret"
FIRST = 20001


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1])
    out["Private"] = out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)
    out["Threads"] = len(os.listdir(f"/proc/{pid}/task"))
    return out


def by_mapping(pid):
    """RSS / PSS / private kB of each kind of mapping, from /proc/PID/smaps."""
    exe = os.readlink(f"/proc/{pid}/exe")
    kinds, cur = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if not parts[0].endswith(":"):  # a mapping's header: range perms offset dev inode [path]
                perms, path = parts[1], (parts[5] if len(parts) > 5 else "")
                if path == exe:
                    # The relocated read-only data (RELRO) is written once at
                    # load: its pages are private even though the file backs it.
                    kind = "binary code" if "x" in perms else "binary data" if "w" in perms else "binary rodata"
                elif path == "[heap]":
                    kind = "heap"
                elif path.startswith("[stack"):
                    kind = "stack"
                elif path.startswith("/"):
                    kind = "libraries"
                elif path:
                    kind = "kernel (vdso)"
                else:
                    kind = "other anonymous"
                cur = kinds.setdefault(kind, {"Rss": 0, "Pss": 0, "Private": 0, "Anonymous": 0})
            elif cur is not None and len(parts) >= 2 and parts[1].isdigit():
                key = parts[0][:-1]
                if key in cur:
                    cur[key] += int(parts[1])
                if key in ("Private_Clean", "Private_Dirty"):
                    cur["Private"] += int(parts[1])
    return kinds


def pct(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


class Console:
    def __init__(self, root, i, base):
        self.i = i
        self.ipphone = str(FIRST + i - 1)
        self.dir = os.path.join(root, f"c{i}")
        env = dict(os.environ, LANG="C.UTF-8", TONGDAI_VCC_ACCESS_KEY=DEMO_KEY)
        for var, sub in [("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                         ("XDG_DATA_HOME", "data"), ("XDG_RUNTIME_DIR", "run"), ("HOME", "home")]:
            p = os.path.join(self.dir, sub)
            os.makedirs(p, mode=0o700, exist_ok=True)
            env[var] = p
        for var in ("TONGDAI_BACKEND", "TONGDAI_CONFIG", "TONGDAI_SIP_PASSWORD"):
            env.pop(var, None)
        cfg = os.path.join(self.dir, "config.toml")
        with open(cfg, "w") as f:
            f.write(f'backend = "vcc"\n\n[vcc]\ndomain = "demo"\nipphone = "{self.ipphone}"\n'
                    f'web_base = "{base}"\npush_scheme = "ws"\n')
        self.sock_path = os.path.join(env["XDG_RUNTIME_DIR"], "tongdai", "bench.sock")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([BIN, "--headless", "--config", cfg, "--socket-name", "bench"],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr"), "wb"))
        self.sock = None
        self.buf = b""
        self.next_id = 0

    def request(self, obj):
        self.next_id += 1
        obj = dict(obj, id=self.next_id)
        self.sock.sendall((json.dumps(obj) + "\n").encode())
        while True:
            line = self.line(10.0)
            if line.get("id") == self.next_id:
                return line

    def line(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.001, end - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError(f"console {self.i}: control socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def wait_ready(self, timeout=30.0):
        """Connect, subscribe (the same connection carries the fan-out events), poll status."""
        end = self.t0 + timeout
        while self.sock is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"console {self.i} exited {self.proc.returncode}; see {self.dir}/stderr")
            if os.path.exists(self.sock_path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(self.sock_path)
                    self.sock = s
                except OSError:
                    s.close()
            if time.monotonic() > end:
                raise RuntimeError(f"console {self.i}: no control socket")
            if self.sock is None:
                time.sleep(0.002)
        self.line(10.0)  # hello
        self.request({"cmd": "subscribe", "events": ["cs_show_call_status", "cs_init_complete"]})
        while True:
            st = self.request({"cmd": "status"})["status"]
            if st.get("connection") == "ready":
                self.login = time.monotonic() - self.t0
                self.device = (st.get("device") or {}).get("type")
                self.rss_at_login = rollup(self.proc.pid)["Rss"]
                return
            if time.monotonic() > end:
                raise RuntimeError(f"console {self.i}: not ready: {st}")
            time.sleep(0.002)


def main():
    root = tempfile.mkdtemp(prefix="tongdai-consoles-")
    sb = subprocess.Popen([BIN, "switchboard", "--listen", "127.0.0.1:0", "--agents", str(N)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          env={k: v for k, v in os.environ.items() if k != "TONGDAI_VCC_ACCESS_KEY"})
    base = None
    for line in sb.stdout:
        if "(web_base / api_base):" in line:
            base = line.split("(web_base / api_base):", 1)[1].strip()
            break
    if base is None:
        sys.exit("the switchboard printed no API base")
    consoles = []
    try:
        print(f"{N} headless consoles (desk phone, control only) on {base}; {os.cpu_count()} CPUs")
        for i in range(1, N + 1):
            c = Console(root, i, base)
            c.wait_ready()
            consoles.append(c)
        logins = [c.login * 1000 for c in consoles]
        devices = {str(c.device) for c in consoles}
        print(f"login: console 1 {logins[0]:.1f} ms, console {N} {logins[-1]:.1f} ms, "
              f"p50 {pct(logins, 50):.1f} ms, max {max(logins):.1f} ms; devices {sorted(devices)}")
        # Start-up settles; 2 s after its login each console gives back the
        # pages of the start-up code (src/resident.rs).
        time.sleep(4.0)

        mem = [rollup(c.proc.pid) for c in consoles]
        kb = lambda k: [m.get(k, 0) for m in mem]
        pss, rss, priv, thr = kb("Pss"), kb("Rss"), kb("Private"), kb("Threads")
        print(f"PSS total {sum(pss) / 1024:.1f} MB; per console mean {sum(pss) / N / 1024:.2f} MB, "
              f"max {max(pss) / 1024:.2f} MB")
        print(f"RSS per console mean {sum(rss) / N / 1024:.2f} MB, max {max(rss) / 1024:.2f} MB; "
              f"private mean {sum(priv) / N / 1024:.2f} MB; threads {min(thr)}-{max(thr)}")
        at_login = [c.rss_at_login for c in consoles]
        print(f"RSS per console at login (start-up code still mapped) mean {sum(at_login) / N / 1024:.2f} MB, "
              f"max {max(at_login) / 1024:.2f} MB")
        print("console 1 by mapping (kB):      RSS      PSS  private  of which anonymous")
        for kind, m in sorted(by_mapping(consoles[0].proc.pid).items(), key=lambda kv: -kv[1]["Rss"]):
            print(f"  {kind:<26} {m['Rss']:>8} {m['Pss']:>8} {m['Private']:>8} {m['Anonymous']:>8}")
        sm = rollup(sb.pid)
        print(f"switchboard: RSS {sm['Rss'] / 1024:.1f} MB, PSS {sm['Pss'] / 1024:.1f} MB, "
              f"threads {sm['Threads']}")

        before = [cpu_ticks(c.proc.pid) for c in consoles]
        sb_before = cpu_ticks(sb.pid)
        time.sleep(IDLE)
        after = [cpu_ticks(c.proc.pid) for c in consoles]
        sb_after = cpu_ticks(sb.pid)
        busy = sum(a - b for a, b in zip(after, before)) / TICK
        woke = sum(1 for a, b in zip(after, before) if a != b)
        print(f"idle CPU over {IDLE:.0f} s: all consoles {100 * busy / IDLE:.2f} % of one core "
              f"({busy:.2f} CPU s; {woke} consoles used ≥1 tick); "
              f"switchboard {100 * (sb_after - sb_before) / TICK / IDLE:.2f} %")

        sel = selectors.DefaultSelector()
        for c in consoles:
            c.sock.setblocking(False)
            sel.register(c.sock, selectors.EVENT_READ, c)
        for rnd in range(ROUNDS):
            want = "on" if rnd % 2 == 0 else "off"
            got = {}
            t0 = time.monotonic()
            os.kill(sb.pid, signal.SIGUSR1)
            while len(got) < N and time.monotonic() - t0 < 30:
                for key, _ in sel.select(timeout=1.0):
                    c = key.data
                    now = time.monotonic()
                    try:
                        chunk = c.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    c.buf += chunk
                    while b"\n" in c.buf:
                        line, c.buf = c.buf.split(b"\n", 1)
                        e = json.loads(line)
                        if e.get("event") == "cs_show_call_status" and e.get("status") == want:
                            got.setdefault(c.i, (now - t0) * 1000)
            lat = list(got.values())
            print(f"fan-out round {rnd + 1} (all agents {want}): {len(lat)}/{N} consoles, "
                  f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, max {max(lat):.1f} ms")
            time.sleep(0.5)
    finally:
        for c in consoles:
            if c.proc.poll() is None:
                c.proc.send_signal(signal.SIGTERM)
        for c in consoles:
            try:
                c.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                c.proc.kill()
        sb.send_signal(signal.SIGTERM)
        try:
            sb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sb.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
