//! The plain SIP softphone against SIPp, a SIP peer nobody here wrote.
//! Every scenario is bounded (`-m 1 -timeout 30 -timeout_error`).

mod common;

use std::time::Duration;

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::{Command, EndReason, Event, RegState};
use tongdai::sip::{SipConfig, Transport};

const T: Duration = Duration::from_secs(10);

fn account(server_port: u16, register: bool) -> SipConfig {
    let dir = tempdir("acct");
    SipConfig {
        user: "alice".into(),
        server: format!("127.0.0.1:{server_port}"),
        transport: Transport::Udp,
        ws_url: None,
        domain: None,
        auth_user: None,
        password_file: Some(write_secret(&dir, "secret")),
        display_name: Some("Alice".into()),
        expires: 60,
        register,
        bind: "127.0.0.1".into(),
        insecure_tls: false,
        second_call: Default::default(),
        ring_timeout_s: 30,
    }
}

#[tokio::test]
async fn call_out_to_sipp_answers_and_we_hang_up() {
    if !need("sipp") {
        return;
    }
    let mut sipp = Sipp::start(&["-sn", "uas"], &[]);
    let mut c = Headless::start(Box::new(SipBackend::new(account(sipp.port, false))));
    c.expect("ready", T, |e| *e == Event::Ready).await;
    c.send(Command::CallOut("0912345678".into()));
    c.expect("dialing", T, |e| matches!(e, Event::Dialing(n) if n == "0912345678")).await;
    c.expect("customer ringing", T, |e| matches!(e, Event::CalloutStarted(_))).await;
    c.expect("answered", T, |e| *e == Event::CustomerAnswered).await;
    c.send(Command::End);
    c.expect("ended", T, |e| *e == Event::Ended(EndReason::LocalHangup)).await;
    assert!(sipp.wait(T), "SIPp's uas scenario must see our BYE");
    assert!(c.shutdown().await);
}

#[tokio::test]
async fn register_with_digest_then_unregister_on_exit() {
    if !need("sipp") {
        return;
    }
    let scenario = sipp_scenario("registrar_401.xml");
    if !std::path::Path::new(&scenario).exists() {
        panic!("missing {scenario}");
    }
    let mut sipp = Sipp::start(&["-sf", &scenario], &[]);
    let mut c = Headless::start(Box::new(SipBackend::new(account(sipp.port, true))));
    c.expect("registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    assert!(c.shutdown().await);
    assert!(sipp.wait(T), "the registrar must see the un-REGISTER");
}

fn account_on(server_port: u16, local_port: u16) -> SipConfig {
    SipConfig {
        bind: format!("127.0.0.1:{local_port}"),
        ..account(server_port, false)
    }
}

/// SIPp's built-in UAC: INVITE, ACK after our 200, then its BYE.
#[tokio::test]
async fn sipp_calls_us_we_answer_and_it_hangs_up() {
    if !need("sipp") {
        return;
    }
    let local = free_port();
    let mut c = Headless::start(Box::new(SipBackend::new(account_on(free_port(), local))));
    c.expect("ready", T, |e| *e == Event::Ready).await;
    let mut sipp = Sipp::start(
        &["-sn", "uac", &format!("127.0.0.1:{local}")],
        &["-s", "alice", "-d", "1000"],
    );
    let ring = c.expect("ringing", T, |e| matches!(e, Event::Ringing(_))).await;
    let Event::Ringing(info) = ring else { unreachable!() };
    assert_eq!(info.phone, "sipp");
    c.send(Command::Accept);
    c.expect("accepted", T, |e| *e == Event::Accepted).await;
    c.expect("remote hang-up", T, |e| *e == Event::Ended(EndReason::RemoteHangup))
        .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}
