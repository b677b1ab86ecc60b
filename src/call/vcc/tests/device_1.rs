//! Device 1: the console's own voice leg, and call-outs whose outcome
//! arrives in any order.

use super::*;

#[test]
fn device_1_auto_answers_only_the_agent_leg_of_our_own_callout() {
    let mut f = F::older(1);
    // A stranger's INVITE while idle rings; it is not answered by itself.
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(1),
        number: "0987654321".into(),
        display_name: Some("Khach".into()),
    });
    assert!(voice_actions(&e).is_empty());
    assert!(
        matches!(&events(&e)[..], [Event::Call { call: CallId(1), event: CallEvent::Ringing(r) }] if !r.agent_leg && r.display_name.as_deref() == Some("Khach"))
    );
    assert_eq!(
        voice_actions(&f.cmd(Command::Accept { call: None })),
        vec![VoiceAction::Answer { leg: LegId(1) }]
    );
    let e = f.voice(VoiceEvent::Answered { leg: LegId(1) });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        }]
    );
    // A second INVITE during the call is refused busy.
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(2),
        number: "0911".into(),
        display_name: None,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Reject {
            leg: LegId(2),
            code: 486
        }]
    );
    // Hold still goes over push, never SIP.
    f.push(ServerMsg::Ring(RingMsg {
        extension: EXT.into(),
        call_id: "in-9".into(),
        caller: "0987654321".into(),
        line: "1900".into(),
        queue_description: "Q".into(),
        call_direction: 1,
    }));
    let e = f.cmd(Command::ToggleHold { call: None });
    assert!(
        matches!(&sent(&e)[..], [ClientMsg::Hold { hold: true, outbound: false, call_id, .. }] if call_id == "in-9")
    );
    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Hangup { leg: LegId(1) }]
    );
    assert!(sent(&e).is_empty(), "device 1 hangs up in SIP");
    let e = f.voice(VoiceEvent::Ended {
        leg: LegId(1),
        reason: EndReason::RemoteHangup,
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        }]
    );

    // Our call-out: the platform's agent leg is answered at once.
    f.cmd(Command::CallOut("0912345678".into()));
    f.push(callout("STARTING", "o1"));
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(3),
        number: "0912345678".into(),
        display_name: None,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Answer { leg: LegId(3) }]
    );
    assert!(
        matches!(&events(&e)[..], [Event::Call { call: CallId(2), event: CallEvent::Ringing(r) }] if r.agent_leg)
    );
    assert!(events(&f.voice(VoiceEvent::Answered { leg: LegId(3) })).is_empty());
    f.push(callout("RINGING", "o1"));
    assert_eq!(
        events(&f.push(callout("ANSWER", "o1"))),
        vec![Event::Call {
            call: CallId(2),
            event: CallEvent::CustomerAnswered
        }]
    );
    // ENDCALL waits for the BYE on device 1.
    assert!(events(&f.push(callout("ENDCALL", "o1"))).is_empty());
    let e = f.voice(VoiceEvent::Ended {
        leg: LegId(3),
        reason: EndReason::RemoteHangup,
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(2),
            event: CallEvent::Ended(EndReason::RemoteHangup)
        }]
    );
}

#[test]
fn device_1_ring_from_1038_waits_for_the_invite_and_merges_the_popup() {
    let mut f = F::older(1);
    let e = f.push(ring("in-2"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::PlatformId("in-2".into())
        }]
    );
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(5),
        number: "0987654321".into(),
        display_name: None,
    });
    assert!(
        matches!(&events(&e)[..], [Event::Call { call: CallId(1), event: CallEvent::Ringing(r) }]
        if r.line.as_deref() == Some("19001234") && r.queue.as_deref() == Some("Sales"))
    );
    // 1039 / 1009 do not drive device-1 calls.
    assert!(
        f.push(ServerMsg::AgentEnd {
            extension: EXT.into(),
            call_id: "in-2".into()
        })
        .is_empty()
    );
    let e = f.cmd(Command::Reject {
        call: None,
        decline: true,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Reject {
            leg: LegId(5),
            code: 603
        }]
    );
}

#[test]
fn device_1_internal_numbers_are_dialled_in_sip_and_dtmf_goes_there() {
    let mut f = F::older(1);
    let e = f.cmd(Command::CallOut("1002".into()));
    let leg = LegId(DIALED_LEG_BASE);
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Dial {
            leg,
            number: "1002".into()
        }]
    );
    assert!(sent(&e).is_empty());
    assert_eq!(
        events(&f.voice(VoiceEvent::Answered { leg })),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        }]
    );
    assert_eq!(
        voice_actions(&f.cmd(Command::SendDtmf {
            call: None,
            digit: '5'
        })),
        vec![VoiceAction::Dtmf { leg, digit: '5' }]
    );
    assert!(has_not_now(&f.cmd(Command::SendDtmf {
        call: None,
        digit: 'x'
    })));
}

