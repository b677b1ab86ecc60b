//! The SIP-leg core with a fake clock and scripted UA inputs: every
//! transition, and every row of the end-reason table.

use std::time::{Duration, Instant};

use super::*;
use crate::engine::EndReason;

const L: Leg = Leg(7);
const RING: Duration = Duration::from_secs(30);

fn wire(a: SipAction) -> Step {
    Step {
        wire: Some(a),
        news: None,
    }
}

fn news(n: News) -> Step {
    Step {
        wire: None,
        news: Some(n),
    }
}

fn both(a: SipAction, n: News) -> Step {
    Step {
        wire: Some(a),
        news: Some(n),
    }
}

fn ended(r: EndReason) -> Step {
    news(News::Ended(r))
}

fn nothing() -> Step {
    Step::default()
}

/// An inbound leg that rings, with the inbound ring timeout.
fn ringing(t0: Instant) -> SipLeg {
    let (s, step) = SipLeg::incoming(L, t0, Some(RING));
    assert_eq!(step, wire(SipAction::Ringing { leg: L }));
    assert_eq!(s.state(), State::Ringing);
    assert!(s.inbound());
    assert_eq!(s.deadline(), Some(t0 + RING));
    s
}

fn answering(t0: Instant) -> SipLeg {
    let mut s = ringing(t0);
    assert_eq!(s.answer(t0), wire(SipAction::Accept { leg: L }));
    s
}

fn inbound_up(t0: Instant) -> SipLeg {
    let mut s = answering(t0);
    assert_eq!(
        s.input(t0, &SipInput::Confirmed { leg: L }),
        news(News::Confirmed)
    );
    s
}

/// An outbound leg (our INVITE), with the ring timeout.
fn dialing(t0: Instant) -> SipLeg {
    let (s, step) = SipLeg::dial(L, "1002".into(), t0, Some(RING));
    assert_eq!(
        step,
        wire(SipAction::Invite {
            leg: L,
            target: "1002".into()
        })
    );
    assert_eq!(s.state(), State::Dialing);
    assert!(!s.inbound());
    assert_eq!(s.deadline(), Some(t0 + RING));
    s
}

fn early(t0: Instant) -> SipLeg {
    let mut s = dialing(t0);
    let p = SipInput::Progress { leg: L, code: 180 };
    assert_eq!(s.input(t0, &p), news(News::Early));
    assert_eq!(s.state(), State::Early);
    s
}

fn outbound_up(t0: Instant) -> SipLeg {
    let mut s = early(t0);
    assert_eq!(
        s.input(t0, &SipInput::Answered { leg: L }),
        news(News::Answered)
    );
    s
}

fn failed(code: Option<u16>) -> SipInput {
    SipInput::Failed { leg: L, code }
}

// ---- inbound ------------------------------------------------------------

#[test]
fn inbound_rings_is_answered_acked_and_hung_up() {
    let t0 = Instant::now();
    let mut s = answering(t0);
    assert_eq!(s.state(), State::Answering);
    // Our 200 is retransmitted until the ACK, 64*T1 at most.
    assert_eq!(s.deadline(), Some(t0 + 64 * T1));
    // A second answer does nothing on the wire.
    assert_eq!(s.answer(t0), nothing());
    assert_eq!(
        s.input(t0, &SipInput::Confirmed { leg: L }),
        news(News::Confirmed)
    );
    assert_eq!(s.state(), State::Confirmed);
    assert_eq!(s.deadline(), None);
    assert!(s.is_live());
    assert_eq!(
        s.hang_up(t0),
        both(
            SipAction::Bye { leg: L },
            News::Ended(EndReason::LocalHangup)
        )
    );
    assert!(s.is_over());
    // Gone: nothing more happens, whatever comes.
    assert_eq!(s.hang_up(t0), nothing());
    assert_eq!(s.input(t0, &SipInput::RemoteBye { leg: L }), nothing());
}

