//! One INVITE dialog as the agent's side runs it, sans-IO: the state, the
//! transitions from UA events and the agent's orders, and the deadlines.
//!
//! ```text
//!  inbound:  Ringing ──answer (200)──▶ Answering ──ACK──▶ Confirmed ──BYE──▶ Over
//!               ├──reject / hang up (486, 603…)──▶ Over
//!               ├──caller CANCEL──▶ Over
//!               └──inbound ring timeout (480)──▶ Over
//!            Answering ──no ACK in 64*T1 (BYE)──▶ Over
//!  outbound: Dialing ──18x──▶ Early ──200──▶ Confirmed
//!               ├──final non-2xx──▶ Over (the end-reason table)
//!               └──hang up / ring timeout (CANCEL)──▶ Cancelling
//!            Cancelling ──487 or any final──▶ Over (no news)
//!                       ──200 (crossed the CANCEL)──▶ BYE, Over (no news)
//!                       ──64*T1, nothing──▶ Abandon, Over
//! ```
//!
//! The agent hears of the end once, when it happens for them: a CANCEL
//! frees the console at once, and what the far end does after it is
//! handled in the background (`Cancelling`) without a word.

use std::time::{Duration, Instant};

use super::end::Ending;
use super::wire::{Leg, SipAction, SipInput, T1};
use crate::engine::EndReason;

/// Where the dialog is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Inbound: the INVITE is in and rings (180 sent), not answered.
    Ringing,
    /// Inbound: our 200 is out, its ACK is not in (RFC 3261 §13.3.1.4).
    Answering,
    /// Outbound: our INVITE is out, no ringing yet.
    Dialing,
    /// Outbound: 180/183 came (an early dialog, RFC 3261 §12.1, §13.2.2.4).
    Early,
    /// The dialog is up: 200 and ACK, either way.
    Confirmed,
    /// Outbound: we sent CANCEL; over for the agent, the INVITE
    /// transaction still runs (RFC 3261 §9.1).
    Cancelling,
    /// Gone.
    Over,
}

/// What the agent hears of a transition.
#[derive(Debug, Clone, PartialEq)]
pub enum News {
    /// 180/183 on our INVITE: the far end rings (said once).
    Early,
    /// 200 on our INVITE: the far end answered.
    Answered,
    /// The ACK for our 200: the inbound call is up.
    Confirmed,
    /// Our INVITE failed with this final answer (`None`: none came); the
    /// code is for the error table (`call::errors`).
    Failed {
        code: Option<u16>,
        reason: EndReason,
    },
    /// The leg is over for the agent.
    Ended(EndReason),
}

impl News {
    /// Why the leg ended, when this news is its end.
    pub fn end_reason(&self) -> Option<&EndReason> {
        match self {
            News::Failed { reason, .. } | News::Ended(reason) => Some(reason),
            News::Early | News::Answered | News::Confirmed => None,
        }
    }
}

/// One transition's effects: at most one request or response on the wire,
/// then at most one piece of news, in that order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    pub wire: Option<SipAction>,
    pub news: Option<News>,
}

impl Step {
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

    fn ended(e: Ending) -> Step {
        Step::news(News::Ended(e.reason()))
    }
}

/// One SIP leg (one INVITE dialog).
#[derive(Debug, Clone, PartialEq)]
pub struct SipLeg {
    leg: Leg,
    inbound: bool,
    state: State,
    /// Give up at this instant: ringing either way, our 200's ACK, or the
    /// CANCELled INVITE's final answer.
    deadline: Option<Instant>,
}

impl SipLeg {
    /// An INVITE to us: say 180 Ringing. It rings for `ring_timeout` at
    /// most (`None`: until the caller gives up).
    pub fn incoming(leg: Leg, now: Instant, ring_timeout: Option<Duration>) -> (SipLeg, Step) {
        let s = SipLeg {
            leg,
            inbound: true,
            state: State::Ringing,
            deadline: ring_timeout.map(|t| now + t),
        };
        (s, Step::wire(SipAction::Ringing { leg }))
    }

