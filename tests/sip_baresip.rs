//! The plain SIP softphone against baresip, through Kamailio: calls both
//! ways, hold and resume from each side.

mod common;

use std::time::Duration;

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::{Command, EndReason, Event, Notice, RegState};
use tongdai::sip::{SipConfig, Transport};

const T: Duration = Duration::from_secs(10);

fn alice(k: &Kamailio) -> SipConfig {
    let dir = tempdir("acct");
    SipConfig {
        user: "alice".into(),
        server: format!("127.0.0.1:{}", k.udp),
        transport: Transport::Udp,
        ws_url: None,
        domain: Some("127.0.0.1".into()),
        auth_user: None,
        password_file: Some(write_secret(&dir, "secret")),
        display_name: Some("Điện thoại viên".into()),
        expires: 120,
        register: true,
        bind: "127.0.0.1".into(),
        insecure_tls: false,
        second_call: Default::default(),
        ring_timeout_s: 30,
        ca_file: None,
        media: Default::default(),
    }
}

async fn registered(k: &Kamailio) -> Headless {
    let mut c = Headless::start(Box::new(SipBackend::new(alice(k))));
    c.expect("registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    c
}

fn remote_hold_notice(e: &Event, held: bool) -> bool {
    let want = if held { "on hold" } else { "resumed" };
    matches!(e, Event::Notice(Notice::Info(t)) if t.contains(want))
}

#[tokio::test]
async fn we_call_baresip_and_both_sides_hold() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let k = Kamailio::start();
    let bob = Baresip::start("bob", "secret", &format!("127.0.0.1:{}", k.udp));
    let mut c = registered(&k).await;
    c.send(Command::CallOut("sip:bob@127.0.0.1".into()));
    c.expect("baresip answers", T, |e| *e == Event::CustomerAnswered)
        .await;
    // Our hold: re-INVITE sendonly, answered by baresip.
    c.send(Command::ToggleHold);
    c.expect("held", T, |e| *e == Event::Held(true)).await;
    c.send(Command::ToggleHold);
    c.expect("resumed", T, |e| *e == Event::Held(false)).await;
    // baresip's hold: its re-INVITE reaches us and we answer it.
    assert!(bob.ctl(&["hold"]), "baresip hold");
    c.expect("held by baresip", T, |e| remote_hold_notice(e, true))
        .await;
    assert!(bob.ctl(&["resume"]), "baresip resume");
    c.expect("resumed by baresip", T, |e| remote_hold_notice(e, false))
        .await;
    c.send(Command::End);
    c.expect("ended", T, |e| *e == Event::Ended(EndReason::LocalHangup))
        .await;
    assert!(c.shutdown().await);
    let start = std::time::Instant::now();
    while !bob.log().to_lowercase().contains("closed") && start.elapsed() < T {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        bob.log().to_lowercase().contains("closed"),
        "baresip must see our BYE: {}",
        bob.log()
    );
}

#[tokio::test]
async fn baresip_calls_us_and_hangs_up() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let k = Kamailio::start();
    let bob = Baresip::start("bob", "secret", &format!("127.0.0.1:{}", k.udp));
    let mut c = registered(&k).await;
    // baresip has no outbound proxy: name Kamailio in the URI.
    let target = format!("sip:alice@127.0.0.1:{}", k.udp);
    assert!(bob.ctl(&["dial", &target]), "baresip dial");
    let ring = c
        .expect("ringing", T, |e| matches!(e, Event::Ringing(_)))
        .await;
    let Event::Ringing(info) = ring else {
        unreachable!()
    };
    assert_eq!(info.phone, "bob");
    c.send(Command::Accept);
    c.expect("accepted", T, |e| *e == Event::Accepted).await;
    assert!(bob.ctl(&["hangup"]), "baresip hangup");
    c.expect("remote hang-up", T, |e| {
        *e == Event::Ended(EndReason::RemoteHangup)
    })
    .await;
    assert!(c.shutdown().await);
}