#[test]
fn inbound_hang_up_before_the_ack_is_a_bye() {
    let t0 = Instant::now();
    let mut s = answering(t0);
    assert_eq!(
        s.hang_up(t0),
        both(
            SipAction::Bye { leg: L },
            News::Ended(EndReason::LocalHangup)
        )
    );
}

#[test]
fn inbound_far_end_bye() {
    let t0 = Instant::now();
    let mut s = inbound_up(t0);
    assert_eq!(
        s.input(t0, &SipInput::RemoteBye { leg: L }),
        ended(EndReason::RemoteHangup)
    );
    assert!(s.is_over());
}

#[test]
fn inbound_reject_decline_and_hang_up_while_ringing() {
    let t0 = Instant::now();
    let mut s = ringing(t0);
    assert_eq!(
        s.reject(t0, 603),
        both(
            SipAction::Reject { leg: L, code: 603 },
            News::Ended(EndReason::Rejected { code: 603 })
        )
    );
    assert!(s.is_over());
    // Hanging up a ringing call is Busy Here.
    let mut s = ringing(t0);
    assert_eq!(
        s.hang_up(t0),
        both(
            SipAction::Reject { leg: L, code: 486 },
            News::Ended(EndReason::Rejected { code: 486 })
        )
    );
    // A reject of a call already up hangs it up the way its state needs.
    let mut s = inbound_up(t0);
    assert_eq!(
        s.reject(t0, 486),
        both(
            SipAction::Bye { leg: L },
            News::Ended(EndReason::LocalHangup)
        )
    );
}

#[test]
fn the_callers_cancel_is_a_missed_call() {
    let t0 = Instant::now();
    for mut s in [ringing(t0), answering(t0)] {
        assert_eq!(
            s.input(t0, &SipInput::RemoteCancel { leg: L }),
            ended(EndReason::Cancelled)
        );
        assert!(s.is_over());
    }
}

#[test]
fn inbound_ring_timeout_is_480_and_a_missed_call() {
    let t0 = Instant::now();
    let mut s = ringing(t0);
    assert_eq!(s.timeout(t0 + RING - Duration::from_millis(1)), nothing());
    assert_eq!(s.state(), State::Ringing);
    assert_eq!(
        s.timeout(t0 + RING),
        both(
            SipAction::Reject { leg: L, code: 480 },
            News::Ended(EndReason::NoAnswer)
        )
    );
    assert!(s.is_over());
    assert_eq!(s.deadline(), None);
    // No inbound ring timeout: it rings until the caller gives up.
    let (s, _) = SipLeg::incoming(L, t0, None);
    assert_eq!(s.deadline(), None);
}

#[test]
fn no_ack_for_our_200_is_a_bye_after_64_t1() {
    let t0 = Instant::now();
    let mut s = answering(t0);
    assert_eq!(
        s.timeout(t0 + 64 * T1 - Duration::from_millis(1)),
        nothing()
    );
    assert_eq!(
        s.timeout(t0 + 64 * T1),
        both(
            SipAction::Bye { leg: L },
            News::Ended(EndReason::TransportLost)
        )
    );
    // The UA saying the same (its transaction timed out) is the same end.
    let mut s = answering(t0);
    assert_eq!(s.input(t0, &failed(None)), ended(EndReason::TransportLost));
}

// ---- outbound -----------------------------------------------------------

#[test]
fn outbound_rings_once_answers_and_the_far_end_hangs_up() {
    let t0 = Instant::now();
    let mut s = dialing(t0);
    // 100 Trying and 181/182 say nothing about ringing.
    for code in [100, 181, 182] {
        assert_eq!(s.input(t0, &SipInput::Progress { leg: L, code }), nothing());
    }
    assert_eq!(s.state(), State::Dialing);
    let mut s = early(t0);
    // A second 18x is not news.
    assert_eq!(
        s.input(t0, &SipInput::Progress { leg: L, code: 183 }),
        nothing()
    );
    assert_eq!(
        s.input(t0, &SipInput::Answered { leg: L }),
        news(News::Answered)
    );
    assert_eq!(s.state(), State::Confirmed);
    assert_eq!(s.deadline(), None);
    // The ring timeout no longer applies.
    assert_eq!(s.timeout(t0 + RING), nothing());
    assert_eq!(
        s.input(t0, &SipInput::RemoteBye { leg: L }),
        ended(EndReason::RemoteHangup)
    );
    // A 200 straight after the INVITE (no 18x) is an answer too.
    let mut s = dialing(t0);
    assert_eq!(
        s.input(t0, &SipInput::Answered { leg: L }),
        news(News::Answered)
    );
}