/// As plain SIP: a failed internal dial says why (the SIP code, for the
/// error table) before it ends; an end the leg gives without a code does not.
#[test]
fn device_1_failed_internal_call_reports_its_sip_code_before_the_end() {
    let mut f = F::older(1);
    f.cmd(Command::CallOut("1002".into()));
    let leg = LegId(DIALED_LEG_BASE);
    let reason = EndReason::Failed {
        error_code: None,
        sip_code: Some(404),
    };
    let e = f.voice(VoiceEvent::Failed {
        leg,
        code: Some(404),
        reason: reason.clone(),
    });
    assert_eq!(
        events(&e),
        vec![
            Event::Call {
                call: CallId(1),
                event: CallEvent::CalloutFailed {
                    error_code: None,
                    sip_code: Some(404),
                    internal: Some("1002".into()),
                }
            },
            Event::Call {
                call: CallId(1),
                event: CallEvent::Ended(reason)
            },
        ]
    );
    // A failure report for a leg that is not ours says nothing.
    assert!(
        events(&f.voice(VoiceEvent::Failed {
            leg,
            code: Some(486),
            reason: EndReason::Busy,
        }))
        .is_empty()
    );
}

#[test]
fn device_1_callout_error_agent_not_reachable_registers_again() {
    let mut f = F::older(1);
    f.cmd(Command::CallOut("0912345678".into()));
    let mut m = callout("ERROR", "");
    if let ServerMsg::CalloutStatus(s) = &mut m {
        s.error_code = "IPCC_NOT_CONNECT_AGENT_ID".into();
    }
    let e = f.push(m);
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Stop, VoiceAction::Start]
    );
}

#[test]
fn device_1_without_a_voice_leg_says_so_and_still_shows_the_ring() {
    let mut f = F::older(1);
    let e = f.voice(VoiceEvent::Unavailable(
        "console audio is not available yet".into(),
    ));
    assert!(
        matches!(&events(&e)[..], [Event::Notice(Notice::Info(Info::VoiceUnavailable { detail }))] if detail.contains("not available"))
    );
    let e = f.push(ring("in-3"));
    let ev = events(&e);
    assert!(
        ev.iter()
            .any(|e| matches!(e.call_event(), Some(CallEvent::Ringing(_))))
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Notice(Notice::Info(_))))
    );
    assert!(has_not_now(&f.cmd(Command::Accept { call: None })));
    let e = f.voice(VoiceEvent::Registration(RegState::None));
    assert_eq!(events(&e), vec![Event::Registration(RegState::None)]);
}

/// A device-1 call-out to `0912345486` whose agent leg (LegId 7) is up;
/// the customer's phone has not answered.
fn device_1_callout_with_agent_leg() -> F {
    let mut f = F::older(1);
    f.cmd(Command::CallOut("0912345486".into()));
    f.push(callout("STARTING", "o7"));
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(7),
        number: "0912345486".into(),
        display_name: None,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Answer { leg: LegId(7) }]
    );
    f.voice(VoiceEvent::Answered { leg: LegId(7) });
    f
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Last {
    /// The platform's BYE on the agent leg (the voice leg's final word).
    Bye,
    /// The same leg cancelled before its 200 was confirmed.
    Cancel,
    /// 1055 `ERROR` with errorCode and sipCode.
    Error,
    /// 1055 `ENDCALL`.
    EndCall,
}

fn busy_error() -> ServerMsg {
    let mut m = callout("ERROR", "o7");
    if let ServerMsg::CalloutStatus(s) = &mut m {
        s.error_code = "IPCC_NOT_CONNECT_CUSTOMER".into();
        s.sip_code = "486".into();
    }
    m
}

fn deliver(f: &mut F, what: Last) -> Vec<Effect> {
    match what {
        Last::Bye => f.voice(VoiceEvent::Ended {
            leg: LegId(7),
            reason: EndReason::RemoteHangup,
        }),
        Last::Cancel => f.voice(VoiceEvent::Ended {
            leg: LegId(7),
            reason: EndReason::Cancelled,
        }),
        Last::Error => f.push(busy_error()),
        Last::EndCall => f.push(callout("ENDCALL", "o7")),
    }
}

