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

/// A UDP account through the real binary: `keepalive_s = 2`.
fn udp_console(tag: &str, k: &Kamailio, extra: &str) -> common::bin::BinConsole {
    let dir = tempdir(tag);
    let pw = write_secret(&dir, "secret");
    common::bin::BinConsole::start_in(
        dir,
        &format!(
            "backend = \"sip\"\n[audio]\ndevice = \"null\"\n\
             [sip]\nuser = \"alice\"\nserver = \"127.0.0.1:{}\"\ndomain = \"127.0.0.1\"\n\
             password_file = \"{}\"\nexpires = 120\nbind = \"127.0.0.1\"\n{extra}\n",
            k.udp,
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
    let c = udp_console("udp-restart", &k, "keepalive_s = 2");
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
