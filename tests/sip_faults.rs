//! Faults against a real peer: Kamailio (registrar + proxy) restarted in
//! the middle of a call. The plain SIP console on TCP loses its
//! connection, and with it its registration: it must register again within
//! 5 s (not at the refresh minutes later), keep the call, and take the next
//! call.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::CallEvent;
use tongdai::engine::{Command, EndReason, Event, RegState};
use tongdai::sip::{SipConfig, Transport};

const T: Duration = Duration::from_secs(10);

fn account(k: &Kamailio, user: &str, transport: Transport) -> SipConfig {
    let port = match transport {
        Transport::Ws => k.ws,
        _ => k.udp,
    };
    SipConfig {
        ws_url: matches!(transport, Transport::Ws).then(|| format!("ws://127.0.0.1:{}", k.ws)),
        domain: Some("127.0.0.1".into()),
        ..sip_account(user, format!("127.0.0.1:{port}"), transport, "secret", true)
    }
}

async fn registered(cfg: SipConfig) -> Headless {
    let mut c = Headless::start(Box::new(SipBackend::new(cfg)));
    c.expect("registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    c
}

async fn connect(caller: &mut Headless, callee: &mut Headless, uri: &str) {
    caller.send(Command::CallOut(uri.into()));
    callee
        .expect("rings", T, |e| {
            matches!(e.call_event(), Some(CallEvent::Ringing(_)))
        })
        .await;
    callee.send(Command::Accept { call: None });
    callee
        .expect("answered", T, |e| {
            e.call_event() == Some(&CallEvent::Accepted)
        })
        .await;
    caller
        .expect("connected", T, |e| {
            e.call_event() == Some(&CallEvent::CustomerAnswered)
        })
        .await;
}

/// Keep what arrives within `d` in `seen`.
async fn drain(c: &mut Headless, d: Duration) {
    let deadline = tokio::time::Instant::now() + d;
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, c.events.recv()).await {
        c.seen.push(e);
    }
}

#[tokio::test]
async fn a_kamailio_restart_mid_call_re_registers_tcp_within_5_s_and_keeps_the_call() {
    if !need("kamailio") {
        return;
    }
    restart_mid_call(Transport::Tcp).await;
}

#[tokio::test]
async fn a_kamailio_restart_mid_call_re_registers_websocket_within_5_s_and_keeps_the_call() {
    if !need("kamailio") {
        return;
    }
    restart_mid_call(Transport::Ws).await;
}

