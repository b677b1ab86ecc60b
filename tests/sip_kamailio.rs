//! The plain SIP softphone through Kamailio (registrar + proxy with digest
//! auth) over UDP, TCP and WebSocket: two consoles call each other.

mod common;

use std::time::Duration;

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::CallEvent;
use tongdai::engine::{Command, EndReason, Event, RegState};
use tongdai::sip::{SipConfig, Transport};

const T: Duration = Duration::from_secs(10);

fn account(k: &Kamailio, user: &str, password: &str, transport: Transport) -> SipConfig {
    let port = match transport {
        Transport::Udp | Transport::Tcp => k.udp,
        _ => k.ws,
    };
    SipConfig {
        ws_url: matches!(transport, Transport::Ws).then(|| format!("ws://127.0.0.1:{}", k.ws)),
        domain: Some("127.0.0.1".into()),
        ..sip_account(user, format!("127.0.0.1:{port}"), transport, password, true)
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

async fn call_between(a: Transport, b: Transport) {
    let k = Kamailio::start();
    let mut alice = registered(account(&k, "alice", "secret", a)).await;
    let mut bob = registered(account(&k, "bob", "secret", b)).await;
    alice.send(Command::CallOut("sip:bob@127.0.0.1".into()));
    let ring = bob
        .expect("bob rings", T, |e| {
            matches!(e.call_event(), Some(CallEvent::Ringing(_)))
        })
        .await;
    let Some(CallEvent::Ringing(info)) = ring.call_event().cloned() else {
        unreachable!()
    };
    assert_eq!(info.phone, "alice");
    alice
        .expect("alice hears ringback", T, |e| {
            matches!(e.call_event(), Some(CallEvent::CalloutStarted(_)))
        })
        .await;
    bob.send(Command::Accept { call: None });
    bob.expect("bob answered", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    alice
        .expect("alice connected", T, |e| {
            e.call_event() == Some(&CallEvent::CustomerAnswered)
        })
        .await;
    // Hold and resume through the proxy, both directions of re-INVITE.
    alice.send(Command::ToggleHold { call: None });
    alice
        .expect("held", T, |e| {
            e.call_event() == Some(&CallEvent::Held(true))
        })
        .await;
    alice.send(Command::ToggleHold { call: None });
    alice
        .expect("resumed", T, |e| {
            e.call_event() == Some(&CallEvent::Held(false))
        })
        .await;
    bob.send(Command::End { call: None });
    bob.expect("bob ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    alice
        .expect("alice sees the hang-up", T, |e| {
            e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
        })
        .await;
    assert!(alice.shutdown().await);
    assert!(bob.shutdown().await);
}

#[tokio::test]
async fn udp_to_udp_through_kamailio() {
    if !need("kamailio") {
        return;
    }
    call_between(Transport::Udp, Transport::Udp).await;
}

#[tokio::test]
async fn websocket_to_udp_through_kamailio() {
    if !need("kamailio") {
        return;
    }
    call_between(Transport::Ws, Transport::Udp).await;
}

#[tokio::test]
async fn udp_to_websocket_through_kamailio() {
    if !need("kamailio") {
        return;
    }
    call_between(Transport::Udp, Transport::Ws).await;
}

#[tokio::test]
async fn a_wrong_password_is_reported_not_hidden() {
    if !need("kamailio") {
        return;
    }
    let k = Kamailio::start();
    let mut c = Headless::start(Box::new(SipBackend::new(account(
        &k,
        "alice",
        "wrong",
        Transport::Udp,
    ))));
    let e = c
        .expect("registration failure", T, |e| {
            matches!(e, Event::Registration(RegState::Failed { .. }))
        })
        .await;
    let text = format!("{e:?}");
    assert!(text.contains("403") || text.contains("401"), "{text}");
    assert!(
        !text.contains("wrong"),
        "the password must not leak: {text}"
    );
    assert!(c.shutdown().await);
}

#[tokio::test]
async fn tcp_to_udp_through_kamailio() {
    if !need("kamailio") {
        return;
    }
    call_between(Transport::Tcp, Transport::Udp).await;
}

#[tokio::test]
async fn udp_to_tcp_through_kamailio() {
    if !need("kamailio") {
        return;
    }
    call_between(Transport::Udp, Transport::Tcp).await;
}
