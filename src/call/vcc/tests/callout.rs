//! Call-out (2032 and the 1055 statuses) and classifying dialled numbers.

use super::*;

#[test]
fn callout_lifecycle_hold_over_push_and_hang_up_with_the_ringing_extension() {
    let mut f = F::older(4);
    let e = f.cmd(Command::CallOut("0912 345 678".into()));
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Callout {
            number: "0912345678".into()
        }]
    );
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Dialing("0912345678".into())
        }]
    );
    assert!(has_not_now(&f.cmd(Command::CallOut("0912000000".into()))));

    let e = f.push(callout("STARTING", "out-1"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::PlatformId("out-1".into())
        }]
    );
    // Hold is refused while the customer rings (no frame sent).
    let e = f.cmd(Command::ToggleHold { call: None });
    assert!(sent(&e).is_empty() && has_not_now(&e));

    let mut r = callout("RINGING", "out-1");
    if let ServerMsg::CalloutStatus(s) = &mut r {
        s.extension = "1001-leg".into();
    }
    let e = f.push(r);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::CalloutStarted("0912345678".into())
        }]
    );
    let e = f.push(callout("ANSWER", "out-1"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::CustomerAnswered
        }]
    );

    let e = f.cmd(Command::ToggleHold { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hold {
            hold: true,
            outbound: true,
            call_id: "out-1".into(),
            call_type: 2
        }]
    );
    assert!(events(&e).is_empty(), "held only on the reply");
    let e = f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: true,
        status: "OK".into(),
        call_id: "out-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(true)
        }]
    );
    // End is refused while held (the SDK returns).
    assert!(has_not_now(&f.cmd(Command::End { call: None })));
    let e = f.cmd(Command::ToggleHold { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hold {
            hold: false,
            outbound: true,
            call_id: "out-1".into(),
            call_type: 2
        }]
    );
    let e = f.push(ServerMsg::HoldResult {
        hold: false,
        outbound: true,
        status: "OK".into(),
        call_id: "out-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(false)
        }]
    );
    // Mute is for inbound calls only.
    let e = f.cmd(Command::ToggleMute { call: None });
    assert!(sent(&e).is_empty() && has_not_now(&e));

    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Outbound,
            call_id: "out-1".into(),
            remove_agent_id: "1001-leg".into()
        }]
    );
    let e = f.push(callout("ENDCALL", "out-1"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        }]
    );
    assert!(!f.p.has_call());
}

#[test]
fn callout_every_error_row() {
    let rows = [
        ("IPCC_NOT_CONNECT_CUSTOMER", "404"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "486"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "408"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "403"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "487"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "480"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "503"),
        ("IPCC_NOT_CONNECT_AGENT_ID", ""),
        ("CALLOUT_AGENT_BUSY", "786"),
        ("CALLOUT_PERMISSION_DENY", ""),
        ("ERROR_CALLOUT_CONNECT", ""),
    ];
    for (code, sip) in rows {
        let mut f = F::older(4);
        f.cmd(Command::CallOut("0912345678".into()));
        f.push(callout("STARTING", "c"));
        let mut m = callout("ERROR", "c");
        if let ServerMsg::CalloutStatus(s) = &mut m {
            s.error_code = code.into();
            s.sip_code = sip.into();
        }
        let e = f.push(m);
        let sip_code = sip.parse::<u16>().ok();
        assert_eq!(
            events(&e),
            vec![
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutFailed {
                        error_code: Some(code.into()),
                        sip_code,
                        internal: None,
                    }
                },
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Failed {
                        error_code: Some(code.into()),
                        sip_code
                    })
                },
            ],
            "{code} {sip}"
        );
        assert!(!f.p.has_call());
        // The next call-out works.
        assert_eq!(sent(&f.cmd(Command::CallOut("0912345678".into()))).len(), 1);
    }
}

#[test]
fn callout_not_answered_and_ended_before_starting() {
    let mut f = F::older(4);
    f.cmd(Command::CallOut("0912345678".into()));
    f.push(callout("STARTING", "c1"));
    f.push(callout("RINGING", "c1"));
    let e = f.push(callout("TERMINATE", "c1"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::NoAnswer)
        }]
    );

    // End before the platform names the call: sent on STARTING.
    f.cmd(Command::CallOut("0912345678".into()));
    let e = f.cmd(Command::End { call: None });
    assert!(sent(&e).is_empty());
    let e = f.push(callout("STARTING", "c2"));
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Outbound,
            call_id: "c2".into(),
            remove_agent_id: EXT.into()
        }]
    );
    let e = f.push(callout("TERMINATE", "c2"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(2),
            event: CallEvent::Ended(EndReason::Cancelled)
        }]
    );
}

#[test]
fn callout_status_for_another_call_is_ignored() {
    let mut f = outbound_active();
    assert!(f.push(callout("ENDCALL", "other")).is_empty());
    assert!(f.p.has_call());
    // And without a call-out of ours, 1055 means nothing.
    let mut f = F::older(4);
    assert!(f.push(callout("RINGING", "x")).is_empty());
}

#[test]
fn numbers_are_classified() {
    assert_eq!(
        classify_number("0912 345 678"),
        Some(DialTarget::Customer("0912345678".into()))
    );
    assert_eq!(
        classify_number("+84912345678"),
        Some(DialTarget::Customer("0912345678".into()))
    );
    assert_eq!(
        classify_number("1002"),
        Some(DialTarget::Internal("1002".into()))
    );
    assert_eq!(
        classify_number("tel:1002"),
        Some(DialTarget::Internal("1002".into()))
    );
    assert_eq!(
        classify_number("0123"),
        None,
        "short numbers cannot start with 0"
    );
    assert_eq!(classify_number("12345678901234"), None);
    assert_eq!(classify_number("abc"), None);
    let mut f = F::older(4);
    let e = f.cmd(Command::CallOut("hello".into()));
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::BadNumber("hello".into()))]
    );
    // Internal numbers are dialled in SIP, so only on device 1.
    let e = f.cmd(Command::CallOut("1002".into()));
    assert!(sent(&e).is_empty() && has_not_now(&e));
}
