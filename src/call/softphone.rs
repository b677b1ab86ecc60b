//! The plain-SIP agent's call logic as a sans-IO state machine.
//!
//! `handle(now, input)` takes console commands and SIP dialog events and
//! queues effects (SIP actions for the UA, events for the console);
//! `poll_effect()` drains them and `poll_timeout()` names the next deadline.
//! It never reads the clock, so every flow runs in tests with a fake `now`.
//!
//! ```text
//!   inbound:  Ringing ──accept──▶ Answering ──ACK──▶ Active ⇄ Held ──BYE──▶ ended
//!                 └──reject / caller CANCEL──▶ ended
//!   outbound: Dialing ──18x──▶ Early ──200──▶ Active ⇄ Held ──BYE──▶ ended
//!                 └──CANCEL / non-2xx / ring timeout──▶ ended
//! ```
//!
//! Hold is a re-INVITE (RFC 3264 §8.4, RFC 6337 §5.3): the state flips only
//! when the peer's 200 arrives, so the screen never claims a hold that the
//! PBX did not take.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::engine::{Command, Direction, EndReason, Event, Notice, RingInfo, TransferTarget};
use crate::sip::SecondCall;

/// Our handle for one call leg (one INVITE dialog).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Leg(pub u64);

/// What the SIP layer tells the call logic.
#[derive(Debug, Clone, PartialEq)]
pub enum SipInput {
    /// A new INVITE arrived (already answered 100 Trying by the stack).
    Incoming {
        leg: Leg,
        number: String,
        display_name: Option<String>,
    },
    /// 180 / 183 on our INVITE.
    Progress {
        leg: Leg,
        code: u16,
    },
    /// 200 OK on our INVITE (ACK sent by the stack).
    Answered {
        leg: Leg,
    },
    /// The ACK for our 200 arrived: the inbound call is up.
    Confirmed {
        leg: Leg,
    },
    /// A final non-2xx on our INVITE; `None` when no response came at all.
    Failed {
        leg: Leg,
        code: Option<u16>,
    },
    /// The caller cancelled before we answered.
    RemoteCancel {
        leg: Leg,
    },
    RemoteBye {
        leg: Leg,
    },
    /// The peer put us on hold (`held`) or took us off it, by re-INVITE.
    RemoteHold {
        leg: Leg,
        held: bool,
    },
    /// The answer to our hold / unhold re-INVITE.
    HoldResult {
        leg: Leg,
        held: bool,
        ok: bool,
    },
    /// REFER accepted (202) or refused, and NOTIFY sipfrag progress.
    TransferProgress {
        leg: Leg,
        code: u16,
        done: bool,
    },
    Dtmf {
        leg: Leg,
        digit: char,
    },
    /// The signalling transport died: every call is gone.
    TransportLost,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Command(Command),
    Sip(SipInput),
}

/// What the UA must do on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipAction {
    Invite {
        leg: Leg,
        target: String,
    },
    Ringing {
        leg: Leg,
    },
    Accept {
        leg: Leg,
    },
    Reject {
        leg: Leg,
        code: u16,
    },
    Cancel {
        leg: Leg,
    },
    Bye {
        leg: Leg,
    },
    Hold {
        leg: Leg,
        hold: bool,
    },
    Refer {
        leg: Leg,
        target: String,
    },
    Dtmf {
        leg: Leg,
        digit: char,
    },
    /// Stop or resume sending the microphone (local, no signalling).
    Mute {
        leg: Leg,
        mute: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Sip(SipAction),
    Emit(Event),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ringing,
    Answering,
    Dialing,
    Early,
    Active,
}

#[derive(Debug, Clone)]
struct Call {
    leg: Leg,
    direction: Direction,
    number: String,
    phase: Phase,
    held: bool,
    hold_pending: bool,
    muted: bool,
    cancelling: bool,
    /// Outbound: give up at this instant if nobody answered.
    ring_deadline: Option<Instant>,
    /// Where our REFER sends the call (the end is then a transfer).
    transfer_to: Option<String>,
}

