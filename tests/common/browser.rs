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
use std::path::{Path, PathBuf};
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
        // SIGTERM first: Kamailio's main process then stops its workers
        // (SIGKILL would leave them holding the ports).
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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
        Phone::registered_at(
            &format!("ws://{kam_ip}:8080"),
            kam_ip,
            user,
            password,
            wav,
            &[],
        )
    }

    /// `user@domain` registered through the WebSocket URL `ws` (`ws://` or
    /// `wss://`); `extra`: more phone.mjs arguments (`--pc-config`,
    /// `--chromium-arg`).
    pub fn registered_at(
        ws: &str,
        domain: &str,
        user: &str,
        password: &str,
        wav: &Path,
        extra: &[String],
    ) -> Phone {
        let debug: &[String] = if std::env::var_os("PHONE_DEBUG").is_some() {
            &["--emit-sdp".to_string()]
        } else {
            &[]
        };
        let mut phone = Phone::start(
            &[
                &[
                    "--ws".into(),
                    ws.to_string(),
                    "--uri".into(),
                    format!("sip:{user}@{domain}"),
                    "--password".into(),
                    password.into(),
                    "--wav".into(),
                    wav.display().to_string(),
                ][..],
                debug,
                extra,
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
    kamailio_with(kam_ip, dir, None)
}

/// The port of [`kamailio_with`]'s wss:// listener.
pub const WSS_PORT: u16 = 8443;

/// [`kamailio`], plus wss:// on [`WSS_PORT`] when `tls_cfg` names the tls
/// module's file (certificate and key; see [`super::pki`]).
pub fn kamailio_with(kam_ip: &str, dir: &Path, tls_cfg: Option<&Path>) -> Proc {
    let mut cmd = Command::new("kamailio");
    cmd.arg("-f")
        .arg(repo().join("tests/browser/kamailio-ws.cfg"))
        .args(["-DD", "-E", "-A", "WITH_AUTH", "-Y"])
        .arg(dir)
        .arg("-P")
        .arg(dir.join("kam.pid"))
        .env("KAM_IP", kam_ip)
        .env("KAM_WS", "8080")
        .env("KAM_UDP", "5060")
        .env("KAM_CTL", format!("unix:{}", dir.join("ctl").display()))
        .env("KAM_USERS", "alice:alicepw,bob:bobpw");
    if let Some(cfg) = tls_cfg {
        cmd.args(["-A", "WITH_TLS"])
            .env("KAM_WSS", WSS_PORT.to_string())
            .env("KAM_TLS_CFG", cfg);
    }
    let kam = Proc(
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("kamailio.log")).expect("log"))
            .spawn()
            .expect("kamailio"),
    );
    wait_tcp(&format!("{kam_ip}:8080"), Duration::from_secs(10));
    if tls_cfg.is_some() {
        wait_tcp(&format!("{kam_ip}:{WSS_PORT}"), Duration::from_secs(10));
    }
    kam
}

