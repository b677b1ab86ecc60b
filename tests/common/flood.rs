//! A hostile caller on raw UDP: floods a console with unauthenticated
//! INVITEs (distinct Call-IDs, never ACKed), then places one well-formed
//! call, and reads the process's memory and CPU from /proc. Shared by
//! `tests/sip_flood.rs` (limits asserted on the debug build) and
//! `benches/invite_flood.rs` (the release figures).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The real binary (`super::bin::tongdai`: every XDG place in `dir`), or
/// the one `TONGDAI_BIN` names, to measure another build the same way.
pub fn tongdai_in(dir: &Path) -> Command {
    let c = super::bin::tongdai(dir);
    let Ok(other) = std::env::var("TONGDAI_BIN") else {
        return c;
    };
    let mut o = Command::new(other);
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => o.env(k, v),
            None => o.env_remove(k),
        };
    }
    o
}

/// `tongdai --headless` on a plain-SIP account (UDP, no registration)
/// listening on 127.0.0.1:`port`; killed on drop.
pub struct SipConsole {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl SipConsole {
    pub fn start(port: u16) -> SipConsole {
        let dir = super::tempdir("flood");
        let pw = super::write_secret(&dir, "secret");
        let cfg = dir.join("tongdai.toml");
        // The server is never contacted (no registration, no call-out).
        std::fs::write(
            &cfg,
            format!(
                "backend = \"sip\"\n\n[sip]\nuser = \"alice\"\nserver = \"127.0.0.1:9\"\n\
                 transport = \"udp\"\nregister = false\nbind = \"127.0.0.1:{port}\"\n\
                 password_file = \"{}\"\n",
                pw.display()
            ),
        )
        .expect("config");
        let child = tongdai_in(&dir)
            .arg("--config")
            .arg(&cfg)
            .args(["--headless", "--socket-name", "flood"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tongdai --headless");
        let c = SipConsole { child, port, dir };
        c.wait_listening(Duration::from_secs(20));
        c
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// OPTIONS until it is answered (RFC 3261 §11).
    fn wait_listening(&self, timeout: Duration) {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        let mut n = 0;
        while start.elapsed() < timeout {
            n += 1;
            let msg = options(&s, self.addr(), n);
            let _ = s.send_to(msg.as_bytes(), self.addr());
            if let Ok((len, _)) = s.recv_from(&mut buf)
                && String::from_utf8_lossy(&buf[..len]).starts_with("SIP/2.0 200")
            {
                return;
            }
        }
        panic!("the console never answered OPTIONS on {}", self.addr());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("state/tongdai/tongdai.log")).unwrap_or_default()
    }
}

impl Drop for SipConsole {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn options(s: &UdpSocket, to: SocketAddr, n: u32) -> String {
    let local = s.local_addr().expect("addr");
    format!(
        "OPTIONS sip:alice@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-opt{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{local}>;tag=o{n}\r\n\
         To: <sip:alice@{to}>\r\n\
         Call-ID: options-{n}-{}@127.0.0.1\r\n\
         CSeq: {n} OPTIONS\r\n\
         Content-Length: 0\r\n\r\n",
        local.port()
    )
}

/// One INVITE as a softphone would send it (with an SDP offer). `tag`
/// makes the Call-ID, branch and From tag unique.
pub fn invite(from: SocketAddr, to: SocketAddr, tag: &str) -> String {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
        ip = from.ip()
    );
    format!(
        "INVITE sip:alice@{to} SIP/2.0\r\n{}\
         Max-Forwards: 70\r\n\
         Contact: <sip:caller@{from}>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        dialog_headers(from, to, tag, "INVITE"),
        sdp.len()
    )
}

/// The CANCEL of `invite(from, to, tag)` (RFC 3261 §9.1: same Via branch,
/// Request-URI, Call-ID, From, To and CSeq number).
pub fn cancel(from: SocketAddr, to: SocketAddr, tag: &str) -> String {
    format!(
        "CANCEL sip:alice@{to} SIP/2.0\r\n{}Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        dialog_headers(from, to, tag, "CANCEL")
    )
}

fn dialog_headers(from: SocketAddr, to: SocketAddr, tag: &str, method: &str) -> String {
    format!(
        "Via: SIP/2.0/UDP {from};branch=z9hG4bK-{tag};rport\r\n\
         From: \"Flood\" <sip:0912{tag}@{ip}>;tag=f-{tag}\r\n\
         To: <sip:alice@{to}>\r\n\
         Call-ID: {tag}@flood.invalid\r\n\
         CSeq: 1 {method}\r\n",
        ip = from.ip()
    )
}

/// A header's value in a SIP message (compact forms not needed here).
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `SIP/2.0 503 Service Unavailable` → 503.
pub fn status(msg: &str) -> Option<u16> {
    let line = msg.lines().next()?;
    let mut it = line.split_whitespace();
    (it.next()? == "SIP/2.0").then_some(())?;
    it.next()?.parse().ok()
}

/// What the console answered during a flood.
#[derive(Debug, Default, Clone)]
pub struct Answers {
    pub sent: u64,
    /// Responses by status code.
    pub by_code: HashMap<u16, u64>,
    /// 503s without a Retry-After header (RFC 3261 §21.5.4 asks for one).
    pub no_retry_after: u64,
    /// The Retry-After values seen on 503s.
    pub retry_after: Vec<u32>,
    /// Call tags that were rung (180) and not yet finally answered.
    pub ringing: Vec<String>,
}

impl Answers {
    pub fn count(&self, code: u16) -> u64 {
        self.by_code.get(&code).copied().unwrap_or(0)
    }
}

/// Send `rate` INVITEs a second for `duration` from one UDP socket, each
/// with its own Call-ID; nothing is ever ACKed. `tick` runs about every
/// 100 ms (for sampling /proc).
pub fn flood(
    target: SocketAddr,
    rate: u32,
    duration: Duration,
    mut tick: impl FnMut(),
) -> (UdpSocket, Answers) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let from = sock.local_addr().expect("addr");
    let answers = Arc::new(Mutex::new(Answers::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let sock = sock.try_clone().expect("clone");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let (answers, stop) = (answers.clone(), stop.clone());
        std::thread::spawn(move || read_answers(&sock, &answers, &stop))
    };
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut last_tick = start;
    let run = format!("{:x}", std::process::id() ^ start.elapsed().subsec_nanos());
    while start.elapsed() < duration {
        let due = (start.elapsed().as_secs_f64() * f64::from(rate)) as u64;
        while sent < due {
            let msg = invite(from, target, &format!("{run}-{sent}"));
            // A full socket buffer is the network dropping it: go on.
            let _ = sock.send_to(msg.as_bytes(), target);
            sent += 1;
        }
        if last_tick.elapsed() >= Duration::from_millis(100) {
            last_tick = Instant::now();
            tick();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Late answers to the last INVITEs.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    let mut a = answers.lock().expect("answers").clone();
    a.sent = sent;
    (sock, a)
}

fn read_answers(sock: &UdpSocket, answers: &Mutex<Answers>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 65536];
    // A response is counted once per transaction (retransmissions of a
    // final response are not new answers).
    let mut finals: std::collections::HashSet<String> = Default::default();
    while !stop.load(Ordering::Relaxed) {
        let Ok((len, _)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let msg = String::from_utf8_lossy(&buf[..len]);
        let Some(code) = status(&msg) else { continue };
        let tag = header(&msg, "Call-ID")
            .and_then(|c| c.strip_suffix("@flood.invalid"))
            .unwrap_or_default()
            .to_string();
        let mut a = answers.lock().expect("answers");
        if code >= 200 && !finals.insert(format!("{tag}/{code}")) {
            continue;
        }
        *a.by_code.entry(code).or_default() += 1;
        if code == 180 && !a.ringing.contains(&tag) {
            a.ringing.push(tag.clone());
        }
        if code >= 200 {
            a.ringing.retain(|t| *t != tag);
        }
        if code == 503 {
            match header(&msg, "Retry-After").and_then(|v| {
                v.split([';', ' ', '('])
                    .next()
                    .and_then(|n| n.trim().parse().ok())
            }) {
                Some(secs) => a.retry_after.push(secs),
                None => a.no_retry_after += 1,
            }
        }
    }
}

/// How a well-formed call fared: time to 100 Trying, to 180 Ringing,
/// and the first final response if one came instead.
#[derive(Debug, Clone)]
pub struct Probe {
    pub trying: Option<Duration>,
    pub ringing: Option<Duration>,
    pub final_code: Option<u16>,
}

/// Place one call from a fresh socket and wait up to `timeout` for 180
/// (or a final); the call is CANCELled afterwards.
pub fn probe_call(target: SocketAddr, timeout: Duration) -> Probe {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let from = sock.local_addr().expect("addr");
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let tag = format!("probe-{}", std::process::id());
    let start = Instant::now();
    sock.send_to(invite(from, target, &tag).as_bytes(), target)
        .expect("send");
    let mut p = Probe {
        trying: None,
        ringing: None,
        final_code: None,
    };
    let mut buf = vec![0u8; 65536];
    while start.elapsed() < timeout && p.ringing.is_none() && p.final_code.is_none() {
        let Ok((len, _)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let msg = String::from_utf8_lossy(&buf[..len]);
        if !header(&msg, "Call-ID").is_some_and(|c| c.starts_with(&tag)) {
            continue;
        }
        match status(&msg) {
            Some(100) => p.trying = p.trying.or(Some(start.elapsed())),
            Some(180) => p.ringing = Some(start.elapsed()),
            Some(c) if c >= 200 => p.final_code = Some(c),
            _ => {}
        }
    }
    let _ = sock.send_to(cancel(from, target, &tag).as_bytes(), target);
    p
}

/// CANCEL the flood's calls that are still ringing (a caller hanging up).
pub fn cancel_ringing(sock: &UdpSocket, target: SocketAddr, tags: &[String]) {
    let from = sock.local_addr().expect("addr");
    for t in tags {
        let _ = sock.send_to(cancel(from, target, t).as_bytes(), target);
    }
}

/// `VmRSS` / `VmHWM` of a process, in kB.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| {
        let v = l.strip_prefix(field)?.strip_prefix(':')?;
        v.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

pub fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS").unwrap_or(0)
}

/// User + system CPU time used so far.
pub fn cpu_time(pid: u32) -> Duration {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}