async fn restart_mid_call(transport: Transport) {
    let k = Kamailio::start();
    // expires 120: without a reaction to the closed connection the next
    // REGISTER would be the refresh, 90 s later.
    let mut alice = registered(account(&k, "alice", transport)).await;
    let mut bob = registered(account(&k, "bob", Transport::Udp)).await;
    connect(&mut alice, &mut bob, "sip:bob@127.0.0.1").await;

    let mark = alice.seen.len();
    let restarted = Instant::now();
    k.restart();
    // The drop is at the stop; start.sh returns once the ports listen again.
    let back = Instant::now();
    alice
        .expect("registered again", T, |e| {
            matches!(e, Event::Registration(RegState::Registered { .. }))
        })
        .await;
    let (took, since_back) = (restarted.elapsed(), back.elapsed());
    eprintln!(
        "alice ({transport:?}) registered again {took:?} after the restart began, \
         {since_back:?} after Kamailio listened again"
    );
    // From the drop the console needs ~1 s plus the restart; the restart's
    // own length is Kamailio's (SIGTERM grace, start), not ours.
    assert!(
        since_back <= Duration::from_secs(5),
        "re-REGISTER within 5 s once the server is back, took {since_back:?}"
    );
    // The call went on through the restart: nothing ended it.
    drain(&mut alice, Duration::from_millis(500)).await;
    drain(&mut bob, Duration::from_millis(10)).await;
    let ended = |seen: &[Event]| {
        seen.iter()
            .any(|e| matches!(e.call_event(), Some(CallEvent::Ended(_))))
    };
    assert!(!ended(&alice.seen[mark..]), "{:#?}", &alice.seen[mark..]);
    assert!(!ended(&bob.seen), "{:#?}", bob.seen);
    // Alice hangs up; her BYE follows the route set on a new connection.
    alice.send(Command::End { call: None });
    alice
        .expect("alice ended", T, |e| {
            e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
        })
        .await;
    bob.expect("bob sees the hang-up", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;

    // Between calls: the restarted registrar knows alice again, so the
    // next call reaches her.
    connect(&mut bob, &mut alice, "sip:alice@127.0.0.1").await;
    bob.send(Command::End { call: None });
    alice
        .expect("alice sees the hang-up", T, |e| {
            e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
        })
        .await;
    assert!(alice.shutdown().await);
    assert!(bob.shutdown().await);
}

/// An account of alice's at 127.0.0.1:`port` through the real binary.
fn console_at(tag: &str, port: u16, extra: &str) -> common::bin::BinConsole {
    let dir = tempdir(tag);
    let pw = write_secret(&dir, "secret");
    common::bin::BinConsole::start_in(
        dir,
        &format!(
            "backend = \"sip\"\n[audio]\ndevice = \"null\"\n\
             [sip]\nuser = \"alice\"\nserver = \"127.0.0.1:{}\"\ndomain = \"127.0.0.1\"\n\
             password_file = \"{}\"\nexpires = 120\nbind = \"127.0.0.1\"\n{extra}\n",
            port,
            pw.display()
        ),
        &[],
    )
}

fn registered_status(s: &serde_json::Value) -> bool {
    s["registration"]["state"] == "registered"
}

/// A caller outside Kamailio's user list (a trunk: not challenged) sends
/// an INVITE for alice through Kamailio. `Some(180)` when it rang at the
/// console (the console then rejects it, and the caller ACKs the 486),
/// else Kamailio's final answer.
fn ring_alice_through(
    k: &Kamailio,
    c: &common::bin::BinConsole,
    caller: &common::raw_sip::RawUdp,
    n: u32,
) -> Option<u16> {
    use common::raw_sip::{ack_for, invite};
    let kam: std::net::SocketAddr = format!("127.0.0.1:{}", k.udp).parse().unwrap();
    let inv = invite(
        kam,
        caller.port(),
        &format!("restart-{n}"),
        "0912000111",
        "UDP",
    );
    caller.send(kam, &inv);
    let first = caller.expect("a final answer or 180", Duration::from_secs(5), |m| {
        m.code().is_some_and(|c| c >= 180)
    });
    let code = first.code();
    let last = if code == Some(180) {
        c.wait_status("ringing", T, |s| s["call"]["phase"] == "ringing");
        let r = c.request(serde_json::json!({"cmd": "reject"}));
        assert_eq!(r["ok"], true, "{r}");
        c.wait_status("idle", T, |s| s["call"].is_null());
        caller.expect("the 486", Duration::from_secs(5), |m| m.code() == Some(486))
    } else {
        first
    };
    caller.send(kam, &ack_for(&inv, &last));
    code
}

/// Issue 15: a UDP account has no connection to lose when Kamailio (usrloc
/// in memory) restarts and forgets it. Its binding check (OPTIONS to its
/// own address through the registrar every `keepalive_s`) gets 404 and it
/// registers again: inbound calls reach it again within keepalive_s + the
/// UDP retransmission interval (T2, 4 s) of Kamailio listening again,
/// instead of at the refresh 90 s later.
#[test]
fn a_udp_account_notices_a_kamailio_restart_and_takes_calls_again_within_6_s() {
    if !need("kamailio") {
        return;
    }
    let k = Kamailio::start();
    let c = console_at("udp-restart", k.udp, "keepalive_s = 2");
    c.wait_status("registered", T, registered_status);
    let caller = common::raw_sip::RawUdp::new();
    assert_eq!(ring_alice_through(&k, &c, &caller, 0), Some(180));

    let restarted = Instant::now();
    k.restart();
    let back = Instant::now();
    let mut answers = Vec::new();
    let took = loop {
        let code = ring_alice_through(&k, &c, &caller, answers.len() as u32 + 1);
        answers.push(code);
        if code == Some(180) {
            break back.elapsed();
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "calls still fail 20 s after the restart: {answers:?}\nlog:\n{}",
            c.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!(
        "a call reached the UDP console {took:?} after Kamailio listened again ({:?} after \
         the restart began); answers: {answers:?}",
        restarted.elapsed()
    );
    assert!(
        took <= Duration::from_secs(6),
        "inbound calls came back after {took:?}: {answers:?}"
    );
    assert!(
        c.log().contains("registering again"),
        "the log says why: {}",
        c.log()
    );
}

/// Issue 15: the registrar vanishes while our REGISTER is in flight (a
/// stand-in takes it and goes away without an answer; over TCP it closes
/// the connection), then Kamailio comes up on the same port. The console
/// shows it is still trying, and registers without anyone's help.
#[test]
fn a_registrar_that_vanishes_during_a_udp_register_is_registered_with_when_back() {
    if !need("kamailio") {
        return;
    }
    vanish_during_register("udp");
}

#[test]
fn a_registrar_that_vanishes_during_a_tcp_register_is_registered_with_when_back() {
    if !need("kamailio") {
        return;
    }
    vanish_during_register("tcp");
}

fn vanish_during_register(transport: &str) {
    use std::io::Read;
    let port = free_port();
    let c;
    if transport == "udp" {
        let standin = std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap();
        standin
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        c = console_at("vanish-udp", port, "");
        let mut buf = [0u8; 4096];
        let (n, _) = standin.recv_from(&mut buf).expect("a REGISTER");
        assert!(buf[..n].starts_with(b"REGISTER "), "{:?}", &buf[..n]);
    } else {
        let standin = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        c = console_at("vanish-tcp", port, "transport = \"tcp\"");
        let (mut conn, _) = standin.accept().expect("a connection");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).expect("the REGISTER");
            assert!(n > 0, "closed before a REGISTER");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"REGISTER "), "{got:?}");
        // The connection and the listener go: a registrar that crashed.
    }
    // Gone, mid-REGISTER. The console says what it is doing: over UDP it
    // is still retransmitting the REGISTER (RFC 3261 §17.1.2.2); over TCP
    // the attempt failed with the connection and it waits to retry.
    let s = if transport == "udp" {
        c.wait_status("registering", T, |s| {
            s["registration"]["state"] == "registering"
        })
    } else {
        let s = c.wait_status("retrying", T, |s| s["registration"]["state"] == "retrying");
        assert!(
            s["registration_failure"]
                .as_str()
                .is_some_and(|r| r.contains("closed")),
            "{s}"
        );
        s
    };
    eprintln!(
        "{transport}: while the registrar is away: {}",
        s["registration"]
    );
    std::thread::sleep(Duration::from_secs(2));
    let s = c.status();
    assert_ne!(s["registration"]["state"], "registered", "{s}");
    let k = Kamailio::start_on(port, free_port(), &[]);
    let back = Instant::now();
    c.wait_status(
        "registered again",
        Duration::from_secs(20),
        registered_status,
    );
    let took = back.elapsed();
    eprintln!("{transport}: registered {took:?} after Kamailio listened");
    assert!(took <= Duration::from_secs(8), "{took:?}");
    // And it is registered for real: a call through Kamailio rings.
    let caller = common::raw_sip::RawUdp::new();
    assert_eq!(ring_alice_through(&k, &c, &caller, 0), Some(180));
}
