#!/usr/bin/env python3
"""Console figures for tongdai, measured on the real binary in a pseudo-terminal.

  start → first frame   time from exec to the first drawn header on the pty
  idle CPU              utime+stime of the process over 30 s with nothing happening
  bytes/s in a call     bytes the console writes to the terminal per second
                        while the call timer runs (ratatui diffs: only changed cells)

Usage: benches/console.py BIN [--seconds N]
Runs three setups: `demo --screen idle` and `demo --screen in-call` (a
scripted engine inside the binary, no network), and plain `tongdai` with no
config (the built-in demo: local switchboard + VCC backend over loopback).
"""
import fcntl, os, pty, select, struct, sys, tempfile, termios, time

BIN = sys.argv[1]
SECONDS = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 30.0
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime, stime are fields 14 and 15 (1-based) of the whole line.
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def spawn(args, env_extra):
    tmp = tempfile.mkdtemp(prefix="tongdai-bench-")
    env = dict(os.environ, XDG_CONFIG_HOME=f"{tmp}/c", XDG_STATE_HOME=f"{tmp}/s",
               TERM="xterm-256color", LANG="C.UTF-8", **env_extra)
    env.pop("NO_COLOR", None)
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.execve(BIN, [BIN] + args, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return pid, fd, t0


def read_for(fd, seconds, until=None):
    """Drain the pty for `seconds` (or until `until` appears); return bytes."""
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        out += chunk
        if until is not None and until in out:
            return out, time.monotonic()
    return out, None


def stop(pid, fd):
    os.write(fd, b"q")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        read_for(fd, 0.05)
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
    os.kill(pid, 9)
    os.waitpid(pid, 0)


def first_frame(args, marker, env_extra=None):
    pid, fd, t0 = spawn(args, env_extra or {})
    _, t = read_for(fd, 20, until=marker)
    return pid, fd, (t - t0) if t else None


def main():
    print(f"binary: {BIN}")
    print(f"terminal: 80x24, TERM=xterm-256color; window {SECONDS:.0f} s\n")

    # 1. start → first frame, three times each, best and median.
    for label, args, marker in [
        ("scripted idle (no network)", ["demo", "--screen", "idle"], "call console".encode()),
        ("built-in demo (switchboard + VCC login over loopback), first frame",
         [], "call console".encode()),
        ("built-in demo, until `connected` is on screen", [], b"connected"),
    ]:
        times = []
        for _ in range(5):
            pid, fd, t = first_frame(args, marker)
            stop(pid, fd)
            if t is not None:
                times.append(t * 1000)
        times.sort()
        if times:
            print(f"start → {label}: median {times[len(times)//2]:.1f} ms, "
                  f"best {times[0]:.1f} ms (n={len(times)})")
        else:
            print(f"start → {label}: marker never seen")

    # 2. idle CPU over the window.
    for label, args, marker in [
        ("scripted idle", ["demo", "--screen", "idle"], b"connected"),
        ("built-in demo idle (console + in-process switchboard)", [], b"connected"),
    ]:
        pid, fd, _ = first_frame(args, marker)
        read_for(fd, 2)
        c0, t0 = cpu_seconds(pid), time.monotonic()
        out, _ = read_for(fd, SECONDS)
        c1, t1 = cpu_seconds(pid), time.monotonic()
        rss = rss_kb(pid)
        stop(pid, fd)
        pct = 100 * (c1 - c0) / (t1 - t0)
        print(f"idle CPU, {label}: {1000*(c1-c0):.0f} ms CPU in {t1-t0:.1f} s = {pct:.3f} % of a core; "
              f"{len(out)} bytes written; RSS {rss/1024:.1f} MB")

    # 3. bytes per second while a call timer runs.
    pid, fd, _ = first_frame(["demo", "--screen", "in-call"], b"In call")
    read_for(fd, 2)
    c0 = cpu_seconds(pid)
    out, _ = read_for(fd, SECONDS)
    c1 = cpu_seconds(pid)
    stop(pid, fd)
    print(f"in a call (timer running): {len(out)} bytes in {SECONDS:.0f} s = "
          f"{len(out)/SECONDS:.1f} B/s to the terminal; CPU {1000*(c1-c0):.0f} ms "
          f"({100*(c1-c0)/SECONDS:.3f} % of a core)")


if __name__ == "__main__":
    main()
