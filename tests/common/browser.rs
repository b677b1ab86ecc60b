//! The WebRTC reference peer: JsSIP in headless Chromium
//! (tests/browser/phone.mjs), registered at Kamailio over WebSocket, in a
//! private network namespace (Chromium offers no loopback ICE candidates).
//!
//! How the tongdai side gets into the namespace: the test re-executes its
//! own binary (`std::env::current_exe()`) under `ip netns exec <ns>` with
//! [`CHILD_ENV`] set to the namespace's address prefix, which selects the
//! named child test. A separate process is simpler and more robust than
//! `setns` on a thread (every tokio worker, the blocking pool and every
//! child process, the `tongdai` binary included, is in the namespace with
//! no care about which thread spawned what). The child starts Kamailio and
//! the browser phone itself (they are then inside too). The parent makes the
//! namespace and tears it down (killing whatever still runs inside) in a
//! Drop guard, even on failure.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc as smpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::repo;

/// Set (to the namespace's address prefix) in the child process.
pub const CHILD_ENV: &str = "TONGDAI_WEBRTC_CHILD";
/// The usual wait for a step of a call.
pub const T: Duration = Duration::from_secs(15);

fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Why this machine cannot run the browser tests, if it cannot.
pub fn missing() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces need root)".into());
    }
    for p in ["ip", "chromium", "node", "kamailio", "sox"] {
        if !have(p) {
            return Some(format!("`{p}` is not installed (tests/browser/install.sh)"));
        }
    }
    let b = repo().join("tests/browser");
    if !b.join("node_modules").exists() || !b.join("jssip.bundle.js").exists() {
        let ok = Command::new(b.join("install.sh"))
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            return Some("tests/browser/install.sh failed".into());
        }
    }
    None
}

/// The namespace; `netns.sh down` (kills everything inside) on drop.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("tests/browser/netns.sh"))
            .args(["down", &self.0])
            .status();
    }
}

/// The parent's side: unless this process is already the child, make a
/// private namespace and run the test `child_test` of this same binary
/// inside it; panics when it fails. Skips (with the reason) when the
/// machine cannot, and fails instead under `CI=true`.
pub fn run_child_in_netns(child_test: &str) {
    if std::env::var_os(CHILD_ENV).is_some() {
        return; // we are the child: only the child test runs
    }
    if let Some(why) = missing() {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
            panic!("cannot run the WebRTC test under CI: {why}");
        }
        eprintln!("SKIP {child_test}: {why}");
        return;
    }
    // Two tests of one binary run in one process: a namespace (and a
    // /24) per child test, from the pid and the test's name.
    let salt: u32 = child_test.bytes().map(u32::from).sum();
    let n = (std::process::id() + salt) % 200 + 20;
    let ns = format!("tdw{n}");
    let prefix = format!("10.78.{n}");
    let guard = Netns(ns.clone());
    let up = Command::new(repo().join("tests/browser/netns.sh"))
        .args(["up", &ns, &prefix])
        .status()
        .expect("netns.sh");
    assert!(up.success(), "netns.sh up failed");
    let exe = std::env::current_exe().expect("current_exe");
    let status = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(exe)
        .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &prefix)
        .status()
        .expect("run the child under ip netns exec");
    drop(guard);
    assert!(
        status.success(),
        "the tongdai side inside the namespace failed"
    );
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The browser phone: JSON lines in, JSON lines out.
pub struct Phone {
    /// Held so the phone is killed when the test ends (Drop).
    _proc: Proc,
    stdin: ChildStdin,
    pub events: smpsc::Receiver<Value>,
    pub pid: u32,
}

