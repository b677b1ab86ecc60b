//! Being transferred (issue 16): the softphone as transferee (a REFER
//! received, RFC 3515 / RFC 5589) and as transfer target (an INVITE with
//! Replaces, RFC 3891), with a fake clock.

use super::tests::{cmd, drain, sip};
use super::*;

fn wire(fx: &[Effect]) -> Vec<SipAction> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Sip(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

fn notices(fx: &[Effect]) -> Vec<Notice> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Emit(Event::Notice(n)) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// One inbound call (leg 1, c1) answered and up.
fn in_call(t0: Instant) -> Softphone {
    let mut p = Softphone::new(Policy {
        second_call: SecondCall::Offer,
        ..Policy::default()
    });
    sip(
        &mut p,
        t0,
        SipInput::Incoming {
            leg: Leg(1),
            number: "1001".into(),
            display_name: None,
        },
    );
    cmd(&mut p, t0, Command::Accept { call: None });
    sip(&mut p, t0, SipInput::Confirmed { leg: Leg(1) });
    p
}

fn referred(replaces: Option<&str>) -> SipInput {
    SipInput::Referred {
        leg: Leg(1),
        target: "sip:carol@example.com".into(),
        replaces: replaces.map(str::to_string),
    }
}

#[test]
fn a_refer_with_replaces_is_carried_out_and_reported_in_notifies() {
    let t0 = Instant::now();
    let mut p = in_call(t0);
    let fx = sip(&mut p, t0, referred(Some("x@h;to-tag=a;from-tag=b")));
    assert_eq!(
        wire(&fx),
        vec![
            SipAction::AnswerRefer {
                leg: Leg(1),
                code: 202
            },
            SipAction::InviteReplacing {
                leg: Leg(2),
                target: "sip:carol@example.com".into(),
                replaces: "x@h;to-tag=a;from-tag=b".into()
            }
        ]
    );
    assert!(matches!(
        notices(&fx)[..],
        [Notice::Info(Info::Referred { ref target })] if target == "sip:carol@example.com"
    ));
    // Ringing, then the answer: each goes back to the REFER's sender.
    let fx = sip(
        &mut p,
        t0,
        SipInput::Progress {
            leg: Leg(2),
            code: 180,
        },
    );
    assert_eq!(
        wire(&fx),
        vec![SipAction::ReferNotify {
            leg: Leg(1),
            code: 180,
            done: false
        }]
    );
    let fx = sip(&mut p, t0, SipInput::Answered { leg: Leg(2) });
    assert_eq!(
        wire(&fx),
        vec![SipAction::ReferNotify {
            leg: Leg(1),
            code: 200,
            done: true
        }]
    );
    // The sender ends its call with us; the new call goes on.
    sip(&mut p, t0, SipInput::RemoteBye { leg: Leg(1) });
    assert_eq!(p.call_of(Leg(2)), Some(CallId(2)));
    assert_eq!(p.call_of(Leg(1)), None);
}

#[test]
fn a_plain_refer_whose_call_fails_or_is_ended_reports_the_failure() {
    let t0 = Instant::now();
    let mut p = in_call(t0);
    let fx = sip(&mut p, t0, referred(None));
    assert_eq!(
        wire(&fx)[1],
        SipAction::Invite {
            leg: Leg(2),
            target: "sip:carol@example.com".into()
        }
    );
    let fx = sip(
        &mut p,
        t0,
        SipInput::Failed {
            leg: Leg(2),
            code: Some(486),
        },
    );
    assert_eq!(
        wire(&fx),
        vec![SipAction::ReferNotify {
            leg: Leg(1),
            code: 486,
            done: true
        }]
    );
    // Our own call is untouched.
    assert_eq!(p.call_of(Leg(1)), Some(CallId(1)));
    // A second REFER: the agent hangs up the referred call while it rings.
    sip(&mut p, t0, referred(None));
    let fx = cmd(
        &mut p,
        t0,
        Command::End {
            call: Some(CallId(3)),
        },
    );
    assert_eq!(
        wire(&fx),
        vec![
            SipAction::Cancel { leg: Leg(3) },
            SipAction::ReferNotify {
                leg: Leg(1),
                code: 487,
                done: true
            }
        ]
    );
}

#[test]
fn a_refer_we_cannot_carry_out_is_refused() {
    let t0 = Instant::now();
    // Not on a call that is up: 603.
    let mut p = Softphone::new(Policy::default());
    assert_eq!(
        wire(&sip(&mut p, t0, referred(None))),
        vec![SipAction::AnswerRefer {
            leg: Leg(1),
            code: 603
        }]
    );
    // A target we would never dial: 400 and the usual notice.
    let mut p = in_call(t0);
    let fx = sip(
        &mut p,
        t0,
        SipInput::Referred {
            leg: Leg(1),
            target: "sip:a@b?X=1".into(),
            replaces: None,
        },
    );
    assert_eq!(
        wire(&fx),
        vec![SipAction::AnswerRefer {
            leg: Leg(1),
            code: 400
        }]
    );
    assert!(matches!(notices(&fx)[..], [Notice::BadNumber(_)]));
    // One REFER at a time: a second while the first's call rings is 603.
    sip(&mut p, t0, referred(None));
    assert_eq!(
        wire(&sip(&mut p, t0, referred(None))),
        vec![SipAction::AnswerRefer {
            leg: Leg(1),
            code: 603
        }]
    );
}

#[test]
fn an_invite_with_replaces_takes_the_call_over_without_ringing() {
    let t0 = Instant::now();
    let mut p = in_call(t0);
    // The agent holds it first: the new far end is not held.
    cmd(&mut p, t0, Command::ToggleHold { call: None });
    sip(
        &mut p,
        t0,
        SipInput::HoldResult {
            leg: Leg(1),
            held: true,
            ok: true,
        },
    );
    let fx = sip(
        &mut p,
        t0,
        SipInput::Replacing {
            leg: Leg(5),
            replaces: Leg(1),
            number: "1002".into(),
            display_name: None,
        },
    );
    assert_eq!(
        wire(&fx),
        vec![
            SipAction::Accept { leg: Leg(5) },
            SipAction::Bye { leg: Leg(1) }
        ]
    );
    assert!(
        !fx.iter().any(|e| matches!(
            e,
            Effect::Emit(Event::Call {
                event: CallEvent::Ringing(_),
                ..
            })
        )),
        "no ring: {fx:?}"
    );
    assert!(fx.contains(&Effect::Emit(Event::Call {
        call: CallId(1),
        event: CallEvent::Held(false)
    })));
    assert!(matches!(
        notices(&fx)[..],
        [Notice::Info(Info::CallReplaced { ref number })] if number == "1002"
    ));
    // The same call, now on the new leg; the old leg's BYE answer is not news.
    assert_eq!(p.call_of(Leg(5)), Some(CallId(1)));
    assert!(sip(&mut p, t0, SipInput::RemoteBye { leg: Leg(1) }).is_empty());
    assert_eq!(
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(5) }),
        vec![Effect::Emit(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        })]
    );
    // No ACK ever for a replacing INVITE: it ends like any unACKed answer.
    let mut p = in_call(t0);
    sip(
        &mut p,
        t0,
        SipInput::Replacing {
            leg: Leg(5),
            replaces: Leg(1),
            number: "1002".into(),
            display_name: None,
        },
    );
    p.handle_timeout(t0 + 64 * T1);
    assert_eq!(wire(&drain(&mut p)), vec![SipAction::Bye { leg: Leg(5) }]);
    assert!(!p.has_calls());
}

