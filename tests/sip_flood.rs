//! A hostile caller on raw UDP against the real binary (`tongdai
//! --headless`, a plain-SIP UDP account): an unauthenticated INVITE flood
//! must not take the workstation's memory or starve the console, and a
//! malformed INVITE gets 400 naming what is missing, not 500.
//!
//! The limits are the issue's, measured on the debug build `cargo test`
//! uses; the release figures come from `cargo bench --bench invite_flood`.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::flood::*;
use common::free_port;

const MB: u64 = 1024;

#[test]
fn an_invite_flood_is_refused_with_503_and_memory_stays_bounded() {
    let console = SipConsole::start(free_port());
    let pid = console.pid();
    std::thread::sleep(Duration::from_millis(500));
    let start_kb = rss_kb(pid);

    let mut peak_kb = start_kb;
    let (sock, answers) = flood(console.addr(), 2000, Duration::from_secs(20), || {
        peak_kb = peak_kb.max(rss_kb(pid));
    });
    let flood_end = Instant::now();
    eprintln!(
        "flood: sent {}, answers {:?}, Retry-After {:?}..{:?}",
        answers.sent,
        answers.by_code,
        answers.retry_after.iter().min(),
        answers.retry_after.iter().max()
    );

    // Memory is bounded during the flood (VmHWM: the kernel's high-water mark).
    let hwm_kb = status_kb(pid, "VmHWM").unwrap_or(peak_kb).max(peak_kb);
    eprintln!(
        "RSS: start {:.1} MB, peak {:.1} MB",
        mb(start_kb),
        mb(hwm_kb)
    );
    assert!(
        hwm_kb <= 64 * MB,
        "peak RSS {:.1} MB over 64 MB",
        mb(hwm_kb)
    );

    // Refused cheaply, and said when to come back (RFC 3261 §21.5.4).
    assert!(
        answers.count(503) > answers.sent / 2,
        "most of the flood is refused with 503: {answers:?}"
    );
    assert_eq!(answers.no_retry_after, 0, "every 503 carries Retry-After");
    assert!(answers.retry_after.iter().all(|s| (1..=3600).contains(s)));

    // The console is not starved: a caller that hangs up is let go, and a
    // well-formed call after the flood rings within 2 s.
    cancel_ringing(&sock, console.addr(), &answers.ringing);
    std::thread::sleep(Duration::from_millis(200));
    // The flood's last packets may still wait in the socket's buffer and
    // spend the admission budget; a caller told `Retry-After: 1` comes back
    // after a second, as a PBX does (RFC 3261 §21.5.4). Either way it must
    // ring within 2 s of the flood's end.
    let deadline = flood_end + Duration::from_secs(2);
    let mut probe = probe_call(console.addr(), Duration::from_secs(1));
    while probe.final_code == Some(503) && Instant::now() + Duration::from_secs(1) < deadline {
        std::thread::sleep(Duration::from_secs(1));
        probe = probe_call(
            console.addr(),
            deadline.saturating_duration_since(Instant::now()),
        );
    }
    eprintln!(
        "valid INVITE after the flood: {probe:?}, {:?} after it",
        flood_end.elapsed()
    );
    assert!(
        // A UAS that rings at once may skip 100 Trying (RFC 3261 §8.2.6.1:
        // it is only owed when no provisional goes out within 200 ms).
        probe.ringing.is_some(),
        "180 within 2 s after the flood: {probe:?}\n{}",
        console.log()
    );

    // … and back near the start within 30 s.
    let mut now_kb = rss_kb(pid);
    while now_kb > start_kb + 16 * MB && flood_end.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(250));
        now_kb = rss_kb(pid);
    }
    eprintln!(
        "RSS {:.1} MB {:.1} s after the flood",
        mb(now_kb),
        flood_end.elapsed().as_secs_f64()
    );
    assert!(
        now_kb <= start_kb + 16 * MB,
        "RSS {:.1} MB is not back to start {:.1} MB + 16 MB",
        mb(now_kb),
        mb(start_kb)
    );
}

/// Send `msg` from a fresh socket and return the first response's status line.
fn status_line(to: SocketAddr, msg: &str) -> String {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let msg = msg.replace("LOCAL", &s.local_addr().expect("addr").to_string());
    s.send_to(msg.as_bytes(), to).expect("send");
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, _) = s
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("no answer to\n{msg}\n{e}"));
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        // 100 Trying is not an answer to a malformed request.
        if status(&text) != Some(100) {
            return text.lines().next().unwrap_or_default().to_string();
        }
    }
}

fn without(msg: &str, header: &str) -> String {
    msg.split_inclusive("\r\n")
        .filter(|l| !l.starts_with(&format!("{header}:")))
        .collect()
}

#[test]
fn an_invite_missing_contact_or_to_gets_400_naming_it() {
    let console = SipConsole::start(free_port());
    let to = console.addr();
    let local: SocketAddr = "127.0.0.1:5999".parse().expect("addr");
    for (i, (header, phrase)) in [
        ("Contact", "Missing Contact header field"),
        ("To", "Missing To header field"),
        ("From", "Missing From header field"),
        ("Call-ID", "Missing Call-ID header field"),
        ("CSeq", "Missing CSeq header field"),
    ]
    .into_iter()
    .enumerate()
    {
        // The Via names the socket the test listens on (filled in per send).
        let msg = invite(local, to, &format!("bad{i}")).replace("127.0.0.1:5999", "LOCAL");
        let line = status_line(to, &without(&msg, header));
        assert_eq!(line, format!("SIP/2.0 400 {phrase}"), "without {header}");
    }
    // The console is still there for a well-formed call.
    let p = probe_call(to, Duration::from_secs(5));
    assert!(p.ringing.is_some(), "a good INVITE rings: {p:?}");
}