    /// Our INVITE to `target`, CANCELled after `ring_timeout` if nobody
    /// answers (`None`: never).
    pub fn dial(
        leg: Leg,
        target: String,
        now: Instant,
        ring_timeout: Option<Duration>,
    ) -> (SipLeg, Step) {
        let s = SipLeg {
            leg,
            inbound: false,
            state: State::Dialing,
            deadline: ring_timeout.map(|t| now + t),
        };
        (s, Step::wire(SipAction::Invite { leg, target }))
    }

    pub fn leg(&self) -> Leg {
        self.leg
    }

    pub fn inbound(&self) -> bool {
        self.inbound
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Nothing left to do for this leg.
    pub fn is_over(&self) -> bool {
        self.state == State::Over
    }

    /// Still the agent's: neither over nor only waiting out our CANCEL.
    pub fn is_live(&self) -> bool {
        !matches!(self.state, State::Over | State::Cancelling)
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    fn over(&mut self) {
        self.state = State::Over;
        self.deadline = None;
    }

    /// CANCEL our INVITE: over for the agent now, the transaction kept for
    /// 64*T1 to clean up whatever the far end does next (RFC 3261 §9.1).
    fn cancel(&mut self, now: Instant, why: Ending) -> Step {
        self.state = State::Cancelling;
        self.deadline = Some(now + 64 * T1);
        Step::both(
            SipAction::Cancel { leg: self.leg },
            News::Ended(why.reason()),
        )
    }

    /// The agent answers a ringing call: our 200, retransmitted until the
    /// ACK for 64*T1 at most (RFC 3261 §13.3.1.4).
    pub fn answer(&mut self, now: Instant) -> Step {
        if self.state != State::Ringing {
            return Step::default();
        }
        self.state = State::Answering;
        self.deadline = Some(now + 64 * T1);
        Step::wire(SipAction::Accept { leg: self.leg })
    }

    /// The agent hangs up, whatever the state needs: 486 to a call still
    /// ringing, CANCEL before an answer, BYE after ours or theirs.
    pub fn hang_up(&mut self, now: Instant) -> Step {
        match self.state {
            State::Ringing => self.reject(now, 486),
            State::Dialing | State::Early => self.cancel(now, Ending::AgentCancelled),
            State::Answering | State::Confirmed => self.leave(Ending::LocalBye.reason()),
            State::Cancelling | State::Over => Step::default(),
        }
    }

    /// The agent turns a ringing call down with `code` (486 Busy Here, 603
    /// Decline…). A leg no longer ringing is hung up instead.
    pub fn reject(&mut self, now: Instant, code: u16) -> Step {
        if self.state != State::Ringing {
            return self.hang_up(now);
        }
        self.over();
        Step::both(
            SipAction::Reject {
                leg: self.leg,
                code,
            },
            News::Ended(Ending::Rejected(code).reason()),
        )
    }

    /// BYE a leg that is up, for a reason of the caller's (a hang-up, a
    /// finished transfer).
    pub fn leave(&mut self, reason: EndReason) -> Step {
        if !matches!(self.state, State::Answering | State::Confirmed) {
            return Step::default();
        }
        self.over();
        Step::both(SipAction::Bye { leg: self.leg }, News::Ended(reason))
    }

    /// The deadline passed (the caller checks `deadline() <= now`).
    pub fn timeout(&mut self, now: Instant) -> Step {
        if self.deadline.is_none_or(|d| d > now) {
            return Step::default();
        }
        match self.state {
            // Nobody answered here, and the caller never cancelled: 480
            // Temporarily Unavailable (RFC 3261 §21.4.18), a missed call.
            State::Ringing => {
                self.over();
                Step::both(
                    SipAction::Reject {
                        leg: self.leg,
                        code: 480,
                    },
                    News::Ended(Ending::NotAnswered.reason()),
                )
            }
            // Our 200 was never ACKed within 64*T1: end the session with
            // a BYE (RFC 3261 §13.3.1.4).
            State::Answering => self.leave(Ending::NoAck.reason()),
            // Nobody answered our INVITE in time.
            State::Dialing | State::Early => self.cancel(now, Ending::RingTimeout),
            // The CANCELled INVITE got no final answer within 64*T1: the
            // transaction is over (RFC 3261 §9.1); tell the UA to drop it.
            State::Cancelling => {
                self.over();
                Step::wire(SipAction::Abandon { leg: self.leg })
            }
            State::Confirmed | State::Over => {
                self.deadline = None;
                Step::default()
            }
        }
    }

    /// The signalling transport died: every dialog on it is gone. A
    /// CANCELled INVITE keeps its own 64*T1 (the agent has moved on).
    pub fn transport_lost(&mut self) -> Step {
        if !self.is_live() {
            return Step::default();
        }
        self.over();
        Step::ended(Ending::TransportLost)
    }

    /// What the UA says about this leg. Inputs that are not about the
    /// dialog's state (hold, transfer, DTMF, quality) change nothing here.
    pub fn input(&mut self, now: Instant, ev: &SipInput) -> Step {
        if ev.leg() != Some(self.leg) {
            return Step::default();
        }
        match (self.state, ev) {
            (State::Over, _) => Step::default(),
            (State::Cancelling, SipInput::Answered { .. }) => {
                // The 200 crossed our CANCEL (RFC 3261 §9.1, §15): the UA
                // ACKed it, we end the dialog with BYE; the agent has
                // moved on.
                self.over();
                Step::wire(SipAction::Bye { leg: self.leg })
            }
            (State::Cancelling, SipInput::Failed { .. } | SipInput::RemoteBye { .. }) => {
                // The 487 our CANCEL asked for (RFC 3261 §9.2), or any
                // other end: not news, the agent heard `Cancelled` (or
                // `NoAnswer`) when the CANCEL went out.
                self.over();
                Step::default()
            }
            (State::Cancelling, _) => Step::default(),
            (
                State::Dialing,
                SipInput::Progress {
                    code: 180 | 183, ..
                },
            ) => {
                self.state = State::Early;
                Step::news(News::Early)
            }
            (State::Dialing | State::Early, SipInput::Answered { .. }) => {
                self.state = State::Confirmed;
                self.deadline = None;
                Step::news(News::Answered)
            }
            (State::Dialing | State::Early, SipInput::Failed { code, .. }) => {
                self.over();
                Step::news(News::Failed {
                    code: *code,
                    reason: Ending::Refused(*code).reason(),
                })
            }
            (State::Answering, SipInput::Confirmed { .. }) => {
                self.state = State::Confirmed;
                self.deadline = None;
                Step::news(News::Confirmed)
            }
            // Inbound, the UA fails a leg only when its transaction died:
            // our 200 got no ACK (RFC 3261 §13.3.1.4).
            (_, SipInput::Failed { .. }) => {
                self.over();
                Step::ended(Ending::NoAck)
            }
            (_, SipInput::RemoteCancel { .. }) => {
                self.over();
                Step::ended(Ending::CallerCancelled)
            }
            (_, SipInput::RemoteBye { .. }) => {
                self.over();
                Step::ended(Ending::RemoteBye)
            }
            // The media path died (WebRTC: ICE gone and not back): hang up
            // rather than sit in a silent call (BYE, or CANCEL / 480 before
            // an answer), and say why.
            (_, SipInput::MediaLost { .. }) => {
                let mut step = match self.state {
                    State::Ringing => self.reject(now, 480),
                    _ => self.hang_up(now),
                };
                step.news = Some(News::Ended(Ending::TransportLost.reason()));
                step
            }
            _ => Step::default(),
        }
    }
}