fn permutations(items: &[Last]) -> Vec<Vec<Last>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

#[test]
fn device_1_failed_callout_keeps_its_error_whatever_arrives_first() {
    let failed = EndReason::Failed {
        error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
        sip_code: Some(486),
    };
    let sets: [&[Last]; 4] = [
        &[Last::Bye, Last::Error],
        &[Last::Cancel, Last::Error],
        &[Last::Bye, Last::Error, Last::EndCall],
        &[Last::Cancel, Last::Error, Last::EndCall],
    ];
    for set in sets {
        for order in permutations(set) {
            // Each gap well inside the settle time, the whole run too.
            for gap in [
                Duration::ZERO,
                Duration::from_millis(40),
                CALLOUT_SETTLE / 4,
            ] {
                let mut f = device_1_callout_with_agent_leg();
                let mut seen = Vec::new();
                for what in &order {
                    seen.extend(f.advance(gap));
                    seen.extend(deliver(&mut f, *what));
                }
                seen.extend(f.advance(CALLOUT_SETTLE * 3));
                let ev = events(&seen);
                let ends: Vec<&Event> = ev
                    .iter()
                    .filter(|e| matches!(e.call_event(), Some(CallEvent::Ended(_))))
                    .collect();
                assert_eq!(
                    ends,
                    vec![&Event::Call {
                        call: CallId(1),
                        event: CallEvent::Ended(failed.clone())
                    }],
                    "{order:?} {gap:?}: {ev:?}"
                );
                assert!(
                    ev.contains(&Event::Call {
                        call: CallId(1),
                        event: CallEvent::CalloutFailed {
                            error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
                            sip_code: Some(486),
                            internal: None,
                        }
                    }),
                    "{order:?} {gap:?}: {ev:?}"
                );
                assert!(!f.p.has_call(), "{order:?}");
                assert_eq!(
                    f.p.poll_timeout(),
                    Some(f.p.last_sent + f.p.cfg.keepalive_idle)
                );
            }
        }
    }
}

#[test]
fn device_1_callout_whose_error_never_comes_ends_after_the_settle_time() {
    // Only the BYE: the call stays up (no "the other side hung up") until
    // the settle time, then ends as not answered.
    let mut f = device_1_callout_with_agent_leg();
    assert!(events(&deliver(&mut f, Last::Bye)).is_empty());
    assert!(f.p.has_call());
    let e = f.advance(CALLOUT_SETTLE - Duration::from_millis(1));
    assert!(events(&e).is_empty(), "{e:?}");
    let e = f.advance(Duration::from_millis(1));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::NoAnswer)
        }]
    );
    // ENDCALL after the BYE: the same end, at the same time.
    let mut f = device_1_callout_with_agent_leg();
    deliver(&mut f, Last::Bye);
    assert!(events(&deliver(&mut f, Last::EndCall)).is_empty());
    let e = f.advance(CALLOUT_SETTLE);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::NoAnswer)
        }]
    );
    // A leg lost on our side keeps its own reason.
    let mut f = device_1_callout_with_agent_leg();
    f.voice(VoiceEvent::Ended {
        leg: LegId(7),
        reason: EndReason::TransportLost,
    });
    let e = f.advance(CALLOUT_SETTLE);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::TransportLost)
        }]
    );
}

#[test]
fn device_1_callout_settling_hang_up_and_a_new_invite() {
    let mut f = device_1_callout_with_agent_leg();
    deliver(&mut f, Last::Bye);
    // Another INVITE meanwhile is not taken for our agent leg.
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(8),
        number: "0987654321".into(),
        display_name: None,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Reject {
            leg: LegId(8),
            code: 486
        }]
    );
    // The agent's hang-up ends it at once; nothing is left to send.
    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::Cancelled)
        }]
    );
    assert!(sent(&e).is_empty() && voice_actions(&e).is_empty());
    // A late ERROR for it is dropped.
    assert!(events(&deliver(&mut f, Last::Error)).is_empty());
    // The agent's own hang-up before the BYE is a plain cancel, no wait.
    let mut f = device_1_callout_with_agent_leg();
    f.cmd(Command::End { call: None });
    let e = deliver(&mut f, Last::Bye);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::Cancelled)
        }]
    );
    // Answered, then the customer hangs up: the BYE ends it at once.
    let mut f = device_1_callout_with_agent_leg();
    f.push(callout("ANSWER", "o7"));
    let e = deliver(&mut f, Last::Bye);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::RemoteHangup)
        }]
    );
}
