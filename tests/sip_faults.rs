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