#[test]
fn an_invite_replacing_a_call_that_is_not_up_gets_481() {
    let t0 = Instant::now();
    let mut p = Softphone::new(Policy::default());
    sip(
        &mut p,
        t0,
        SipInput::Incoming {
            leg: Leg(1),
            number: "1001".into(),
            display_name: None,
        },
    );
    let fx = sip(
        &mut p,
        t0,
        SipInput::Replacing {
            leg: Leg(2),
            replaces: Leg(1),
            number: "1002".into(),
            display_name: None,
        },
    );
    assert_eq!(
        wire(&fx),
        vec![SipAction::Reject {
            leg: Leg(2),
            code: 481
        }]
    );
    // The ringing call is untouched.
    assert_eq!(p.call_of(Leg(1)), Some(CallId(1)));
}

/// c1 (leg 1) and c2 (leg 2, a waiting call from 1002 answered) in a
/// three-way call: both up, neither held, mixed here.
fn merged(t0: Instant) -> Softphone {
    let mut p = in_call(t0);
    sip(
        &mut p,
        t0,
        SipInput::Incoming {
            leg: Leg(2),
            number: "1002".into(),
            display_name: None,
        },
    );
    cmd(&mut p, t0, Command::Accept { call: None });
    let hold = |p: &mut Softphone, held| {
        sip(
            p,
            t0,
            SipInput::HoldResult {
                leg: Leg(1),
                held,
                ok: true,
            },
        )
    };
    hold(&mut p, true);
    sip(&mut p, t0, SipInput::Confirmed { leg: Leg(2) });
    let fx = cmd(&mut p, t0, Command::Merge);
    assert_eq!(
        wire(&fx),
        vec![
            SipAction::Hold {
                leg: Leg(1),
                hold: false
            },
            SipAction::Conference {
                legs: vec![Leg(1), Leg(2)]
            }
        ]
    );
    hold(&mut p, false);
    p
}

