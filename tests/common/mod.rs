//! Shared helpers for the integration tests: free ports, real peers
//! (SIPp, Kamailio, baresip) started from the repo's own scripts, and a
//! headless console engine whose events a test can wait for.
#![allow(dead_code)]

pub mod bin;
pub mod browser;
pub mod flood;
pub mod jack;
pub mod linphone;
pub mod pcap;
pub mod pki;
pub mod raw_sip;
pub mod tmux;
pub mod turn;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tongdai::engine::{self, Backend, EngineHandle, Event};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An even RTP port with port + 1 free (RFC 3550 §11: RTCP on the next port).
pub fn rtp_socket() -> UdpSocket {
    loop {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = s.local_addr().expect("addr").port();
        if port.is_multiple_of(2)
            && port < 65534
            && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok()
        {
            return s;
        }
    }
}

/// A port the OS just gave us on loopback (UDP and TCP are both free in practice).
pub fn free_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let p = s.local_addr().expect("addr").port();
    let t = std::net::TcpListener::bind(("127.0.0.1", p));
    if t.is_err() {
        return free_port();
    }
    p
}

/// Is this program installed? Under CI a missing peer is a failure, not a skip.
pub fn need(program: &str) -> bool {
    let found = Proc::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").is_ok() {
            panic!("{program} is not installed (tests/peers/install.sh installs it)");
        }
        eprintln!("SKIP: {program} is not installed; run tests/peers/install.sh");
    }
    found
}

/// A SIPp process running one scenario, killed on drop.
pub struct Sipp {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Sipp {
    /// `args` are the scenario arguments (e.g. `["-sf", path]` or `["-sn", "uas"]`).
    pub fn start(args: &[&str], extra: &[&str]) -> Sipp {
        let port = free_port();
        let dir = tempdir("sipp");
        let log = dir.join("sipp.log");
        let child = Proc::new("sipp")
            .args(args)
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-m", "1"])
            .args(["-timeout", "30", "-timeout_error", "-nostdin"])
            .args([
                "-trace_err",
                "-error_file",
                &dir.join("err.log").to_string_lossy(),
            ])
            .args([
                "-trace_msg",
                "-message_file",
                &dir.join("msg.log").to_string_lossy(),
            ])
            .args(extra)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sipp");
        // Give SIPp a moment to bind before the console sends to it.
        std::thread::sleep(Duration::from_millis(200));
        Sipp { child, port, log }
    }

    /// Wait for SIPp to finish; true when its scenario passed (exit 0).
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                if !status.success() {
                    eprintln!("sipp exited with {status}; messages:\n{}", self.messages());
                }
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("sipp did not finish; messages:\n{}", self.messages());
        false
    }

    pub fn messages(&self) -> String {
        let dir = self.log.parent().expect("dir");
        std::fs::read_to_string(dir.join("msg.log")).unwrap_or_default()
            + &std::fs::read_to_string(dir.join("err.log")).unwrap_or_default()
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tongdai-{tag}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).expect("tempdir");
    d
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0))
}

pub fn sipp_scenario(name: &str) -> String {
    repo()
        .join("tests/peers/sipp")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The console's engine without a screen: send commands, await events.
pub struct Headless {
    pub handle: Option<EngineHandle>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub seen: Vec<Event>,
}

impl Headless {
    pub fn start(backend: Box<dyn Backend>) -> Headless {
        // RUST_LOG=rsipstack=debug,tongdai=debug shows the wire when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let (handle, events) = engine::spawn(backend);
        Headless {
            handle: Some(handle),
            events,
            seen: Vec::new(),
        }
    }

    pub fn send(&self, c: engine::Command) {
        self.handle
            .as_ref()
            .expect("running")
            .send(c)
            .expect("engine accepts the command");
    }

    /// Wait for the first event matching `pred`; panics with the events
    /// seen so far when it does not come.
    pub async fn expect<F: Fn(&Event) -> bool>(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: F,
    ) -> Event {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => {
                    self.seen.push(e.clone());
                    if pred(&e) {
                        return e;
                    }
                }
                Ok(None) => panic!(
                    "engine stopped while waiting for {what}; saw {:#?}",
                    self.seen
                ),
                Err(_) => panic!("timed out waiting for {what}; saw {:#?}", self.seen),
            }
        }
    }

    pub async fn shutdown(&mut self) -> bool {
        match self.handle.take() {
            Some(h) => h.shutdown(Duration::from_secs(5)).await,
            None => true,
        }
    }
}