#[test]
fn outbound_hang_up_after_the_answer_is_a_bye() {
    let t0 = Instant::now();
    let mut s = outbound_up(t0);
    assert_eq!(
        s.hang_up(t0),
        both(
            SipAction::Bye { leg: L },
            News::Ended(EndReason::LocalHangup)
        )
    );
}

/// The end-reason table for a final answer to our INVITE: every row,
/// from the Dialing and the Early state.
#[test]
fn every_final_answer_maps_to_one_end_reason() {
    let t0 = Instant::now();
    let failed_with = |c| EndReason::Failed {
        error_code: None,
        sip_code: Some(c),
    };
    let rows = [
        (None, EndReason::Timeout),
        (Some(486), EndReason::Busy),
        (Some(600), EndReason::Busy),
        (Some(408), EndReason::NoAnswer),
        (Some(480), EndReason::NoAnswer),
        // Not caused by us: the network stopped the ringing.
        (Some(487), EndReason::NoAnswer),
        (Some(403), failed_with(403)),
        (Some(404), failed_with(404)),
        (Some(500), failed_with(500)),
        (Some(503), failed_with(503)),
        (Some(603), failed_with(603)),
    ];
    for (code, reason) in rows {
        for mut s in [dialing(t0), early(t0)] {
            assert_eq!(
                s.input(t0, &failed(code)),
                news(News::Failed {
                    code,
                    reason: reason.clone()
                }),
                "{code:?} from {:?}",
                s.state()
            );
            assert!(s.is_over());
            assert_eq!(s.deadline(), None);
        }
        assert_eq!(Ending::Refused(code).reason(), reason, "{code:?}");
    }
}

/// The agent's CANCEL: the end is told at once (`Cancelled`), and the 487
/// that our CANCEL asks for (RFC 3261 §9.1, §9.2) is not news again.
#[test]
fn our_cancel_ends_it_at_once_and_its_487_is_not_news() {
    let t0 = Instant::now();
    for mut s in [dialing(t0), early(t0)] {
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(
            s.hang_up(t1),
            both(
                SipAction::Cancel { leg: L },
                News::Ended(EndReason::Cancelled)
            )
        );
        assert_eq!(s.state(), State::Cancelling);
        assert!(!s.is_live() && !s.is_over());
        assert_eq!(s.deadline(), Some(t1 + 64 * T1));
        // A second hang-up, more 18x: nothing.
        assert_eq!(s.hang_up(t1), nothing());
        assert_eq!(
            s.input(t1, &SipInput::Progress { leg: L, code: 180 }),
            nothing()
        );
        assert_eq!(s.input(t1, &failed(Some(487))), nothing());
        assert!(s.is_over());
    }
    // Any other final after our CANCEL is no news either.
    let mut s = dialing(t0);
    s.hang_up(t0);
    assert_eq!(s.input(t0, &failed(Some(486))), nothing());
    assert!(s.is_over());
}

#[test]
fn a_200_crossing_our_cancel_is_byed_without_a_word() {
    let t0 = Instant::now();
    let mut s = early(t0);
    s.hang_up(t0);
    assert_eq!(
        s.input(t0, &SipInput::Answered { leg: L }),
        wire(SipAction::Bye { leg: L })
    );
    assert!(s.is_over());
    // A BYE from the far end in that state: also quietly over.
    let mut s = early(t0);
    s.hang_up(t0);
    assert_eq!(s.input(t0, &SipInput::RemoteBye { leg: L }), nothing());
    assert!(s.is_over());
}

