//! Inbound and internal calls: ring, answer, mute, hold, end, misses.

use super::*;

#[test]
fn inbound_desk_phone_ring_answer_mute_hold_end() {
    let mut f = F::older(4);
    let e = f.push(ring("in-1"));
    assert_eq!(
        events(&e),
        vec![
            Event::Call {
                call: CallId(1),
                event: CallEvent::PlatformId("in-1".into())
            },
            Event::Call {
                call: CallId(1),
                event: CallEvent::Ringing(RingInfo {
                    phone: "0987654321".into(),
                    display_name: None,
                    line: Some("19001234".into()),
                    queue: Some("Sales".into()),
                    direction: Direction::Inbound,
                    agent_leg: false,
                })
            }
        ]
    );
    // Accept on a desk phone is the phone's job.
    assert!(has_not_now(&f.cmd(Command::Accept { call: None })));
    let e = f.cmd(Command::ToggleMute { call: None });
    assert!(
        sent(&e).is_empty() && has_not_now(&e),
        "cannot mute a ringing call"
    );
    let e = f.push(ServerMsg::AgentAnswer {
        extension: EXT.into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![
            Event::Call {
                call: CallId(1),
                event: CallEvent::Accepted
            },
            Event::Notice(Notice::Info(Info::AnsweredOnDeskPhone))
        ]
    );

    let e = f.cmd(Command::ToggleMute { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Mute {
            mute: true,
            call_id: "in-1".into(),
            call_type: 1
        }]
    );
    assert!(events(&e).is_empty());
    let e = f.push(ServerMsg::MuteResult {
        mute: true,
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Muted(true)
        }]
    );
    let e = f.cmd(Command::ToggleMute { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Mute {
            mute: false,
            call_id: "in-1".into(),
            call_type: 1
        }]
    );
    // A refused unmute arrives as 1045: the call stays muted.
    let e = f.push(ServerMsg::CallError {
        status: "IPCCERR0004".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::IpccError("IPCCERR0004".into()))]
    );
    let e = f.cmd(Command::ToggleMute { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Mute {
            mute: false,
            call_id: "in-1".into(),
            call_type: 1
        }],
        "still muted, so the key asks to unmute again"
    );
    f.push(ServerMsg::MuteResult {
        mute: false,
        call_id: "in-1".into(),
    });

    let e = f.cmd(Command::ToggleHold { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hold {
            hold: true,
            outbound: false,
            call_id: "in-1".into(),
            call_type: 1
        }]
    );
    // Refused hold: state unchanged, notice shown.
    let e = f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: false,
        status: "IPCCERR0003".into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::IpccError("IPCCERR0003".into()))]
    );
    f.cmd(Command::ToggleHold { call: None });
    let e = f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: false,
        status: "OK".into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(true)
        }]
    );
    f.cmd(Command::ToggleHold { call: None });
    let e = f.push(ServerMsg::HoldResult {
        hold: false,
        outbound: false,
        status: "OK".into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(false)
        }]
    );

    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Inbound,
            call_id: "in-1".into(),
            remove_agent_id: EXT.into()
        }]
    );
    // 1006 is a notice to supervisors; 1009 ends it.
    assert!(
        f.push(ServerMsg::HangupResult {
            call_id: "in-1".into(),
            status: "OK".into(),
            super_agent: String::new(),
            terminated_agent: EXT.into()
        })
        .is_empty()
    );
    let e = f.push(ServerMsg::AgentEnd {
        extension: EXT.into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        }]
    );
}

#[test]
fn inbound_events_for_other_extensions_are_ignored() {
    let mut f = F::older(4);
    let mut r = ring("x");
    if let ServerMsg::Ring(m) = &mut r {
        m.extension = "1002".into();
    }
    assert!(f.push(r).is_empty());
    assert!(
        f.push(ServerMsg::AgentEnd {
            extension: "1002".into(),
            call_id: "x".into()
        })
        .is_empty()
    );
}

#[test]
fn missed_call_and_remote_hangup() {
    let mut f = F::older(4);
    f.push(ring("m"));
    let e = f.push(ServerMsg::AgentEnd {
        extension: EXT.into(),
        call_id: "m".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::Cancelled)
        }]
    );
    let mut f = inbound_active();
    let e = f.push(ServerMsg::AgentEnd {
        extension: EXT.into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::RemoteHangup)
        }]
    );
}

#[test]
fn reject_on_a_desk_phone_hangs_up_by_push() {
    let mut f = F::older(4);
    f.push(ring("r"));
    let e = f.cmd(Command::Reject {
        call: None,
        decline: false,
    });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Inbound,
            call_id: "r".into(),
            remove_agent_id: EXT.into()
        }]
    );
}

#[test]
fn supervisor_hangup_notice_and_refused_hangup() {
    let mut f = inbound_active();
    let e = f.push(ServerMsg::HangupResult {
        call_id: "in-1".into(),
        status: "OK".into(),
        super_agent: "9000".into(),
        terminated_agent: EXT.into(),
    });
    assert!(
        matches!(&events(&e)[..], [Event::Notice(Notice::Info(Info::SupervisorEnded { agent }))] if agent == "9000")
    );
    f.cmd(Command::End { call: None });
    let e = f.push(ServerMsg::HangupResult {
        call_id: "in-1".into(),
        status: "IPCCERR0000".into(),
        super_agent: String::new(),
        terminated_agent: EXT.into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::IpccError("IPCCERR0000".into()))]
    );
}

#[test]
fn call_not_found_clears_the_call() {
    let mut f = inbound_active();
    let e = f.push(ServerMsg::CallError {
        status: "IPCCERR0000".into(),
    });
    assert!(events(&e).contains(&Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Failed {
            error_code: Some("IPCCERR0000".into()),
            sip_code: None
        })
    }));
    assert!(!f.p.has_call());
}

#[test]
fn internal_call_ring_answer_hold_end() {
    let mut f = F::older(2);
    let e = f.push(ServerMsg::InternalRing {
        call_id: "i1".into(),
        called: "1002".into(),
    });
    let ev = events(&e);
    assert!(
        matches!(&ev[1], Event::Call { call: CallId(1), event: CallEvent::Ringing(r) } if r.direction == Direction::Internal && r.phone == "1002")
    );
    let e = f.push(ServerMsg::InternalAnswer {
        call_id: "i1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        }]
    );
    let e = f.cmd(Command::ToggleHold { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hold {
            hold: true,
            outbound: false,
            call_id: "i1".into(),
            call_type: 3
        }]
    );
    f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: false,
        status: "OK".into(),
        call_id: "i1".into(),
    });
    f.cmd(Command::ToggleHold { call: None });
    f.push(ServerMsg::HoldResult {
        hold: false,
        outbound: false,
        status: "OK".into(),
        call_id: "i1".into(),
    });
    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Internal,
            call_id: "i1".into(),
            remove_agent_id: "1002".into()
        }]
    );
    let e = f.push(ServerMsg::InternalEnd {
        call_id: "i1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        }]
    );
}