/// Settings the machine needs (from `[sip]`).
#[derive(Debug, Clone)]
pub struct Policy {
    pub second_call: SecondCall,
    pub ring_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            second_call: SecondCall::Reject,
            ring_timeout: Duration::from_secs(60),
        }
    }
}

pub struct Softphone {
    policy: Policy,
    /// Calls in arrival order; at most one is not held at any time.
    calls: Vec<Call>,
    next_leg: u64,
    effects: VecDeque<Effect>,
    shutting_down: bool,
}

/// Classify a dial string: digits, `+`, `*`, `#`, or a `sip:` / `tel:` URI.
pub fn normalise_target(input: &str) -> Result<String, Notice> {
    let t = input.trim();
    if let Some(rest) = t.strip_prefix("sip:").or_else(|| t.strip_prefix("sips:")) {
        if rest.is_empty() {
            return Err(Notice::BadNumber(input.to_string()));
        }
        return Ok(t.to_string());
    }
    let t = t.strip_prefix("tel:").unwrap_or(t);
    let t: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let valid = !t.is_empty()
        && t.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '*' || c == '#' || (c == '+' && i == 0))
        && t.chars().filter(|c| c.is_ascii_digit()).count() >= 1
        && t.len() <= 20;
    if valid {
        Ok(t)
    } else {
        Err(Notice::BadNumber(input.to_string()))
    }
}