#[test]
fn a_cancel_never_answered_is_abandoned_after_64_t1() {
    let t0 = Instant::now();
    let mut s = early(t0);
    s.hang_up(t0);
    assert_eq!(
        s.timeout(t0 + 64 * T1 - Duration::from_millis(1)),
        nothing()
    );
    assert_eq!(s.timeout(t0 + 64 * T1), wire(SipAction::Abandon { leg: L }));
    assert!(s.is_over());
    assert_eq!(s.deadline(), None);
    // A final answer after that finds nothing.
    assert_eq!(s.input(t0, &SipInput::Answered { leg: L }), nothing());
}

#[test]
fn outbound_ring_timeout_cancels_as_no_answer() {
    let t0 = Instant::now();
    for mut s in [dialing(t0), early(t0)] {
        assert_eq!(s.timeout(t0 + RING - Duration::from_millis(1)), nothing());
        assert_eq!(
            s.timeout(t0 + RING),
            both(
                SipAction::Cancel { leg: L },
                News::Ended(EndReason::NoAnswer)
            )
        );
        assert_eq!(s.state(), State::Cancelling);
        assert_eq!(s.deadline(), Some(t0 + RING + 64 * T1));
        // Its 487 is ours: not news.
        assert_eq!(s.input(t0 + RING, &failed(Some(487))), nothing());
    }
    // No ring timeout: it rings until someone ends it.
    let (s, _) = SipLeg::dial(L, "1002".into(), t0, None);
    assert_eq!(s.deadline(), None);
}

// ---- either way ---------------------------------------------------------

#[test]
fn the_transport_dies_under_every_live_leg_but_a_cancel_keeps_its_clock() {
    let t0 = Instant::now();
    for mut s in [
        ringing(t0),
        answering(t0),
        inbound_up(t0),
        dialing(t0),
        early(t0),
        outbound_up(t0),
    ] {
        assert_eq!(s.transport_lost(), ended(EndReason::TransportLost));
        assert!(s.is_over());
    }
    let mut s = early(t0);
    s.hang_up(t0);
    assert_eq!(s.transport_lost(), nothing());
    assert_eq!(s.state(), State::Cancelling);
}

/// The media path died: the leg is ended the way its state needs, and the
/// agent is told `TransportLost`.
#[test]
fn a_dead_media_path_ends_the_leg() {
    let t0 = Instant::now();
    let lost = SipInput::MediaLost { leg: L };
    let why = News::Ended(EndReason::TransportLost);
    for mut s in [answering(t0), inbound_up(t0), outbound_up(t0)] {
        assert_eq!(
            s.input(t0, &lost),
            both(SipAction::Bye { leg: L }, why.clone())
        );
        assert!(s.is_over());
    }
    let mut s = ringing(t0);
    assert_eq!(
        s.input(t0, &lost),
        both(SipAction::Reject { leg: L, code: 480 }, why.clone())
    );
    let mut s = early(t0);
    assert_eq!(
        s.input(t0, &lost),
        both(SipAction::Cancel { leg: L }, why.clone())
    );
    assert_eq!(s.state(), State::Cancelling);
}

#[test]
fn leaving_a_call_that_is_up_carries_the_callers_reason() {
    let t0 = Instant::now();
    let moved = EndReason::Transferred {
        target: "1003".into(),
    };
    let mut s = outbound_up(t0);
    assert_eq!(
        s.leave(moved.clone()),
        both(SipAction::Bye { leg: L }, News::Ended(moved.clone()))
    );
    assert!(s.is_over());
    // Not up: no BYE to send.
    for mut s in [ringing(t0), dialing(t0)] {
        assert_eq!(s.leave(moved.clone()), nothing());
        assert!(s.is_live());
    }
}