/// The call-<n>-heard.wav files in `dir`.
pub fn recordings(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("call-") && n.ends_with("-heard.wav"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The one new recording since `before`, once its WAV is closed and holds
/// at least `secs` of audio at `rate`.
pub fn new_recording(dir: &Path, before: &[PathBuf], secs: f64, rate: u32) -> Vec<i16> {
    let end = Instant::now() + T;
    let mut last = String::new();
    while Instant::now() < end {
        let new: Vec<PathBuf> = recordings(dir)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        if let [p] = &new[..] {
            match tongdai::media::device::read_wav(p, rate) {
                Ok(x) if x.len() as f64 >= secs * f64::from(rate) => return x,
                Ok(x) => last = format!("{}: {} samples", p.display(), x.len()),
                Err(e) => last = e.to_string(),
            }
        } else {
            last = format!("new recordings: {new:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no recording of {secs} s in {}: {last}", dir.display());
}

/// We heard the browser's `hz` tone: the best 500 ms window of the
/// recording's last 2 s is that tone, and pure (a loaded machine may cut
/// the audio now and then, so no single window is demanded).
pub fn check_we_hear(x: &[i16], rate: u32, hz: f64, what: &str) {
    let tail = &x[x.len().saturating_sub(2 * rate as usize)..];
    let win = rate as usize / 2;
    let best = tail
        .chunks(win / 2)
        .enumerate()
        .filter_map(|(i, _)| tail.get(i * win / 2..i * win / 2 + win))
        .map(|w| tongdai::media::tone::detect_tone(w, rate, 200.0, 2000.0))
        .max_by(|a, b| a.purity.total_cmp(&b.purity));
    let Some(d) = best else {
        panic!("{what}: recording too short ({} samples)", x.len());
    };
    eprintln!(
        "tongdai hears {:.0} Hz, purity {:.2} ({what})",
        d.freq, d.purity
    );
    assert!(
        (d.freq - hz).abs() < 15.0 && d.purity > 0.5,
        "{what}: strongest tone {} Hz (purity {:.2}), expected {hz} Hz",
        d.freq,
        d.purity
    );
}

/// The console's call phase in a `status` answer.
pub fn call_phase(s: &Value) -> Option<&str> {
    s["call"]["phase"].as_str()
}

/// Two calls between the console `td` (SIP user `bob`, its file microphone
/// at 1000 Hz, what it hears recorded in `rec`) and the browser `phone`
/// (`alice`, speaking 440 Hz), both registered at `kam_ip`: first the console
/// calls, then the browser does. Each call carries audio both ways, checked
/// by tone after `listen` of talk; `how` names the path in the messages.
pub fn calls_both_ways(
    td: &super::bin::BinConsole,
    phone: &mut Phone,
    kam_ip: &str,
    rec: &Path,
    listen: Duration,
    how: &str,
) {
    const RATE: u32 = 48_000;
    // The console logs where each call's first audio waited (webrtc_media's
    // timeline); shown per call, as figures.
    let first_audio = |seen: &mut usize, show: bool| {
        let log = td.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("WebRTC first audio"))
            .collect();
        for l in lines.iter().skip(*seen).filter(|_| show) {
            let l = l.split_once("WebRTC ").map_or(*l, |(_, t)| t);
            println!("FIGURE webrtc{how}: {l}");
        }
        *seen = lines.len();
    };
    let mut seen = 0;
    first_audio(&mut seen, false);
    // 1. The console calls the browser.
    let what = format!("tongdai called{how}");
    let before = recordings(rec);
    let t0 = Instant::now();
    let r = td.request(json!({"cmd": "call", "number": format!("sip:alice@{kam_ip}")}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("incoming", T);
    eprintln!("call → the browser rings: {:?}", t0.elapsed());
    phone.send(json!({"cmd": "answer"}));
    phone.expect("confirmed", T);
    td.wait_status("connected (we called)", T, |s| {
        call_phase(s) == Some("connected")
    });
    std::thread::sleep(listen);
    phone.check_hears(1000.0, &what);
    let r = td.request(json!({"cmd": "end"}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("ended", T);
    td.wait_status("idle", T, |s| s["call"].is_null());
    check_we_hear(&new_recording(rec, &before, 2.0, RATE), RATE, 440.0, &what);
    eprintln!("ok: {what}: audio both ways");
    first_audio(&mut seen, true);

    // 2. The browser calls the console.
    let what = format!("the browser called{how}");
    let before = recordings(rec);
    phone.send(json!({"cmd": "call", "target": format!("sip:bob@{kam_ip}")}));
    td.wait_status("ringing (the browser calls)", T, |s| {
        call_phase(s) == Some("ringing") && s["call"]["direction"] == "inbound"
    });
    let r = td.request(json!({"cmd": "answer"}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("confirmed", T);
    td.wait_status("connected (the browser called)", T, |s| {
        call_phase(s) == Some("connected")
    });
    std::thread::sleep(listen);
    phone.check_hears(1000.0, &what);
    phone.send(json!({"cmd": "hangup"}));
    td.wait_status("idle after the browser's BYE", T, |s| s["call"].is_null());
    check_we_hear(&new_recording(rec, &before, 2.0, RATE), RATE, 440.0, &what);
    eprintln!("ok: {what}: audio both ways");
    first_audio(&mut seen, true);
}