#[test]
fn leaving_a_three_way_call_hands_the_far_ends_to_each_other() {
    let t0 = Instant::now();
    // Not in a three-way call: nothing to hand over, nothing to end.
    let mut p = in_call(t0);
    assert!(matches!(
        notices(&cmd(&mut p, t0, Command::CompleteTransfer))[..],
        [Notice::NotNow(NotNow::NoConsult)]
    ));
    assert!(matches!(
        notices(&cmd(&mut p, t0, Command::EndConference))[..],
        [Notice::NotNow(NotNow::NeedTwoCalls)]
    ));
    let mut p = merged(t0);
    assert_eq!(
        wire(&cmd(&mut p, t0, Command::CompleteTransfer)),
        vec![SipAction::AttendedRefer {
            leg: Leg(1),
            target: "1002".into(),
            replaces: Leg(2)
        }]
    );
    sip(
        &mut p,
        t0,
        SipInput::ReferAnswered {
            leg: Leg(1),
            code: 202,
        },
    );
    // 1002 takes the INVITE with Replaces and BYEs our leg to it; the
    // final NOTIFY says the far ends talk: we leave the first call too.
    sip(&mut p, t0, SipInput::RemoteBye { leg: Leg(2) });
    let fx = sip(
        &mut p,
        t0,
        SipInput::TransferProgress {
            leg: Leg(1),
            code: 200,
            done: true,
        },
    );
    assert_eq!(wire(&fx), vec![SipAction::Bye { leg: Leg(1) }]);
    assert!(fx.contains(&Effect::Emit(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Transferred {
            target: "1002".into()
        })
    })));
    assert!(!p.has_calls());
}

#[test]
fn ending_a_three_way_call_ends_both_calls() {
    let t0 = Instant::now();
    let mut p = merged(t0);
    let fx = cmd(&mut p, t0, Command::EndConference);
    assert_eq!(
        wire(&fx),
        vec![
            SipAction::Bye { leg: Leg(1) },
            SipAction::Bye { leg: Leg(2) }
        ]
    );
    for id in [CallId(1), CallId(2)] {
        assert!(fx.contains(&Effect::Emit(Event::Call {
            call: id,
            event: CallEvent::Ended(EndReason::LocalHangup)
        })));
    }
    assert!(!p.has_calls());
    // A call of the mix that ended leaves no three-way call behind.
    let mut p = merged(t0);
    sip(&mut p, t0, SipInput::RemoteBye { leg: Leg(2) });
    assert!(matches!(
        notices(&cmd(&mut p, t0, Command::EndConference))[..],
        [Notice::NotNow(NotNow::NeedTwoCalls)]
    ));
}