#[test]
fn inputs_about_another_leg_or_not_about_the_dialog_change_nothing() {
    let t0 = Instant::now();
    let mut s = dialing(t0);
    let other = Leg(8);
    assert_eq!(s.input(t0, &SipInput::Answered { leg: other }), nothing());
    assert_eq!(s.input(t0, &SipInput::TransportLost), nothing());
    assert_eq!(
        s.input(t0, &SipInput::Dtmf { leg: L, digit: '5' }),
        nothing()
    );
    // An ACK is for inbound legs only.
    assert_eq!(s.input(t0, &SipInput::Confirmed { leg: L }), nothing());
    assert_eq!(s.state(), State::Dialing);
    // An answer is for outbound legs only.
    let mut s = ringing(t0);
    assert_eq!(s.input(t0, &SipInput::Answered { leg: L }), nothing());
    assert_eq!(s.state(), State::Ringing);
}

/// The whole table, one row each (`end.rs`).
#[test]
fn every_row_of_the_end_reason_table() {
    let rows = [
        (Ending::Refused(None), EndReason::Timeout),
        (Ending::Refused(Some(486)), EndReason::Busy),
        (Ending::Refused(Some(600)), EndReason::Busy),
        (Ending::Refused(Some(408)), EndReason::NoAnswer),
        (Ending::Refused(Some(480)), EndReason::NoAnswer),
        (Ending::Refused(Some(487)), EndReason::NoAnswer),
        (
            Ending::Refused(Some(404)),
            EndReason::Failed {
                error_code: None,
                sip_code: Some(404),
            },
        ),
        (Ending::AgentCancelled, EndReason::Cancelled),
        (Ending::RingTimeout, EndReason::NoAnswer),
        (Ending::Rejected(603), EndReason::Rejected { code: 603 }),
        (Ending::NotAnswered, EndReason::NoAnswer),
        (Ending::CallerCancelled, EndReason::Cancelled),
        (Ending::NoAck, EndReason::TransportLost),
        (Ending::LocalBye, EndReason::LocalHangup),
        (Ending::RemoteBye, EndReason::RemoteHangup),
        (Ending::TransportLost, EndReason::TransportLost),
    ];
    for (ending, reason) in rows {
        assert_eq!(ending.reason(), reason, "{ending:?}");
    }
}

/// Both accounts (softphone, VCC voice leg) hand exactly these inputs to
/// the leg core: a dialog event left out would never end the leg, and an
/// account's own event let in would be read twice.
#[test]
fn dialog_leg_names_the_dialog_events_and_only_them() {
    let dialog = [
        SipInput::Progress { leg: L, code: 180 },
        SipInput::Answered { leg: L },
        SipInput::Confirmed { leg: L },
        SipInput::Failed {
            leg: L,
            code: Some(486),
        },
        SipInput::RemoteCancel { leg: L },
        SipInput::RemoteBye { leg: L },
        SipInput::MediaLost { leg: L },
    ];
    for ev in &dialog {
        assert_eq!(ev.dialog_leg(), Some(L), "{ev:?}");
    }
    let own = [
        SipInput::Incoming {
            leg: L,
            number: "1001".into(),
            display_name: None,
        },
        SipInput::RemoteHold { leg: L, held: true },
        SipInput::HoldResult {
            leg: L,
            held: true,
            ok: true,
        },
        SipInput::TransferProgress {
            leg: L,
            code: 200,
            done: true,
        },
        SipInput::ReferAnswered { leg: L, code: 202 },
        SipInput::Dtmf { leg: L, digit: '5' },
        SipInput::Quality {
            leg: L,
            quality: crate::engine::Quality {
                jitter_ms: 0.0,
                loss_pct: 0.0,
                rtt_ms: 0.0,
                mos: 4.4,
            },
        },
        SipInput::TransportLost,
        SipInput::Referred {
            leg: L,
            target: "sip:1002@pbx".into(),
            replaces: None,
        },
        SipInput::Replacing {
            leg: L,
            replaces: Leg(8),
            number: "1003".into(),
            display_name: None,
        },
    ];
    for ev in &own {
        assert_eq!(ev.dialog_leg(), None, "{ev:?}");
    }
}