impl Phone {
    pub fn start(args: &[String]) -> Phone {
        let mut child = Command::new("node")
            .arg(repo().join("tests/browser/phone.mjs"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn phone.mjs");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let pid = child.id();
        let (tx, rx) = smpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        Phone {
            _proc: Proc(child),
            stdin,
            events: rx,
            pid,
        }
    }

    /// `user` at Kamailio `kam_ip` (port 8080), its fake microphone playing
    /// `wav` (looped by Chromium); returns once registered.
    pub fn registered(kam_ip: &str, user: &str, password: &str, wav: &Path) -> Phone {
        let debug: &[String] = if std::env::var_os("PHONE_DEBUG").is_some() {
            &["--emit-sdp".to_string()]
        } else {
            &[]
        };
        let mut phone = Phone::start(
            &[
                &[
                    "--ws".into(),
                    format!("ws://{kam_ip}:8080"),
                    "--uri".into(),
                    format!("sip:{user}@{kam_ip}"),
                    "--password".into(),
                    password.into(),
                    "--wav".into(),
                    wav.display().to_string(),
                ][..],
                debug,
            ]
            .concat(),
        );
        let ready = phone.expect("ready", Duration::from_secs(30));
        eprintln!("phone ready: {ready}");
        phone.expect("registered", T);
        phone
    }

    pub fn send(&mut self, cmd: Value) {
        writeln!(self.stdin, "{cmd}").expect("write to phone");
    }

    /// Wait for an event by name (others are logged and skipped).
    pub fn expect(&mut self, name: &str, timeout: Duration) -> Value {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) if v["event"] == name => return v,
                Ok(v) => eprintln!("phone: {v}"),
                Err(_) => panic!("phone: no `{name}` within {timeout:?}"),
            }
        }
    }

    pub fn stats(&mut self) -> Value {
        self.send(json!({"cmd": "stats"}));
        self.expect("stats", T)
    }

    /// The browser hears a `hz` tone, packets flowing.
    pub fn check_hears(&mut self, hz: f64, what: &str) -> Value {
        let s = self.stats();
        eprintln!("browser stats ({what}): {s}");
        let got = s["toneHz"].as_f64().unwrap_or(0.0);
        let db = s["toneDb"].as_f64().unwrap_or(-200.0);
        assert!(
            (got - hz).abs() <= 30.0 && db > -60.0,
            "{what}: the browser hears {got} Hz at {db} dB, expected {hz} Hz"
        );
        assert!(
            s["packetsReceived"].as_u64().unwrap_or(0) >= 40,
            "{what}: {s}"
        );
        s
    }

    pub fn quit(mut self) {
        self.send(json!({"cmd": "quit"}));
        let _ = self.events.recv_timeout(Duration::from_secs(3));
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        // What the phone said last, for a failure's diagnosis.
        while let Ok(v) = self.events.try_recv() {
            eprintln!("phone (unread): {v}");
        }
    }
}

pub fn wait_tcp(addr: &str, timeout: Duration) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {addr}");
}

/// A 10 s mono 48 kHz tone at half scale.
pub fn sox_tone(path: &Path, hz: u32) {
    let ok = Command::new("sox")
        .args(["-n", "-r", "48000", "-c", "1", "-b", "16"])
        .arg(path)
        .args(["synth", "10", "sine", &hz.to_string(), "vol", "0.5"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "sox could not make the tone");
}

/// Kamailio on `kam_ip` (WS on 8080, UDP on 5060): registrar and proxy
/// with digest auth for `alice:alicepw` and `bob:bobpw`; its files and log
/// in `dir`. Returns once the WebSocket port listens.
pub fn kamailio(kam_ip: &str, dir: &Path) -> Proc {
    let kam = Proc(
        Command::new("kamailio")
            .arg("-f")
            .arg(repo().join("tests/browser/kamailio-ws.cfg"))
            .args(["-DD", "-E", "-A", "WITH_AUTH", "-Y"])
            .arg(dir)
            .arg("-P")
            .arg(dir.join("kam.pid"))
            .env("KAM_IP", kam_ip)
            .env("KAM_WS", "8080")
            .env("KAM_UDP", "5060")
            .env("KAM_CTL", format!("unix:{}", dir.join("ctl").display()))
            .env("KAM_USERS", "alice:alicepw,bob:bobpw")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("kamailio.log")).expect("log"))
            .spawn()
            .expect("kamailio"),
    );
    wait_tcp(&format!("{kam_ip}:8080"), Duration::from_secs(10));
    kam
}