impl Softphone {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            calls: Vec::new(),
            next_leg: 1,
            effects: VecDeque::new(),
            shutting_down: false,
        }
    }

    pub fn has_calls(&self) -> bool {
        !self.calls.is_empty()
    }

    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The earliest deadline (an outbound ring timeout), if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls.iter().filter_map(|c| c.ring_deadline).min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<Leg> = self
            .calls
            .iter()
            .filter(|c| c.ring_deadline.is_some_and(|d| d <= now) && !c.cancelling)
            .map(|c| c.leg)
            .collect();
        for leg in expired {
            if let Some(c) = self.find_mut(leg) {
                c.cancelling = true;
                c.ring_deadline = None;
            }
            self.sip(SipAction::Cancel { leg });
        }
    }

    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Command(cmd) => self.command(now, cmd),
            Input::Sip(ev) => self.sip_input(ev),
        }
    }

    fn emit(&mut self, e: Event) {
        self.effects.push_back(Effect::Emit(e));
    }

    fn sip(&mut self, a: SipAction) {
        self.effects.push_back(Effect::Sip(a));
    }

    fn find_mut(&mut self, leg: Leg) -> Option<&mut Call> {
        self.calls.iter_mut().find(|c| c.leg == leg)
    }

    fn remove(&mut self, leg: Leg) -> Option<Call> {
        let i = self.calls.iter().position(|c| c.leg == leg)?;
        Some(self.calls.remove(i))
    }

    /// The call the keys act on: a ringing call first (so Enter answers it),
    /// then the live (not held) call, then the most recent one.
    fn focus(&self) -> Option<&Call> {
        self.calls
            .iter()
            .find(|c| c.phase == Phase::Ringing)
            .or_else(|| self.calls.iter().find(|c| !c.held))
            .or_else(|| self.calls.last())
    }

    fn not_now(&mut self, why: &str) {
        self.emit(Event::Notice(Notice::NotNow(why.to_string())));
    }

    fn command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::CallOut(number) => self.call_out(now, &number),
            Command::Accept => self.accept(),
            Command::Reject { decline } => {
                let code = if decline { 603 } else { 486 };
                match self
                    .calls
                    .iter()
                    .find(|c| c.phase == Phase::Ringing)
                    .map(|c| c.leg)
                {
                    Some(leg) => self.reject(leg, code),
                    None => self.not_now("no call is ringing"),
                }
            }
            Command::End => self.end(),
            Command::ToggleHold => self.toggle_hold(),
            Command::ToggleMute => {
                let Some(c) = self
                    .calls
                    .iter_mut()
                    .find(|c| c.phase == Phase::Active && !c.held)
                else {
                    return self.not_now("not in a call");
                };
                c.muted = !c.muted;
                let (leg, mute) = (c.leg, c.muted);
                self.sip(SipAction::Mute { leg, mute });
                self.emit(Event::Muted(mute));
            }
            Command::SendDtmf(digit) => {
                match self
                    .calls
                    .iter()
                    .find(|c| c.phase == Phase::Active)
                    .map(|c| c.leg)
                {
                    Some(leg) if matches!(digit, '0'..='9' | '*' | '#' | 'A'..='D') => {
                        self.sip(SipAction::Dtmf { leg, digit })
                    }
                    Some(_) => self.not_now("DTMF digits are 0-9, *, #, A-D"),
                    None => self.not_now("not in a call"),
                }
            }
            Command::Transfer(target) => {
                let target = match target {
                    TransferTarget::Number(n) | TransferTarget::Agent(n) => n,
                    TransferTarget::Queue(q) => q,
                };
                let Some(leg) = self
                    .calls
                    .iter()
                    .find(|c| c.phase == Phase::Active)
                    .map(|c| c.leg)
                else {
                    return self.not_now("not in a call");
                };
                match normalise_target(&target) {
                    Ok(t) => {
                        if let Some(c) = self.find_mut(leg) {
                            c.transfer_to = Some(t.clone());
                        }
                        self.sip(SipAction::Refer { leg, target: t })
                    }
                    Err(n) => self.emit(Event::Notice(n)),
                }
            }
            Command::Shutdown => {
                self.shutting_down = true;
                let legs: Vec<(Leg, Phase)> = self.calls.iter().map(|c| (c.leg, c.phase)).collect();
                for (leg, phase) in legs {
                    match phase {
                        Phase::Ringing => self.reject(leg, 486),
                        Phase::Dialing | Phase::Early => self.sip(SipAction::Cancel { leg }),
                        Phase::Answering | Phase::Active => {
                            self.sip(SipAction::Bye { leg });
                            self.remove(leg);
                            self.emit(Event::Ended(EndReason::LocalHangup));
                        }
                    }
                }
            }
            // Control-plane commands of the VCC backend have no meaning for a
            // plain SIP account: say so rather than pretend.
            Command::ClaimVoice
            | Command::ToggleAvailability
            | Command::ChangeDevice(_)
            | Command::ListTransferAgents
            | Command::AnswerTransferOffer(_) => {
                self.not_now("a plain SIP account has no call-center control plane")
            }
            Command::Connect => {}
        }
    }

    fn call_out(&mut self, now: Instant, number: &str) {
        if self.shutting_down {
            return;
        }
        if self.calls.iter().any(|c| !c.held) {
            return self.not_now("already in a call: hold or end it first");
        }
        let target = match normalise_target(number) {
            Ok(t) => t,
            Err(n) => return self.emit(Event::Notice(n)),
        };
        let leg = Leg(self.next_leg);
        self.next_leg += 1;
        self.calls.push(Call {
            leg,
            direction: Direction::Outbound,
            number: target.clone(),
            phase: Phase::Dialing,
            held: false,
            hold_pending: false,
            muted: false,
            cancelling: false,
            ring_deadline: Some(now + self.policy.ring_timeout),
            transfer_to: None,
        });
        self.emit(Event::Dialing(target.clone()));
        self.sip(SipAction::Invite { leg, target });
    }

    fn accept(&mut self) {
        let Some(leg) = self
            .calls
            .iter()
            .find(|c| c.phase == Phase::Ringing)
            .map(|c| c.leg)
        else {
            return self.not_now("no call is ringing");
        };
        // A second call offered while one is live: hold the first (RFC 6337 §5.3).
        let live: Vec<Leg> = self
            .calls
            .iter()
            .filter(|c| c.leg != leg && c.phase == Phase::Active && !c.held && !c.hold_pending)
            .map(|c| c.leg)
            .collect();
        for other in live {
            if let Some(c) = self.find_mut(other) {
                c.hold_pending = true;
            }
            self.sip(SipAction::Hold {
                leg: other,
                hold: true,
            });
        }
        if let Some(c) = self.find_mut(leg) {
            c.phase = Phase::Answering;
        }
        self.sip(SipAction::Accept { leg });
    }

    fn reject(&mut self, leg: Leg, code: u16) {
        self.remove(leg);
        self.sip(SipAction::Reject { leg, code });
        self.emit(Event::Ended(EndReason::Rejected { code }));
    }

    fn end(&mut self) {
        let Some(c) = self.focus().cloned() else {
            return self.not_now("no call to end");
        };
        match c.phase {
            Phase::Ringing => self.reject(c.leg, 486),
            Phase::Dialing | Phase::Early => {
                if let Some(call) = self.find_mut(c.leg) {
                    call.cancelling = true;
                    call.ring_deadline = None;
                }
                self.sip(SipAction::Cancel { leg: c.leg });
            }
            Phase::Answering | Phase::Active => {
                self.remove(c.leg);
                self.sip(SipAction::Bye { leg: c.leg });
                self.emit(Event::Ended(EndReason::LocalHangup));
                self.resume_after_end();
            }
        }
    }

    /// After a call ends, a call left on hold by a second-call accept is
    /// shown again (still held: the agent resumes it with the hold key).
    fn resume_after_end(&mut self) {
        if let Some(c) = self.calls.iter().find(|c| c.phase == Phase::Active) {
            let (number, direction, held) = (c.number.clone(), c.direction, c.held);
            self.emit(Event::Ringing(RingInfo {
                phone: number,
                display_name: None,
                line: None,
                queue: None,
                direction,
                agent_leg: false,
            }));
            self.emit(Event::Accepted);
            self.emit(Event::Held(held));
        }
    }

    fn toggle_hold(&mut self) {
        let Some(c) = self
            .calls
            .iter_mut()
            .find(|c| c.phase == Phase::Active && !c.hold_pending)
        else {
            return self.not_now("not in a call");
        };
        c.hold_pending = true;
        let (leg, hold) = (c.leg, !c.held);
        self.sip(SipAction::Hold { leg, hold });
    }

    fn sip_input(&mut self, ev: SipInput) {
        match ev {
            SipInput::Incoming {
                leg,
                number,
                display_name,
            } => {
                self.next_leg = self.next_leg.max(leg.0 + 1);
                let busy = !self.calls.is_empty();
                if self.shutting_down || (busy && self.policy.second_call == SecondCall::Reject) {
                    // Busy Here (RFC 3261 §21.4.24): tell the agent who tried.
                    self.sip(SipAction::Reject { leg, code: 486 });
                    self.emit(Event::Notice(Notice::Info(format!(
                        "busy: rejected a second call from {number}"
                    ))));
                    return;
                }
                self.calls.push(Call {
                    leg,
                    direction: Direction::Inbound,
                    number: number.clone(),
                    phase: Phase::Ringing,
                    held: false,
                    hold_pending: false,
                    muted: false,
                    cancelling: false,
                    ring_deadline: None,
                    transfer_to: None,
                });
                self.sip(SipAction::Ringing { leg });
                self.emit(Event::Ringing(RingInfo {
                    phone: number,
                    display_name,
                    line: None,
                    queue: None,
                    direction: Direction::Inbound,
                    agent_leg: false,
                }));
            }
            SipInput::Progress { leg, code } => {
                if let Some(c) = self.find_mut(leg)
                    && c.phase == Phase::Dialing
                    && (code == 180 || code == 183)
                {
                    c.phase = Phase::Early;
                    let n = c.number.clone();
                    self.emit(Event::CalloutStarted(n));
                }
            }
            SipInput::Answered { leg } => {
                let Some(c) = self.find_mut(leg) else { return };
                c.phase = Phase::Active;
                c.ring_deadline = None;
                let cancelling = c.cancelling;
                if cancelling {
                    // 200 crossed our CANCEL (RFC 3261 §9.1): end it with BYE.
                    self.remove(leg);
                    self.sip(SipAction::Bye { leg });
                    self.emit(Event::Ended(EndReason::Cancelled));
                    return;
                }
                self.emit(Event::CustomerAnswered);
                self.emit(Event::Accepted);
            }
            SipInput::Confirmed { leg } => {
                if let Some(c) = self.find_mut(leg)
                    && c.phase == Phase::Answering
                {
                    c.phase = Phase::Active;
                    self.emit(Event::Accepted);
                }
            }
            SipInput::Failed { leg, code } => {
                let Some(c) = self.remove(leg) else { return };
                let reason = match (c.cancelling, code) {
                    (true, _) => EndReason::Cancelled,
                    (false, None) => EndReason::Timeout,
                    (false, Some(486 | 600)) => EndReason::Busy,
                    (false, Some(408 | 480 | 487)) => EndReason::NoAnswer,
                    (false, Some(code)) => EndReason::Failed {
                        error_code: None,
                        sip_code: Some(code),
                    },
                };
                if !c.cancelling && c.direction == Direction::Outbound {
                    self.emit(Event::CalloutFailed {
                        error_code: None,
                        sip_code: code,
                    });
                }
                if c.direction == Direction::Inbound && code.is_none() {
                    // No ACK for our 200 (RFC 3261 §13.3.1.4): the call is gone.
                    self.emit(Event::Ended(EndReason::TransportLost));
                } else {
                    self.emit(Event::Ended(reason));
                }
            }
            SipInput::RemoteCancel { leg } => {
                if self.remove(leg).is_some() {
                    self.emit(Event::Ended(EndReason::Cancelled));
                }
            }
            SipInput::RemoteBye { leg } => {
                if self.remove(leg).is_some() {
                    self.emit(Event::Ended(EndReason::RemoteHangup));
                    self.resume_after_end();
                }
            }
            SipInput::RemoteHold { leg, held } => {
                if self.find_mut(leg).is_some() {
                    let text = if held {
                        "the other party put the call on hold"
                    } else {
                        "the other party resumed the call"
                    };
                    self.emit(Event::Notice(Notice::Info(text.to_string())));
                }
            }
            SipInput::HoldResult { leg, held, ok } => {
                let Some(c) = self.find_mut(leg) else { return };
                c.hold_pending = false;
                if ok {
                    c.held = held;
                    self.emit(Event::Held(held));
                } else {
                    self.emit(Event::Notice(Notice::Server(
                        if held {
                            "the PBX refused to hold the call"
                        } else {
                            "the PBX refused to resume the call"
                        }
                        .to_string(),
                    )));
                }
            }
            SipInput::TransferProgress { leg, code, done } => {
                let ok = (200..300).contains(&code);
                if done || code >= 300 {
                    self.emit(Event::TransferResult {
                        ok,
                        detail: format!("SIP {code}"),
                    });
                    // RFC 5589 §6: the transferor hangs up once the transfer succeeded.
                    if ok && let Some(c) = self.remove(leg) {
                        self.sip(SipAction::Bye { leg });
                        self.emit(Event::Ended(match c.transfer_to {
                            Some(target) => EndReason::Transferred { target },
                            None => EndReason::LocalHangup,
                        }));
                    }
                } else {
                    self.emit(Event::Notice(Notice::Info(format!("transfer: SIP {code}"))));
                }
            }
            SipInput::Dtmf { leg, digit } => {
                if self.find_mut(leg).is_some() {
                    self.emit(Event::DtmfReceived(digit));
                }
            }
            SipInput::TransportLost => {
                let n = self.calls.len();
                self.calls.clear();
                for _ in 0..n {
                    self.emit(Event::Ended(EndReason::TransportLost));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(p: &mut Softphone) -> Vec<Effect> {
        std::iter::from_fn(|| p.poll_effect()).collect()
    }

    fn sip(p: &mut Softphone, now: Instant, e: SipInput) -> Vec<Effect> {
        p.handle(now, Input::Sip(e));
        drain(p)
    }

    fn cmd(p: &mut Softphone, now: Instant, c: Command) -> Vec<Effect> {
        p.handle(now, Input::Command(c));
        drain(p)
    }

    fn ring(p: &mut Softphone, now: Instant, leg: u64) -> Vec<Effect> {
        sip(
            p,
            now,
            SipInput::Incoming {
                leg: Leg(leg),
                number: "0912345678".into(),
                display_name: Some("Nguyễn Văn A".into()),
            },
        )
    }

    #[test]
    fn inbound_ring_answer_hold_unhold_end() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        let fx = ring(&mut p, t0, 7);
        assert_eq!(fx[0], Effect::Sip(SipAction::Ringing { leg: Leg(7) }));
        assert!(matches!(&fx[1], Effect::Emit(Event::Ringing(r)) if r.phone == "0912345678"));
        assert_eq!(
            cmd(&mut p, t0, Command::Accept),
            vec![Effect::Sip(SipAction::Accept { leg: Leg(7) })]
        );
        assert_eq!(
            sip(&mut p, t0, SipInput::Confirmed { leg: Leg(7) }),
            vec![Effect::Emit(Event::Accepted)]
        );
        assert_eq!(
            cmd(&mut p, t0, Command::ToggleHold),
            vec![Effect::Sip(SipAction::Hold {
                leg: Leg(7),
                hold: true
            })]
        );
        // A second press before the answer does nothing on the wire.
        assert!(matches!(
            cmd(&mut p, t0, Command::ToggleHold)[..],
            [Effect::Emit(Event::Notice(_))]
        ));
        assert_eq!(
            sip(
                &mut p,
                t0,
                SipInput::HoldResult {
                    leg: Leg(7),
                    held: true,
                    ok: true
                }
            ),
            vec![Effect::Emit(Event::Held(true))]
        );
        assert_eq!(
            cmd(&mut p, t0, Command::ToggleHold),
            vec![Effect::Sip(SipAction::Hold {
                leg: Leg(7),
                hold: false
            })]
        );
        sip(
            &mut p,
            t0,
            SipInput::HoldResult {
                leg: Leg(7),
                held: false,
                ok: true,
            },
        );
        assert_eq!(
            cmd(&mut p, t0, Command::End),
            vec![
                Effect::Sip(SipAction::Bye { leg: Leg(7) }),
                Effect::Emit(Event::Ended(EndReason::LocalHangup))
            ]
        );
        assert!(!p.has_calls());
    }

    #[test]
    fn refused_hold_keeps_the_call_live() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 1);
        cmd(&mut p, t0, Command::Accept);
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(1) });
        cmd(&mut p, t0, Command::ToggleHold);
        let fx = sip(
            &mut p,
            t0,
            SipInput::HoldResult {
                leg: Leg(1),
                held: true,
                ok: false,
            },
        );
        assert!(matches!(
            fx[..],
            [Effect::Emit(Event::Notice(Notice::Server(_)))]
        ));
        // Still not held: the next press asks for hold again.
        assert_eq!(
            cmd(&mut p, t0, Command::ToggleHold),
            vec![Effect::Sip(SipAction::Hold {
                leg: Leg(1),
                hold: true
            })]
        );
    }

    #[test]
    fn caller_cancel_is_a_missed_call() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 3);
        assert_eq!(
            sip(&mut p, t0, SipInput::RemoteCancel { leg: Leg(3) }),
            vec![Effect::Emit(Event::Ended(EndReason::Cancelled))]
        );
    }

    #[test]
    fn reject_busy_and_decline() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 1);
        assert_eq!(
            cmd(&mut p, t0, Command::Reject { decline: true }),
            vec![
                Effect::Sip(SipAction::Reject {
                    leg: Leg(1),
                    code: 603
                }),
                Effect::Emit(Event::Ended(EndReason::Rejected { code: 603 }))
            ]
        );
        ring(&mut p, t0, 2);
        assert_eq!(
            cmd(&mut p, t0, Command::End)[0],
            Effect::Sip(SipAction::Reject {
                leg: Leg(2),
                code: 486
            })
        );
    }

    #[test]
    fn outbound_progress_answer_and_remote_bye() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        let fx = cmd(&mut p, t0, Command::CallOut("tel:0912 345 678".into()));
        assert_eq!(fx[0], Effect::Emit(Event::Dialing("0912345678".into())));
        let leg = match &fx[1] {
            Effect::Sip(SipAction::Invite { leg, target }) => {
                assert_eq!(target, "0912345678");
                *leg
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            sip(&mut p, t0, SipInput::Progress { leg, code: 180 }),
            vec![Effect::Emit(Event::CalloutStarted("0912345678".into()))]
        );
        assert_eq!(
            sip(&mut p, t0, SipInput::Answered { leg }),
            vec![
                Effect::Emit(Event::CustomerAnswered),
                Effect::Emit(Event::Accepted)
            ]
        );
        assert_eq!(
            sip(&mut p, t0, SipInput::RemoteBye { leg }),
            vec![Effect::Emit(Event::Ended(EndReason::RemoteHangup))]
        );
    }

    #[test]
    fn each_failure_code_maps_to_the_error_table_and_an_end_reason() {
        let t0 = Instant::now();
        for (code, reason) in [
            (
                404,
                EndReason::Failed {
                    error_code: None,
                    sip_code: Some(404),
                },
            ),
            (486, EndReason::Busy),
            (408, EndReason::NoAnswer),
            (
                403,
                EndReason::Failed {
                    error_code: None,
                    sip_code: Some(403),
                },
            ),
            (487, EndReason::NoAnswer),
            (480, EndReason::NoAnswer),
            (
                500,
                EndReason::Failed {
                    error_code: None,
                    sip_code: Some(500),
                },
            ),
            (
                603,
                EndReason::Failed {
                    error_code: None,
                    sip_code: Some(603),
                },
            ),
        ] {
            let mut p = Softphone::new(Policy::default());
            cmd(&mut p, t0, Command::CallOut("0912345678".into()));
            let fx = sip(
                &mut p,
                t0,
                SipInput::Failed {
                    leg: Leg(1),
                    code: Some(code),
                },
            );
            assert_eq!(
                fx,
                vec![
                    Effect::Emit(Event::CalloutFailed {
                        error_code: None,
                        sip_code: Some(code)
                    }),
                    Effect::Emit(Event::Ended(reason))
                ],
                "code {code}"
            );
        }
    }

    #[test]
    fn cancel_while_ringing_and_200_crossing_cancel() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        cmd(&mut p, t0, Command::CallOut("1001".into()));
        assert_eq!(
            cmd(&mut p, t0, Command::End),
            vec![Effect::Sip(SipAction::Cancel { leg: Leg(1) })]
        );
        assert_eq!(
            sip(
                &mut p,
                t0,
                SipInput::Failed {
                    leg: Leg(1),
                    code: Some(487)
                }
            ),
            vec![Effect::Emit(Event::Ended(EndReason::Cancelled))]
        );
        cmd(&mut p, t0, Command::CallOut("1001".into()));
        cmd(&mut p, t0, Command::End);
        assert_eq!(
            sip(&mut p, t0, SipInput::Answered { leg: Leg(2) }),
            vec![
                Effect::Sip(SipAction::Bye { leg: Leg(2) }),
                Effect::Emit(Event::Ended(EndReason::Cancelled))
            ]
        );
    }

    #[test]
    fn ring_timeout_cancels_with_a_fake_clock() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy {
            ring_timeout: Duration::from_secs(30),
            ..Policy::default()
        });
        cmd(&mut p, t0, Command::CallOut("0912345678".into()));
        assert_eq!(p.poll_timeout(), Some(t0 + Duration::from_secs(30)));
        p.handle_timeout(t0 + Duration::from_secs(29));
        assert!(drain(&mut p).is_empty());
        p.handle_timeout(t0 + Duration::from_secs(30));
        assert_eq!(
            drain(&mut p),
            vec![Effect::Sip(SipAction::Cancel { leg: Leg(1) })]
        );
        assert_eq!(p.poll_timeout(), None);
    }

    #[test]
    fn second_call_rejected_by_default_and_offered_by_config() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 1);
        cmd(&mut p, t0, Command::Accept);
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(1) });
        let fx = ring(&mut p, t0, 2);
        assert_eq!(
            fx[0],
            Effect::Sip(SipAction::Reject {
                leg: Leg(2),
                code: 486
            })
        );

        let mut p = Softphone::new(Policy {
            second_call: SecondCall::Offer,
            ..Policy::default()
        });
        ring(&mut p, t0, 1);
        cmd(&mut p, t0, Command::Accept);
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(1) });
        ring(&mut p, t0, 2);
        // Accept puts the first call on hold, then answers the second.
        assert_eq!(
            cmd(&mut p, t0, Command::Accept),
            vec![
                Effect::Sip(SipAction::Hold {
                    leg: Leg(1),
                    hold: true
                }),
                Effect::Sip(SipAction::Accept { leg: Leg(2) })
            ]
        );
    }

    #[test]
    fn mute_dtmf_and_transfer() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        assert!(matches!(
            cmd(&mut p, t0, Command::ToggleMute)[..],
            [Effect::Emit(Event::Notice(Notice::NotNow(_)))]
        ));
        cmd(&mut p, t0, Command::CallOut("1002".into()));
        sip(&mut p, t0, SipInput::Answered { leg: Leg(1) });
        assert_eq!(
            cmd(&mut p, t0, Command::ToggleMute),
            vec![
                Effect::Sip(SipAction::Mute {
                    leg: Leg(1),
                    mute: true
                }),
                Effect::Emit(Event::Muted(true))
            ]
        );
        assert_eq!(
            cmd(&mut p, t0, Command::SendDtmf('5')),
            vec![Effect::Sip(SipAction::Dtmf {
                leg: Leg(1),
                digit: '5'
            })]
        );
        assert_eq!(
            cmd(
                &mut p,
                t0,
                Command::Transfer(TransferTarget::Number("1003".into()))
            ),
            vec![Effect::Sip(SipAction::Refer {
                leg: Leg(1),
                target: "1003".into()
            })]
        );
        let fx = sip(
            &mut p,
            t0,
            SipInput::TransferProgress {
                leg: Leg(1),
                code: 200,
                done: true,
            },
        );
        assert_eq!(
            fx,
            vec![
                Effect::Emit(Event::TransferResult {
                    ok: true,
                    detail: "SIP 200".into()
                }),
                Effect::Sip(SipAction::Bye { leg: Leg(1) }),
                Effect::Emit(Event::Ended(EndReason::Transferred {
                    target: "1003".into()
                }))
            ]
        );
    }

    #[test]
    fn bad_numbers_are_refused_with_the_text() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        assert_eq!(
            cmd(&mut p, t0, Command::CallOut("09x1".into())),
            vec![Effect::Emit(Event::Notice(Notice::BadNumber(
                "09x1".into()
            )))]
        );
        assert!(normalise_target("+84912345678").is_ok());
        assert!(normalise_target("1+2").is_err());
        assert!(normalise_target("sip:bob@example.com").is_ok());
    }

    #[test]
    fn shutdown_ends_everything() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        cmd(&mut p, t0, Command::CallOut("1002".into()));
        sip(&mut p, t0, SipInput::Answered { leg: Leg(1) });
        let fx = cmd(&mut p, t0, Command::Shutdown);
        assert_eq!(fx[0], Effect::Sip(SipAction::Bye { leg: Leg(1) }));
        // A call arriving during shutdown is turned away.
        let fx = ring(&mut p, t0, 9);
        assert_eq!(
            fx[0],
            Effect::Sip(SipAction::Reject {
                leg: Leg(9),
                code: 486
            })
        );
    }
}
