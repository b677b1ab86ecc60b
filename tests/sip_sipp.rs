//! The plain SIP softphone against SIPp, a SIP peer nobody here wrote.
//! Every scenario is bounded (`-m 1 -timeout 30 -timeout_error`).

mod common;

use std::time::Duration;

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::{CallEvent, CallId};
use tongdai::engine::{Command, EndReason, Event, RegState};
use tongdai::sip::{SipConfig, Transport};

const T: Duration = Duration::from_secs(10);

fn account(server_port: u16, register: bool) -> SipConfig {
    SipConfig {
        display_name: Some("Alice".into()),
        expires: 60,
        ..sip_account(
            "alice",
            format!("127.0.0.1:{server_port}"),
            Transport::Udp,
            "secret",
            register,
        )
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
    c.expect(
        "dialing",
        T,
        |e| matches!(e.call_event(), Some(CallEvent::Dialing(n)) if n == "0912345678"),
    )
    .await;
    c.expect("customer ringing", T, |e| {
        matches!(e.call_event(), Some(CallEvent::CalloutStarted(_)))
    })
    .await;
    c.expect("answered", T, |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
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
    let ring = c
        .expect("ringing", T, |e| {
            matches!(e.call_event(), Some(CallEvent::Ringing(_)))
        })
        .await;
    let Some(CallEvent::Ringing(info)) = ring.call_event().cloned() else {
        unreachable!()
    };
    assert_eq!(info.phone, "sipp");
    c.send(Command::Accept { call: None });
    c.expect("accepted", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    c.expect("remote hang-up", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}

/// Each failure the far end can answer with reaches the agent as the
/// call-out error (with the SIP code kept) and as the call's end reason.
#[tokio::test]
async fn every_failure_code_is_reported_with_its_reason() {
    if !need("sipp") {
        return;
    }
    for code in [404u16, 486, 408, 403, 487, 480, 500, 603] {
        let mut sipp = Sipp::start(
            &["-sf", &sipp_scenario(&format!("uas_reject_{code}.xml"))],
            &[],
        );
        let mut c = Headless::start(Box::new(SipBackend::new(account(sipp.port, false))));
        c.expect("ready", T, |e| *e == Event::Ready).await;
        c.send(Command::CallOut("0912345678".into()));
        let failed = c
            .expect(&format!("failure {code}"), T, |e| {
                matches!(e.call_event(), Some(CallEvent::CalloutFailed { .. }))
            })
            .await;
        assert_eq!(
            failed,
            Event::Call {
                call: CallId(1),
                event: CallEvent::CalloutFailed {
                    error_code: None,
                    sip_code: Some(code),
                    internal: None,
                }
            }
        );
        let ended = c
            .expect("ended", T, |e| {
                matches!(e.call_event(), Some(CallEvent::Ended(_)))
            })
            .await;
        let expected = match code {
            486 => EndReason::Busy,
            408 | 480 | 487 => EndReason::NoAnswer,
            _ => EndReason::Failed {
                error_code: None,
                sip_code: Some(code),
            },
        };
        assert_eq!(
            ended,
            Event::Call {
                call: CallId(1),
                event: CallEvent::Ended(expected)
            },
            "code {code}"
        );
        assert!(sipp.wait(T), "SIPp scenario for {code}");
        assert!(c.shutdown().await);
    }
}

#[tokio::test]
async fn the_far_end_answers_and_hangs_up_first() {
    if !need("sipp") {
        return;
    }
    let mut sipp = Sipp::start(&["-sf", &sipp_scenario("uas_answer_then_bye.xml")], &[]);
    let mut c = Headless::start(Box::new(SipBackend::new(account(sipp.port, false))));
    c.expect("ready", T, |e| *e == Event::Ready).await;
    c.send(Command::CallOut("1002".into()));
    c.expect("answered", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    c.expect("remote hang-up", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}

// Multi-threaded: the call ends for the agent as soon as the CANCEL is
// sent (issue 15), before SIPp's 487 arrives, so the engine must keep
// running (and ACK the 487) while `sipp.wait` blocks this thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_cancel_while_the_far_end_rings() {
    if !need("sipp") {
        return;
    }
    // uas_reject_487 rings and answers a CANCEL with 487 like a phone would;
    // a dedicated scenario is not needed when the console cancels first.
    let mut sipp = Sipp::start(&["-sf", &sipp_scenario("uas_ring_cancel.xml")], &[]);
    let mut c = Headless::start(Box::new(SipBackend::new(account(sipp.port, false))));
    c.expect("ready", T, |e| *e == Event::Ready).await;
    c.send(Command::CallOut("1002".into()));
    c.expect("ringing", T, |e| {
        matches!(e.call_event(), Some(CallEvent::CalloutStarted(_)))
    })
    .await;
    c.send(Command::End { call: None });
    c.expect("cancelled", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::Cancelled))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}

async fn inbound(scenario: &str) -> (Headless, Sipp) {
    let local = free_port();
    let mut c = Headless::start(Box::new(SipBackend::new(account_on(free_port(), local))));
    c.expect("ready", T, |e| *e == Event::Ready).await;
    let sipp = Sipp::start(
        &[
            "-sf",
            &sipp_scenario(scenario),
            &format!("127.0.0.1:{local}"),
        ],
        &["-s", "alice"],
    );
    c.expect("ringing", T, |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    (c, sipp)
}

#[tokio::test]
async fn the_caller_cancels_and_the_call_is_missed() {
    if !need("sipp") {
        return;
    }
    let (mut c, mut sipp) = inbound("uac_call_cancel.xml").await;
    c.expect("missed", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::Cancelled))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}

#[tokio::test]
async fn we_answer_and_hang_up_an_inbound_call() {
    if !need("sipp") {
        return;
    }
    let (mut c, mut sipp) = inbound("uac_call_wait_bye.xml").await;
    c.send(Command::Accept { call: None });
    c.expect("accepted", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}

#[tokio::test]
async fn we_reject_an_inbound_call_with_busy_here() {
    if !need("sipp") {
        return;
    }
    let (mut c, mut sipp) = inbound("uac_call_rejected.xml").await;
    c.send(Command::Reject {
        call: None,
        decline: false,
    });
    c.expect("rejected", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::Rejected { code: 486 }))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}

/// The far end holds us by re-INVITE (sendonly); we must answer recvonly
/// (the scenario checks it) and tell the agent.
#[tokio::test]
async fn the_far_end_holds_and_resumes() {
    if !need("sipp") {
        return;
    }
    let (mut c, mut sipp) = inbound("uac_call_reinvite_hold.xml").await;
    c.send(Command::Accept { call: None });
    c.expect("accepted", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    c.expect("held notice", T, |e| {
        *e == Event::Notice(tongdai::engine::Notice::Info(
            tongdai::engine::Info::RemoteHold { held: true },
        ))
    })
    .await;
    c.expect("resumed notice", T, |e| {
        *e == Event::Notice(tongdai::engine::Notice::Info(
            tongdai::engine::Info::RemoteHold { held: false },
        ))
    })
    .await;
    c.expect("remote hang-up", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}

/// We hold the far end by re-INVITE (sendonly), the state flips only on its
/// 200, and resuming (sendrecv) works the same way.
#[tokio::test]
async fn we_hold_and_resume_the_far_end() {
    if !need("sipp") {
        return;
    }
    let mut sipp = Sipp::start(&["-sf", &sipp_scenario("uas_answer_hold.xml")], &[]);
    let mut c = Headless::start(Box::new(SipBackend::new(account(sipp.port, false))));
    c.expect("ready", T, |e| *e == Event::Ready).await;
    c.send(Command::CallOut("1002".into()));
    c.expect("answered", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    c.send(Command::ToggleHold { call: None });
    c.expect("held", T, |e| {
        e.call_event() == Some(&CallEvent::Held(true))
    })
    .await;
    c.send(Command::ToggleHold { call: None });
    c.expect("resumed", T, |e| {
        e.call_event() == Some(&CallEvent::Held(false))
    })
    .await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
}

/// DTMF by SIP INFO, then a blind transfer by REFER whose NOTIFY reports
/// success: the console shows the result and hangs up (RFC 5589 §6).
#[tokio::test]
async fn dtmf_by_info_and_blind_transfer_by_refer() {
    if !need("sipp") {
        return;
    }
    let mut sipp = Sipp::start(&["-sf", &sipp_scenario("uas_answer_info_refer.xml")], &[]);
    let mut c = Headless::start(Box::new(SipBackend::new(account(sipp.port, false))));
    c.expect("ready", T, |e| *e == Event::Ready).await;
    c.send(Command::CallOut("1002".into()));
    c.expect("answered", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    c.send(Command::SendDtmf {
        call: None,
        digit: '5',
    });
    // INFO and REFER go out from separate tasks: let the INFO's transaction
    // finish first, as the scenario expects them in that order.
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.send(Command::Transfer {
        call: None,
        target: tongdai::engine::TransferTarget::Number("1003".into()),
    });
    let r = c
        .expect("transfer result", T, |e| {
            matches!(e.call_event(), Some(CallEvent::TransferResult { .. }))
        })
        .await;
    // About the transferred call: it carries its name.
    assert_eq!(
        r,
        Event::Call {
            call: CallId(1),
            event: CallEvent::TransferResult {
                ok: true,
                detail: tongdai::engine::TransferDetail::Sip { code: 200 }
            }
        }
    );
    c.expect("hung up after the transfer", T, |e| {
        e.call_event()
            == Some(&CallEvent::Ended(EndReason::Transferred {
                target: "1003".into(),
            }))
    })
    .await;
    assert!(sipp.wait(T), "{}", sipp.messages());
    assert!(c.shutdown().await);
}