#[test]
fn after_a_takeover_the_book_names_the_new_party() {
    use crate::call::book::CallBook;
    let t0 = Instant::now();
    let mut book = CallBook::new();
    let mut p = Softphone::new(Policy::default());
    let feed = |book: &mut CallBook<Instant>, fx: Vec<Effect>| {
        for e in fx {
            if let Effect::Emit(ev) = e {
                book.apply(t0, &ev);
            }
        }
    };
    let fx = sip(
        &mut p,
        t0,
        SipInput::Incoming {
            leg: Leg(1),
            number: "1001".into(),
            display_name: Some("Alice".into()),
        },
    );
    feed(&mut book, fx);
    let fx = cmd(&mut p, t0, Command::Accept { call: None });
    feed(&mut book, fx);
    let fx = sip(&mut p, t0, SipInput::Confirmed { leg: Leg(1) });
    feed(&mut book, fx);
    let fx = sip(
        &mut p,
        t0,
        SipInput::Replacing {
            leg: Leg(5),
            replaces: Leg(1),
            number: "1002".into(),
            display_name: Some("Carol".into()),
        },
    );
    assert!(fx.contains(&Effect::Emit(Event::Call {
        call: CallId(1),
        event: CallEvent::PartyChanged {
            number: "1002".into(),
            name: Some("Carol".into())
        }
    })));
    feed(&mut book, fx);
    let fx = sip(&mut p, t0, SipInput::Confirmed { leg: Leg(5) });
    feed(&mut book, fx);
    // A party without a display name: Carol's name does not stay on.
    let fx = sip(
        &mut p,
        t0,
        SipInput::Replacing {
            leg: Leg(6),
            replaces: Leg(5),
            number: "1003".into(),
            display_name: None,
        },
    );
    assert_eq!(
        book.get(CallId(1))
            .map(|c| (c.number.clone(), c.name.clone())),
        Some(("1002".to_string(), Some("Carol".to_string())))
    );
    feed(&mut book, fx);
    let c = book
        .get(CallId(1))
        .map(|c| (c.number.clone(), c.name.clone()));
    assert_eq!(c, Some(("1003".to_string(), None)));
    assert_eq!(book.calls().len(), 1, "one call, one row");
}

#[test]
fn a_transferor_that_never_ends_the_old_call_gets_our_bye_after_64_t1() {
    let t0 = Instant::now();
    let mut p = in_call(t0);
    sip(&mut p, t0, referred(None));
    let t1 = t0 + Duration::from_secs(3);
    let fx = sip(&mut p, t1, SipInput::Answered { leg: Leg(2) });
    assert_eq!(
        wire(&fx),
        vec![SipAction::ReferNotify {
            leg: Leg(1),
            code: 200,
            done: true
        }]
    );
    // RFC 5589 §6: the transferor's BYE is due; we wait 64*T1 for it.
    assert_eq!(p.poll_timeout(), Some(t1 + 64 * T1));
    p.handle_timeout(t1 + 64 * T1 - Duration::from_millis(1));
    assert!(drain(&mut p).is_empty());
    p.handle_timeout(t1 + 64 * T1);
    let fx = drain(&mut p);
    assert_eq!(wire(&fx), vec![SipAction::Bye { leg: Leg(1) }]);
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Emit(Event::Call {
                call: CallId(1),
                event: CallEvent::Ended(EndReason::Transferred { .. })
            })
        )),
        "{fx:?}"
    );
    // The new call goes on, and nothing is left to wait for.
    assert_eq!(p.call_of(Leg(1)), None);
    assert_eq!(p.call_of(Leg(2)), Some(CallId(2)));
    assert_eq!(p.poll_timeout(), None);

    // A transferor that does end it in time: no BYE of ours, no timer.
    let mut p = in_call(t0);
    sip(&mut p, t0, referred(None));
    sip(&mut p, t1, SipInput::Answered { leg: Leg(2) });
    sip(&mut p, t1, SipInput::RemoteBye { leg: Leg(1) });
    assert_eq!(p.poll_timeout(), None);
    p.handle_timeout(t1 + 64 * T1);
    assert!(wire(&drain(&mut p)).is_empty());
}