pub fn write_secret(dir: &Path, value: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("password");
    std::fs::write(&p, value).expect("write secret");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    p
}

/// A Kamailio registrar + proxy on 127.0.0.1 (UDP and TCP on one port,
/// WebSocket on another) with digest auth for alice, bob, carol and dave
/// (password `secret`), started by the repo's own script and stopped on drop.
pub struct Kamailio {
    pub udp: u16,
    pub ws: u16,
    pub dir: PathBuf,
}

impl Kamailio {
    pub fn start() -> Kamailio {
        Kamailio::start_with_env(&[])
    }

    /// Start with extra environment for start.sh (e.g. TLS_PORT, TLS_CFG).
    pub fn start_with_env(env: &[(&str, String)]) -> Kamailio {
        Kamailio::start_on(free_port(), free_port(), env)
    }

    /// Start on given ports (UDP and TCP `udp`, WebSocket `ws`): e.g. where
    /// a test's stand-in registrar just vanished.
    pub fn start_on(udp: u16, ws: u16, env: &[(&str, String)]) -> Kamailio {
        let dir = tempdir("kamailio");
        let out = Proc::new(repo().join("tests/peers/kamailio/start.sh"))
            .arg(&dir)
            .arg(udp.to_string())
            .arg(ws.to_string())
            .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .output()
            .expect("run tests/peers/kamailio/start.sh");
        assert!(
            out.status.success(),
            "kamailio did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Kamailio { udp, ws, dir }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }

    /// Stop and start again on the same ports (start.sh stops the instance
    /// of this run dir first): every connection closes and every
    /// registration is forgotten, as when a PBX restarts.
    pub fn restart(&self) {
        let out = Proc::new(repo().join("tests/peers/kamailio/start.sh"))
            .arg(&self.dir)
            .arg(self.udp.to_string())
            .arg(self.ws.to_string())
            .output()
            .expect("run tests/peers/kamailio/start.sh");
        assert!(
            out.status.success(),
            "kamailio did not start again: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = Proc::new(repo().join("tests/peers/kamailio/stop.sh"))
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A baresip far phone configured by the repo's script (auto-answer, a WAV
/// microphone, recordings in its dir), registered to `registrar`, driven
/// through its ctrl_tcp socket with `tests/peers/baresip/ctl.py`.
pub struct Baresip {
    child: Child,
    pub dir: PathBuf,
    pub ctrl: u16,
}

impl Baresip {
    pub fn start(user: &str, password: &str, registrar: &str) -> Baresip {
        Baresip::start_with_env(user, password, registrar, &[])
    }

    /// `start` with make_config.sh's knobs, e.g. `BARESIP_CODECS`,
    /// `BARESIP_SRATE`, `BARESIP_CHANNELS`.
    pub fn start_with_env(
        user: &str,
        password: &str,
        registrar: &str,
        env: &[(&str, &str)],
    ) -> Baresip {
        let dir = tempdir(&format!("baresip-{user}"));
        let ctrl = free_port();
        let out = Proc::new(repo().join("tests/peers/baresip/make_config.sh"))
            .args([
                &dir.to_string_lossy(),
                user,
                password,
                registrar,
                "",
                &ctrl.to_string(),
            ])
            .env("BARESIP_AUDIO_SECONDS", "60")
            .envs(env.iter().copied())
            .output()
            .expect("run make_config.sh");
        assert!(
            out.status.success(),
            "make_config.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = std::fs::File::create(dir.join("baresip.log")).expect("log");
        let child = Proc::new("baresip")
            .args(["-f", &dir.to_string_lossy(), "-t", "120"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start baresip");
        let b = Baresip { child, dir, ctrl };
        let start = Instant::now();
        while !b.log().contains("200 OK") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "baresip did not register: {}",
                b.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        b
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("baresip.log")).unwrap_or_default()
    }

    /// Run one ctl.py command; true when baresip answered ok.
    pub fn ctl(&self, args: &[&str]) -> bool {
        Proc::new("python3")
            .arg(repo().join("tests/peers/baresip/ctl.py"))
            .arg(self.ctrl.to_string())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain SIP account for tests: `user` at `server` (host:port) over
/// `transport`, password `password` in an owner-only file, no registration
/// unless `register`; callers adjust the rest with struct update syntax.
pub fn sip_account(
    user: &str,
    server: String,
    transport: tongdai::sip::Transport,
    password: &str,
    register: bool,
) -> tongdai::sip::SipConfig {
    let dir = tempdir("acct");
    tongdai::sip::SipConfig {
        user: user.into(),
        server,
        transport,
        ws_url: None,
        domain: None,
        auth_user: None,
        password_file: Some(write_secret(&dir, password)),
        display_name: None,
        expires: 120,
        register,
        bind: "127.0.0.1".into(),
        insecure_tls: false,
        second_call: Default::default(),
        ring_timeout_s: 30,
        inbound_ring_timeout_s: 60,
        // Tests that check the binding opt in (SIPp registrar scenarios
        // would take the probe for an unexpected message).
        keepalive_s: 0,
        ca_file: None,
        tls_cert_file: None,
        tls_key_file: None,
        stun_servers: Vec::new(),
        turn_servers: Vec::new(),
        turn_user: None,
        turn_password_file: None,
        ice_policy: Default::default(),
        media: Default::default(),
        codecs: Default::default(),
    }
}

/// make_config.sh settings for a baresip that speaks only `codec`: baresip
/// 1.0's aufile wants its source at the codec's rate and channel count.
pub fn baresip_codec_env(
    codec: tongdai::media::audio_codec::AudioCodec,
) -> Vec<(&'static str, &'static str)> {
    use tongdai::media::audio_codec::AudioCodec;
    match codec {
        AudioCodec::Opus => vec![
            ("BARESIP_CODECS", "opus"),
            ("BARESIP_SRATE", "48000"),
            ("BARESIP_CHANNELS", "2"),
        ],
        // baresip reads a bare name as name/8000/1; its G.722 is 16000.
        AudioCodec::G722 => vec![
            ("BARESIP_CODECS", "g722/16000/1"),
            ("BARESIP_SRATE", "16000"),
        ],
        AudioCodec::Pcmu => vec![("BARESIP_CODECS", "pcmu")],
        AudioCodec::Pcma => vec![("BARESIP_CODECS", "pcma")],
    }
}

/// `[audio] device = "file"`: the agent's microphone is a steady `freq` Hz
/// tone at -6 dBFS, and each call's audio is recorded into `dir`
/// (`call-<n>-heard.wav`).
pub fn tone_audio(dir: &Path, freq: f64) -> tongdai::media::AudioConfig {
    let mic = dir.join(format!("mic-{freq}.wav"));
    tongdai::media::device::write_wav(
        &mic,
        8000,
        &tongdai::media::tone::sine(freq, 0.5, 8000, 2000),
    )
    .expect("mic wav");
    tongdai::media::AudioConfig {
        device: tongdai::media::DeviceKind::File,
        mic_wav: Some(mic),
        record_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

/// baresip's recordings of what it heard (`dump-*-dec.wav`), oldest first.
pub fn baresip_heard(b: &Baresip) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(&b.dir)
        .expect("baresip dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .collect();
    v.sort();
    v
}

/// The level (dBFS, a full-scale sine is 0) of `freq` Hz in each `ms`
/// window of `x` (at `rate`).
pub fn tone_levels(x: &[i16], rate: u32, freq: f64, ms: u32) -> Vec<f64> {
    let n = (u64::from(rate) * u64::from(ms) / 1000) as usize;
    x.chunks_exact(n.max(1))
        .map(|w| {
            tongdai::media::tone::dbfs(tongdai::media::tone::goertzel_amplitude(w, rate, freq))
        })
        .collect()
}
