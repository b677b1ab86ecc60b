//! The plain-SIP agent's call logic as a sans-IO state machine.
//!
//! `handle(now, input)` takes console commands and SIP dialog events and
//! queues effects (SIP actions for the UA, events for the console);
//! `poll_effect()` drains them and `poll_timeout()` names the next deadline.
//! It never reads the clock, so every flow runs in tests with a fake `now`.
//!
//! ```text
//!   inbound:  Ringing ──accept──▶ Answering ──ACK──▶ Active ⇄ Held ──BYE──▶ ended
//!                 ├──reject / caller CANCEL──▶ ended
//!                 └──inbound ring timeout──▶ 480, ended (missed)
//!   outbound: Dialing ──18x──▶ Early ──200──▶ Active ⇄ Held ──BYE──▶ ended
//!                 ├──non-2xx──▶ ended
//!                 └──agent hangs up / ring timeout──▶ CANCEL, ended at once
//!                        └─▶ background leg: a late 200 is ACKed (UA) and BYEd,
//!                            a late final is dropped, and after 64*T1 the UA
//!                            is told to abandon the transaction (RFC 3261 §9.1)
//! ```
//!
//! Each call's dialog (its states, deadlines and end reasons, the diagram
//! above) runs on the SIP-leg core, [`crate::call::leg`], which the VCC
//! voice leg shares; this file adds what one agent does with several calls:
//! call waiting, swap, consult and attended transfer, three-way calls.
//!
//! Every wait on the network has a deadline here, so a PBX or a caller that
//! goes silent never holds the agent: the console is free the moment we give
//! up, whatever the other side does.
//!
//! Hold is a re-INVITE (RFC 3264 §8.4, RFC 6337 §5.3): the state flips only
//! when the peer's 200 arrives, so the screen never claims a hold that the
//! PBX did not take.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use super::leg::{Leg, SipAction, SipInput, T1};
use super::leg::{News, SipLeg, State, Step};
use crate::engine::{
    CallEvent, CallId, Command, Direction, EndReason, Event, Info, NotNow, Notice, RingInfo,
    TransferDetail, TransferTarget,
};
use crate::sip::SecondCall;
use crate::sip::target::Target;

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Command(Command),
    Sip(SipInput),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Sip(SipAction),
    Emit(Event),
}

#[derive(Debug, Clone)]
struct Call {
    /// Our name for the call, in every event about it.
    id: CallId,
    /// The call's SIP dialog: its state, deadlines and end reasons.
    sip: SipLeg,
    number: String,
    held: bool,
    hold_pending: bool,
    muted: bool,
    /// A consult call: the call (held meanwhile) it was made for.
    consult_for: Option<CallId>,
    /// Where our REFER sends the call (the end is then a transfer).
    transfer_to: Option<String>,
    /// This call carries out a REFER we received on that leg (we are
    /// the transferee): its progress goes back there in NOTIFYs.
    refer_for: Option<Leg>,
    /// We carried out a REFER received on this call and the new call (to
    /// this number) is answered: the transferor ends this one now (RFC
    /// 5589 §6). If it has not by `leave_by` (64*T1), we end it ourselves.
    referred_to: Option<String>,
    leave_by: Option<Instant>,
}

impl Call {
    fn new(id: CallId, sip: SipLeg, number: String, consult_for: Option<CallId>) -> Call {
        Call {
            id,
            sip,
            number,
            held: false,
            hold_pending: false,
            muted: false,
            consult_for,
            transfer_to: None,
            refer_for: None,
            referred_to: None,
            leave_by: None,
        }
    }

    fn leg(&self) -> Leg {
        self.sip.leg()
    }

    /// The dialog is up (200 and ACK).
    fn up(&self) -> bool {
        self.sip.state() == State::Confirmed
    }

    /// A call to us that rings.
    fn ringing(&self) -> bool {
        self.sip.state() == State::Ringing
    }
}

/// An attended transfer on its way (RFC 5589 §7).
#[derive(Debug, Clone)]
struct Completing {
    /// The held customer's leg, which gets the REFER.
    customer: Leg,
    consult: Leg,
    /// The colleague's number (the consult call's target).
    colleague: String,
    /// The REFER with Replaces is out (false: the plain REFER of the fallback).
    replaces: bool,
    /// The REFER got its 2xx: a failure now is the referred INVITE's.
    accepted: bool,
    /// Give up waiting for the REFER's outcome (no final NOTIFY ever came,
    /// RFC 3515 §2.4.5): the customer must not stay held for good.
    deadline: Instant,
}

/// Settings the machine needs (from `[sip]`).
#[derive(Debug, Clone)]
pub struct Policy {
    pub second_call: SecondCall,
    /// Our call-out: CANCEL when nobody answered in this time.
    pub ring_timeout: Duration,
    /// A call to us: 480 Temporarily Unavailable when nobody answered in
    /// this time (a caller that vanished without CANCEL must not ring forever).
    pub inbound_ring_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            second_call: SecondCall::Reject,
            ring_timeout: Duration::from_secs(60),
            inbound_ring_timeout: Duration::from_secs(60),
        }
    }
}

pub struct Softphone {
    policy: Policy,
    /// Calls in arrival order; at most one is not held at any time.
    calls: Vec<Call>,
    /// Call-outs we CANCELled: gone for the agent, kept (with their 64*T1
    /// deadline) only to BYE a 200 that crosses the CANCEL.
    cancelled: Vec<SipLeg>,
    next_leg: u64,
    next_call: u64,
    effects: VecDeque<Effect>,
    shutting_down: bool,
    /// Swap: the held leg to resume once the live one's hold is taken.
    swap_to: Option<Leg>,
    completing: Option<Completing>,
    /// Consult calls that ended: their customers come off hold.
    resume: Vec<CallId>,
    /// The two calls are mixed here (a three-way call) until one ends.
    merged: bool,
}

/// Check a dial string with the shared `sip::target` rules (no control
/// characters, a `sip:` URI per RFC 3261 §25.1 without URI headers, or a
/// number), then the softphone's own limits on numbers. Every target the
/// core sends to the UA (INVITE, REFER) passes here, whatever the entry point.
pub fn normalise_target(input: &str) -> Result<String, Notice> {
    // The refused text is shown escaped: a control character in it never
    // reaches the agent's terminal raw.
    let refused = || Notice::BadNumber(input.trim().escape_debug().to_string());
    match crate::sip::target::parse(input) {
        Ok(Target::Uri(u)) => Ok(u),
        Ok(Target::Number(n)) => {
            let digits = n.chars().filter(|c| c.is_ascii_digit()).count();
            if digits == 0 || n.len() > 20 {
                Err(refused())
            } else {
                Ok(n)
            }
        }
        Err(_) => Err(refused()),
    }
}

impl Softphone {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            calls: Vec::new(),
            cancelled: Vec::new(),
            next_leg: 1,
            next_call: 1,
            effects: VecDeque::new(),
            shutting_down: false,
            swap_to: None,
            completing: None,
            resume: Vec::new(),
            merged: false,
        }
    }

    /// Calls the agent sees, or CANCELs still waiting for their answer
    /// (an orderly exit lets those finish, within its own deadline).
    pub fn has_calls(&self) -> bool {
        !self.calls.is_empty() || !self.cancelled.is_empty()
    }

    /// The call a leg belongs to (for the media events the UA reports by leg).
    pub fn call_of(&self, leg: Leg) -> Option<CallId> {
        self.calls.iter().find(|c| c.leg() == leg).map(|c| c.id)
    }

    fn new_call_id(&mut self) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        id
    }

    /// The call a command acts on: the named one (refused with a notice
    /// when we have no such call), or the first that `pick` accepts.
    /// `Ok(None)`: there is a call by that name, but `pick` refuses it.
    fn resolve(
        &mut self,
        call: Option<CallId>,
        pick: fn(&Call) -> bool,
    ) -> Result<Option<usize>, ()> {
        match call {
            Some(id) => match self.calls.iter().position(|c| c.id == id) {
                Some(i) => Ok(pick(&self.calls[i]).then_some(i)),
                None => {
                    self.emit(Event::Notice(Notice::UnknownCall(id)));
                    Err(())
                }
            },
            None => Ok(self.calls.iter().position(pick)),
        }
    }

    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The earliest deadline (a ring timeout either way, an ACK wait, or a
    /// CANCELled leg's 64*T1), if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let legs = self.calls.iter().map(|c| &c.sip).chain(&self.cancelled);
        let transfer = self.completing.as_ref().map(|t| t.deadline);
        let leave = self.calls.iter().filter_map(|c| c.leave_by);
        legs.filter_map(SipLeg::deadline)
            .chain(transfer)
            .chain(leave)
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(t) = self.completing.take_if(|t| t.deadline <= now) {
            // No final NOTIFY came: the transfer is as good as refused (408
            // Request Timeout). Both calls stay as they were (no fallback: a
            // silent peer may have done anything), and the agent is told.
            if let Some(id) = self.call_of(t.customer) {
                self.emit_call(
                    id,
                    CallEvent::TransferResult {
                        ok: false,
                        detail: TransferDetail::Sip { code: 408 },
                    },
                );
                self.emit(Event::Notice(Notice::Info(Info::TransferRefused {
                    code: 408,
                })));
                if self.call_of(t.consult).is_none() {
                    self.resume.push(id);
                }
            }
            self.settle();
        }
        // We were transferred, and the transferor never ended the old call
        // (RFC 5589 §6 says it should): we do, so it cannot stay forever.
        let overdue: Vec<(Leg, String)> = self
            .calls
            .iter_mut()
            .filter(|c| c.leave_by.is_some_and(|d| d <= now))
            .filter_map(|c| {
                c.leave_by = None;
                Some((c.leg(), c.referred_to.take()?))
            })
            .collect();
        for (leg, target) in overdue {
            self.step(leg, |s| s.leave(EndReason::Transferred { target }));
        }
        // Ring timeouts either way, an ACK that never came: the leg core
        // knows what each needs (CANCEL, 480, BYE).
        let expired: Vec<Leg> = self
            .calls
            .iter()
            .filter(|c| c.sip.deadline().is_some_and(|d| d <= now))
            .map(Call::leg)
            .collect();
        for leg in expired {
            self.step(leg, |s| s.timeout(now));
        }
        // A CANCEL the PBX never answered: the INVITE transaction is over
        // 64*T1 after it (RFC 3261 §9.1).
        let mut background = std::mem::take(&mut self.cancelled);
        for s in &mut background {
            if let Some(a) = s.timeout(now).wire {
                self.sip(a);
            }
        }
        background.retain(|s| !s.is_over());
        self.cancelled = background;
    }

    /// A late answer on a leg we CANCELled: true when it was one (handled
    /// by the leg core, never news to the agent).
    fn background(&mut self, now: Instant, ev: &SipInput) -> bool {
        let Some(leg) = ev.leg() else { return false };
        let Some(i) = self.cancelled.iter().position(|s| s.leg() == leg) else {
            return false;
        };
        if let Some(a) = self.cancelled[i].input(now, ev).wire {
            self.sip(a);
        }
        if self.cancelled[i].is_over() {
            self.cancelled.remove(i);
        }
        true
    }

    /// Run one transition of a call's SIP leg: its wire action goes out,
    /// its news reaches the agent, and a leg that is over for the agent
    /// leaves the call list (a CANCELled one waits in the background).
    fn step(&mut self, leg: Leg, f: impl FnOnce(&mut SipLeg) -> Step) {
        let Some(c) = self.find_mut(leg) else { return };
        let step = f(&mut c.sip);
        let (id, number, inbound) = (c.id, c.number.clone(), c.sip.inbound());
        let refer_for = c.refer_for;
        if let Some(a) = step.wire {
            self.sip(a);
        }
        let Some(news) = step.news else { return };
        // A call we place for a REFER we took: its progress goes back to
        // the REFER's sender (RFC 3515 §2.4.5); once answered, the sender
        // ends its call with us (RFC 5589 §6, §7.1).
        if let Some(from) = refer_for {
            let code = match &news {
                News::Early => Some(180),
                News::Answered => Some(200),
                News::Failed { code, .. } => Some(code.unwrap_or(408)),
                News::Ended(_) => Some(487),
                News::Confirmed => None,
            };
            if let Some(code) = code {
                self.sip(SipAction::ReferNotify {
                    leg: from,
                    code,
                    done: code >= 200,
                });
                if code >= 200
                    && let Some(c) = self.find_mut(leg)
                {
                    c.refer_for = None;
                }
                // Answered: the old call's end is the transferor's to do;
                // the wait for it is armed in `handle` (which has `now`).
                if code == 200
                    && let Some(old) = self.find_mut(from)
                {
                    old.referred_to = Some(number.clone());
                }
            }
        }
        match news {
            News::Early => self.emit_call(id, CallEvent::CalloutStarted(number)),
            News::Answered => {
                self.emit_call(id, CallEvent::CustomerAnswered);
                self.emit_call(id, CallEvent::Accepted);
            }
            News::Confirmed => self.emit_call(id, CallEvent::Accepted),
            News::Failed { code, reason } => {
                self.remove(leg);
                if !inbound {
                    let internal = crate::sip::target::is_extension(&number).then_some(number);
                    self.emit_call(
                        id,
                        CallEvent::CalloutFailed {
                            error_code: None,
                            sip_code: code,
                            internal,
                        },
                    );
                }
                self.emit_call(id, CallEvent::Ended(reason));
            }
            News::Ended(reason) => {
                self.remove(leg);
                self.emit_call(id, CallEvent::Ended(reason));
            }
        }
    }

    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Command(cmd) => self.command(now, cmd),
            Input::Sip(ev) => self.sip_input(now, ev),
        }
        for c in &mut self.calls {
            if c.referred_to.is_some() && c.leave_by.is_none() {
                c.leave_by = Some(now + 64 * T1);
            }
        }
        self.settle();
    }

    fn emit(&mut self, e: Event) {
        self.effects.push_back(Effect::Emit(e));
    }

    fn emit_call(&mut self, call: CallId, e: CallEvent) {
        self.emit(Event::call(call, e));
    }

    fn sip(&mut self, a: SipAction) {
        self.effects.push_back(Effect::Sip(a));
    }

    /// A new dialog from the UA on a leg one of our calls holds. The UA
    /// numbers inbound legs and we number outbound ones, and it learns our
    /// number only when it runs our INVITE: an INVITE that arrives as the
    /// agent dials can get the same one. Two calls on one leg would be one
    /// to every step (the second's deadlines never handled, the backend's
    /// loop woken at once forever), and any answer on that leg would reach
    /// our own call in the UA: the call we have keeps the leg, and nothing
    /// is said on it for the newcomer.
    fn leg_taken(&self, leg: Leg) -> bool {
        self.calls.iter().any(|c| c.leg() == leg)
    }

    fn find_mut(&mut self, leg: Leg) -> Option<&mut Call> {
        self.calls.iter_mut().find(|c| c.leg() == leg)
    }

    fn remove(&mut self, leg: Leg) -> Option<Call> {
        let i = self.calls.iter().position(|c| c.leg() == leg)?;
        let c = self.calls.remove(i);
        // The UA leaves the mix when a leg of it ends.
        self.merged = false;
        if !c.sip.is_over() {
            // Our CANCEL is out: the INVITE transaction still runs.
            self.cancelled.push(c.sip.clone());
        }
        if self.swap_to == Some(leg) {
            self.swap_to = None;
        }
        // A consult call that ends (hung up, failed, cancelled) gives the
        // agent back to the customer, unless it ends by the transfer.
        if let Some(parent) = c.consult_for
            && self.completing.is_none()
        {
            self.resume.push(parent);
        }
        Some(c)
    }

    /// Take customers whose consult call ended off hold (a held call never
    /// drops and never stays in silence by itself).
    fn settle(&mut self) {
        for id in std::mem::take(&mut self.resume) {
            let live = self.calls.iter().any(|c| c.up() && !c.held);
            if let Some(c) = self.calls.iter_mut().find(|c| c.id == id)
                && c.up()
                && c.held
                && !c.hold_pending
                && !live
            {
                c.hold_pending = true;
                let leg = c.leg();
                self.sip(SipAction::Hold { leg, hold: false });
            }
        }
    }

    /// The call the keys act on when none is named: a ringing call first
    /// (so Enter answers it), then the live (not held) call, then the most
    /// recent one.
    fn focus(&self) -> Option<&Call> {
        self.calls
            .iter()
            .find(|c| c.ringing())
            .or_else(|| self.calls.iter().find(|c| !c.held))
            .or_else(|| self.calls.last())
    }

    fn not_now(&mut self, why: NotNow) {
        self.emit(Event::Notice(Notice::NotNow(why)));
    }

    fn command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::CallOut(number) => self.call_out(now, &number),
            Command::Accept { call } => self.accept(now, call),
            Command::Reject { call, decline } => {
                let code = if decline { 603 } else { 486 };
                match self.resolve(call, |c| c.ringing()) {
                    Ok(Some(i)) => {
                        let leg = self.calls[i].leg();
                        self.step(leg, |s| s.reject(now, code))
                    }
                    Ok(None) => self.not_now(NotNow::NoRinging),
                    Err(()) => {}
                }
            }
            Command::End { call } => self.end(now, call),
            Command::ToggleHold { call } => self.toggle_hold(call),
            Command::ToggleMute { call } => {
                let i = match self.resolve(call, |c| c.up() && !c.held) {
                    Ok(Some(i)) => i,
                    Ok(None) => return self.not_now(NotNow::NotInCall),
                    Err(()) => return,
                };
                let c = &mut self.calls[i];
                c.muted = !c.muted;
                let (id, leg, mute) = (c.id, c.leg(), c.muted);
                self.sip(SipAction::Mute { leg, mute });
                self.emit_call(id, CallEvent::Muted(mute));
            }
            Command::SendDtmf { call, digit } => match self.resolve(call, |c| c.up()) {
                Ok(Some(i)) if matches!(digit, '0'..='9' | '*' | '#' | 'A'..='D') => {
                    let leg = self.calls[i].leg();
                    self.sip(SipAction::Dtmf { leg, digit })
                }
                Ok(Some(_)) => self.not_now(NotNow::DtmfDigits),
                Ok(None) => self.not_now(NotNow::NotInCall),
                Err(()) => {}
            },
            Command::Transfer { call, target } => {
                let target = match target {
                    TransferTarget::Number(n) | TransferTarget::Agent(n) => n,
                    TransferTarget::Queue(q) => q,
                };
                let leg = match self.resolve(call, |c| c.up()) {
                    Ok(Some(i)) => self.calls[i].leg(),
                    Ok(None) => return self.not_now(NotNow::NotInCall),
                    Err(()) => return,
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
            Command::Swap { call } => self.swap(call),
            Command::Consult(number) => self.consult(now, &number),
            Command::CompleteTransfer => self.complete_transfer(now),
            Command::Merge => {
                let legs: Vec<Leg> = self
                    .calls
                    .iter()
                    .filter(|c| c.up())
                    .map(|c| c.leg())
                    .collect();
                if legs.len() == 2 {
                    // A held call joins unheld (re-INVITE sendrecv, RFC
                    // 3264 §8.4): the mixer only mixes what flows.
                    for c in self.calls.iter_mut().filter(|c| c.held && !c.hold_pending) {
                        c.hold_pending = true;
                        let leg = c.leg();
                        self.effects
                            .push_back(Effect::Sip(SipAction::Hold { leg, hold: false }));
                    }
                    self.sip(SipAction::Conference { legs });
                    self.merged = true;
                } else {
                    self.not_now(NotNow::NeedTwoCalls);
                }
            }
            // Leave the three-way call by ending it: both calls get BYE.
            Command::EndConference if self.merged => {
                let legs: Vec<Leg> = self.calls.iter().map(Call::leg).collect();
                for leg in legs {
                    self.step(leg, |s| s.hang_up(now));
                }
            }
            Command::EndConference => self.not_now(NotNow::NeedTwoCalls),
            Command::Shutdown => {
                self.shutting_down = true;
                // 486 what rings, CANCEL what we dial, BYE what is up.
                let legs: Vec<Leg> = self.calls.iter().map(Call::leg).collect();
                for leg in legs {
                    self.step(leg, |s| s.hang_up(now));
                }
            }
            // Control-plane commands of the VCC backend have no meaning for a
            // plain SIP account: say so rather than pretend.
            Command::ClaimVoice
            | Command::ToggleAvailability
            | Command::ChangeDevice(_)
            | Command::ListTransferAgents
            | Command::AnswerTransferOffer(_) => self.not_now(NotNow::NoControlPlane),
            Command::Connect => {}
        }
    }

    fn call_out(&mut self, now: Instant, number: &str) {
        if self.shutting_down {
            return;
        }
        if self.calls.iter().any(|c| !c.held) {
            return self.not_now(NotNow::HoldOrEndFirst);
        }
        if self.calls.len() >= 2 {
            return self.not_now(NotNow::TwoCallsUp);
        }
        let target = match normalise_target(number) {
            Ok(t) => t,
            Err(n) => return self.emit(Event::Notice(n)),
        };
        self.dial(now, target, None, None);
    }

    /// Send our INVITE for a new call (`consult_for`: a consult call;
    /// `referred`: it carries out the REFER received on that leg, with
    /// that Replaces value if any).
    fn dial(
        &mut self,
        now: Instant,
        target: String,
        consult_for: Option<CallId>,
        referred: Option<(Leg, Option<String>)>,
    ) {
        let leg = Leg(self.next_leg);
        self.next_leg += 1;
        let id = self.new_call_id();
        let ring = Some(self.policy.ring_timeout);
        let (sip, step) = SipLeg::dial(leg, target.clone(), now, ring);
        let mut call = Call::new(id, sip, target.clone(), consult_for);
        call.refer_for = referred.as_ref().map(|r| r.0);
        self.calls.push(call);
        self.emit_call(id, CallEvent::Dialing(target.clone()));
        if let Some(parent) = consult_for {
            self.emit_call(id, CallEvent::ConsultFor(parent));
        }
        match (step.wire, referred) {
            (Some(_), Some((_, Some(replaces)))) => self.sip(SipAction::InviteReplacing {
                leg,
                target,
                replaces,
            }),
            (Some(invite), _) => self.sip(invite),
            (None, _) => {}
        }
    }

    /// Swap (issue 16): make `call` (default: the held call) the live one.
    /// The live call is held first and the other resumed only once that
    /// hold is taken (RFC 6337 §5.3), so both far ends never hear us at once.
    fn swap(&mut self, call: Option<CallId>) {
        let pick = |c: &Call| c.up() && c.held && !c.hold_pending;
        let target = match self.resolve(call, pick) {
            Ok(Some(i)) => self.calls[i].leg(),
            Ok(None) => return self.not_now(NotNow::NothingToSwap),
            Err(()) => return,
        };
        if self.swap_to.is_some() || self.calls.iter().any(|c| c.hold_pending) {
            return self.not_now(NotNow::RequestPending);
        }
        let live = self
            .calls
            .iter_mut()
            .find(|c| c.leg() != target && c.up() && !c.held);
        let (leg, hold) = match live {
            Some(c) => {
                c.hold_pending = true;
                self.swap_to = Some(target);
                (c.leg(), true)
            }
            None => {
                if let Some(c) = self.find_mut(target) {
                    c.hold_pending = true;
                }
                (target, false)
            }
        };
        self.sip(SipAction::Hold { leg, hold });
    }

    /// Consult (attended transfer, RFC 5589 §7): hold the live call and
    /// call the colleague; the new call remembers whom it serves.
    fn consult(&mut self, now: Instant, number: &str) {
        if self.shutting_down {
            return;
        }
        if self.calls.len() >= 2 {
            return self.not_now(NotNow::TwoCallsUp);
        }
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.up() && !c.held && !c.hold_pending)
        else {
            return self.not_now(NotNow::NotInCall);
        };
        let target = match normalise_target(number) {
            Ok(t) => t,
            Err(n) => return self.emit(Event::Notice(n)),
        };
        let c = &mut self.calls[i];
        c.hold_pending = true;
        let (leg, id) = (c.leg(), c.id);
        self.sip(SipAction::Hold { leg, hold: true });
        self.dial(now, target, Some(id), None);
    }

    /// Complete the attended transfer: REFER the held customer to the
    /// colleague with Replaces naming our consult dialog (RFC 5589 §7.1).
    /// In a three-way call the same hands the two far ends to each other
    /// and the console leaves (issue 16): the first call (the consult's
    /// customer, if any) is REFERred to the second, replacing our dialog
    /// with it.
    fn complete_transfer(&mut self, now: Instant) {
        let consult = self.calls.iter().find_map(|c| {
            let parent = c.consult_for?;
            let customer = self.calls.iter().find(|p| p.id == parent && p.up())?;
            (c.up()).then(|| (customer.leg(), c.leg(), c.number.clone()))
        });
        let merged = match &self.calls[..] {
            [a, b] if self.merged && a.up() && b.up() => Some((a.leg(), b.leg(), b.number.clone())),
            _ => None,
        };
        let pair = consult.or(merged);
        let Some((customer, consult, colleague)) = pair else {
            return self.not_now(NotNow::NoConsult);
        };
        if self.completing.is_some() {
            return self.not_now(NotNow::RequestPending);
        }
        self.completing = Some(Completing {
            customer,
            consult,
            colleague: colleague.clone(),
            replaces: true,
            accepted: false,
            // The INVITE with Replaces is answered at once (it takes over
            // a dialog that is up): one INVITE transaction's time (Timer B,
            // 64*T1), and a little more, so that a customer whose INVITE
            // timed out can still report it (NOTIFY 408) and start the
            // fallback, rather than our deadline winning that race.
            deadline: now + 72 * T1,
        });
        self.sip(SipAction::AttendedRefer {
            leg: customer,
            target: colleague,
            replaces: consult,
        });
    }

    /// Progress of the attended transfer's REFER on the customer's leg:
    /// the REFER's own answer (`notify` false) or a NOTIFY about the
    /// INVITE it caused (only sent once the REFER was accepted).
    fn completing_progress(&mut self, now: Instant, code: u16, done: bool, notify: bool) {
        let Some(mut t) = self.completing.take() else {
            return;
        };
        let Some(id) = self.call_of(t.customer) else {
            // The customer hung up meanwhile: nothing left to transfer.
            return;
        };
        if code < 300 && !done {
            t.accepted |= code >= 200 || notify;
            self.completing = Some(t);
            return self.emit(Event::Notice(Notice::Info(Info::TransferProgress { code })));
        }
        if (200..300).contains(&code) {
            // RFC 5589 §7.1: the transfer is done; we leave both calls.
            self.emit_call(
                id,
                CallEvent::TransferResult {
                    ok: true,
                    detail: TransferDetail::Sip { code },
                },
            );
            self.completing = Some(t.clone());
            for leg in [t.customer, t.consult] {
                let reason = if leg == t.customer {
                    EndReason::Transferred {
                        target: t.colleague.clone(),
                    }
                } else {
                    EndReason::LocalHangup
                };
                self.step(leg, |s| s.leave(reason));
            }
            self.completing = None;
            return;
        }
        if t.replaces && (t.accepted || notify) && self.call_of(t.consult).is_some() {
            // The REFER was taken but the INVITE with Replaces failed: the
            // colleague's phone does not honour Replaces. RFC 5589 §7.3: end
            // the consult call, then transfer the customer without Replaces.
            self.emit(Event::Notice(Notice::Info(Info::ReplacesFallback { code })));
            self.completing = Some(Completing {
                replaces: false,
                accepted: false,
                // The plain REFER's INVITE rings the colleague's phone.
                deadline: now + self.policy.ring_timeout + 64 * T1,
                ..t.clone()
            });
            self.step(t.consult, |s| s.leave(EndReason::LocalHangup));
            self.sip(SipAction::Refer {
                leg: t.customer,
                target: t.colleague,
            });
            return;
        }
        // Refused: both calls stay as they were (the customer held, the
        // consult call live), and the agent is told why.
        self.emit_call(
            id,
            CallEvent::TransferResult {
                ok: false,
                detail: TransferDetail::Sip { code },
            },
        );
        self.emit(Event::Notice(Notice::Info(Info::TransferRefused { code })));
        if self.call_of(t.consult).is_none() {
            // The fallback's consult call is gone: back to the customer.
            self.resume.push(id);
        }
    }

    fn accept(&mut self, now: Instant, call: Option<CallId>) {
        let leg = match self.resolve(call, |c| c.ringing()) {
            Ok(Some(i)) => self.calls[i].leg(),
            Ok(None) => return self.not_now(NotNow::NoRinging),
            Err(()) => return,
        };
        // A second call offered while one is live: hold the first (RFC 6337 §5.3).
        let live: Vec<Leg> = self
            .calls
            .iter()
            .filter(|c| c.leg() != leg && c.up() && !c.held && !c.hold_pending)
            .map(|c| c.leg())
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
        self.step(leg, |s| s.answer(now));
    }

    fn end(&mut self, now: Instant, call: Option<CallId>) {
        let c = match call {
            Some(id) => match self.calls.iter().find(|c| c.id == id) {
                Some(c) => c.clone(),
                None => return self.emit(Event::Notice(Notice::UnknownCall(id))),
            },
            None => match self.focus() {
                Some(c) => c.clone(),
                None => return self.not_now(NotNow::NotInCall),
            },
        };
        self.step(c.leg(), |s| s.hang_up(now));
    }

    fn toggle_hold(&mut self, call: Option<CallId>) {
        let i = match self.resolve(call, |c| c.up() && !c.hold_pending) {
            Ok(Some(i)) => i,
            Ok(None) => return self.not_now(NotNow::NotInCall),
            Err(()) => return,
        };
        let c = &mut self.calls[i];
        c.hold_pending = true;
        let (leg, hold) = (c.leg(), !c.held);
        self.sip(SipAction::Hold { leg, hold });
    }

    fn sip_input(&mut self, now: Instant, ev: SipInput) {
        if self.background(now, &ev) {
            return;
        }
        match ev {
            SipInput::Incoming {
                leg,
                number,
                display_name,
            } => {
                self.next_leg = self.next_leg.max(leg.0 + 1);
                if self.leg_taken(leg) {
                    return;
                }
                let busy = !self.calls.is_empty();
                if self.shutting_down || (busy && self.policy.second_call == SecondCall::Reject) {
                    // Busy Here (RFC 3261 §21.4.24): tell the agent who tried.
                    self.sip(SipAction::Reject { leg, code: 486 });
                    self.emit(Event::Notice(Notice::Info(Info::BusySecondCall {
                        number: number.clone(),
                    })));
                    return;
                }
                if self.calls.len() >= 2 {
                    // Two calls is what one agent handles: Busy Here.
                    self.sip(SipAction::Reject { leg, code: 486 });
                    self.emit(Event::Notice(Notice::Info(Info::BusyThirdCall {
                        number: number.clone(),
                    })));
                    return;
                }
                let id = self.new_call_id();
                let live = self
                    .calls
                    .iter()
                    .find(|c| c.up() && !c.held)
                    .map(|c| c.leg());
                let ring = Some(self.policy.inbound_ring_timeout);
                let (sip, step) = SipLeg::incoming(leg, now, ring);
                self.calls.push(Call::new(id, sip, number.clone(), None));
                if let Some(ringing) = step.wire {
                    self.sip(ringing);
                }
                // Call waiting: announced in the live call's audio, never
                // on the ring device (the alert policy keeps it quiet).
                if let Some(live) = live {
                    self.sip(SipAction::WaitingBeep { leg: live });
                }
                self.emit_call(
                    id,
                    CallEvent::Ringing(RingInfo {
                        phone: number,
                        display_name,
                        line: None,
                        queue: None,
                        direction: Direction::Inbound,
                        agent_leg: false,
                    }),
                );
            }
            SipInput::RemoteHold { leg, held } => {
                if self.find_mut(leg).is_some() {
                    self.emit(Event::Notice(Notice::Info(Info::RemoteHold { held })));
                }
            }
            SipInput::HoldResult { leg, held, ok } => {
                let Some(c) = self.find_mut(leg) else { return };
                c.hold_pending = false;
                if ok {
                    c.held = held;
                    let id = c.id;
                    self.emit_call(id, CallEvent::Held(held));
                } else {
                    self.emit(Event::Notice(Notice::Info(Info::HoldRefused { held })));
                }
                // Swap, second half: the live call is held, resume the other.
                // (`take` first: a refused hold ends the swap too.)
                if held
                    && let Some(to) = self.swap_to.take()
                    && ok
                    && let Some(c) = self.find_mut(to)
                {
                    c.hold_pending = true;
                    self.sip(SipAction::Hold {
                        leg: to,
                        hold: false,
                    });
                }
            }
            SipInput::TransferProgress { leg, code, done }
                if self.completing.as_ref().is_some_and(|t| t.customer == leg) =>
            {
                self.completing_progress(now, code, done, true)
            }
            SipInput::ReferAnswered { leg, code }
                if self.completing.as_ref().is_some_and(|t| t.customer == leg) =>
            {
                self.completing_progress(now, code, code >= 300, false)
            }
            // A blind transfer: the answer is read as the first progress.
            SipInput::ReferAnswered { leg, code } => self.sip_input(
                now,
                SipInput::TransferProgress {
                    leg,
                    code,
                    done: code >= 300,
                },
            ),
            SipInput::TransferProgress { leg, code, done } => {
                let ok = (200..300).contains(&code);
                let Some(id) = self.call_of(leg) else { return };
                if done || code >= 300 {
                    self.emit_call(
                        id,
                        CallEvent::TransferResult {
                            ok,
                            detail: TransferDetail::Sip { code },
                        },
                    );
                    // RFC 5589 §6: the transferor hangs up once the transfer succeeded.
                    if ok && let Some(c) = self.find_mut(leg) {
                        let reason = match c.transfer_to.clone() {
                            Some(target) => EndReason::Transferred { target },
                            None => EndReason::LocalHangup,
                        };
                        self.step(leg, |s| s.leave(reason));
                    }
                } else {
                    self.emit(Event::Notice(Notice::Info(Info::TransferProgress { code })));
                }
            }
            SipInput::Dtmf { leg, digit } => {
                if let Some(id) = self.call_of(leg) {
                    self.emit_call(id, CallEvent::DtmfReceived(digit));
                }
            }
            SipInput::Quality { leg, quality } => {
                if let Some(id) = self.call_of(leg) {
                    self.emit_call(id, CallEvent::Quality(quality));
                }
            }
            SipInput::TransportLost => {
                let legs: Vec<Leg> = self.calls.iter().map(Call::leg).collect();
                for leg in legs {
                    self.step(leg, SipLeg::transport_lost);
                }
            }
            SipInput::Referred {
                leg,
                target,
                replaces,
            } => self.referred(now, leg, &target, replaces),
            SipInput::Replacing {
                leg,
                replaces,
                number,
                display_name,
            } => self.replacing(now, leg, replaces, number, display_name),
            // The dialog's own events: the leg core decides.
            _ => {
                if let Some(leg) = ev.dialog_leg() {
                    self.step(leg, |s| s.input(now, &ev));
                }
            }
        }
    }

    /// We are the transferee (RFC 3515, RFC 5589): the far end of an
    /// established call asks us to call `target`, maybe replacing a
    /// dialog there. We take it when the console can place that call: the
    /// REFER gets 202 and the new call's progress goes back in NOTIFYs;
    /// the sender then ends its call with us. Otherwise 603 Decline
    /// (RFC 3515 §2.4.2 lets the recipient refuse), or 400 for a target we
    /// would not dial.
    fn referred(&mut self, now: Instant, leg: Leg, target: &str, replaces: Option<String>) {
        let up = self.calls.iter().any(|c| c.leg() == leg && c.up());
        let busy = self.calls.len() >= 2 || self.calls.iter().any(|c| c.refer_for.is_some());
        if self.shutting_down || !up || busy {
            self.sip(SipAction::AnswerRefer { leg, code: 603 });
            return;
        }
        let target = match normalise_target(target) {
            Ok(t) => t,
            Err(n) => {
                self.sip(SipAction::AnswerRefer { leg, code: 400 });
                return self.emit(Event::Notice(n));
            }
        };
        self.sip(SipAction::AnswerRefer { leg, code: 202 });
        self.emit(Event::Notice(Notice::Info(Info::Referred {
            target: target.clone(),
        })));
        self.dial(now, target, None, Some((leg, replaces)));
    }

    /// We are the transfer target (RFC 3891 §3): a new INVITE takes over
    /// one of our calls. It is answered at once, without ringing, and the
    /// replaced dialog is ended with BYE. The call keeps its name and row;
    /// only its far end changes. A call that is not up: 481.
    fn replacing(
        &mut self,
        now: Instant,
        leg: Leg,
        replaces: Leg,
        number: String,
        name: Option<String>,
    ) {
        self.next_leg = self.next_leg.max(leg.0 + 1);
        if self.leg_taken(leg) {
            return;
        }
        let i = self
            .calls
            .iter()
            .position(|c| c.leg() == replaces && c.up());
        let Some(i) = i.filter(|_| !self.shutting_down) else {
            return self.sip(SipAction::Reject { leg, code: 481 });
        };
        if self.swap_to == Some(replaces) {
            self.swap_to = Some(leg);
        }
        // The new leg, answered at once: our 200 waits for its ACK for
        // 64*T1 at most, like any answer.
        let (mut sip, _) = SipLeg::incoming(leg, now, None);
        let accept = sip.answer(now);
        let c = &mut self.calls[i];
        c.sip = sip;
        c.number = number.clone();
        c.transfer_to = None;
        let (id, held, muted) = (c.id, c.held, c.muted);
        c.held = false;
        c.hold_pending = false;
        if let Some(a) = accept.wire {
            self.sip(a);
        }
        if muted {
            self.sip(SipAction::Mute { leg, mute: true });
        }
        self.sip(SipAction::Bye { leg: replaces });
        if held {
            self.emit_call(id, CallEvent::Held(false));
        }
        // The row and `status` name the new party, not the one replaced.
        self.emit_call(
            id,
            CallEvent::PartyChanged {
                number: number.clone(),
                name,
            },
        );
        self.emit(Event::Notice(Notice::Info(Info::CallReplaced { number })));
    }
}

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
#[path = "softphone_transfer_tests.rs"]
mod transfer_tests;

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    // The drivers every softphone test uses (transfer_tests too).
    pub(super) fn drain(p: &mut Softphone) -> Vec<Effect> {
        std::iter::from_fn(|| p.poll_effect()).collect()
    }

    pub(super) fn sip(p: &mut Softphone, now: Instant, e: SipInput) -> Vec<Effect> {
        p.handle(now, Input::Sip(e));
        drain(p)
    }

    pub(super) fn cmd(p: &mut Softphone, now: Instant, c: Command) -> Vec<Effect> {
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
        assert!(
            matches!(&fx[1], Effect::Emit(Event::Call { call: CallId(1), event: CallEvent::Ringing(r) }) if r.phone == "0912345678")
        );
        assert_eq!(
            cmd(&mut p, t0, Command::Accept { call: None }),
            vec![Effect::Sip(SipAction::Accept { leg: Leg(7) })]
        );
        assert_eq!(
            sip(&mut p, t0, SipInput::Confirmed { leg: Leg(7) }),
            vec![Effect::Emit(Event::Call {
                call: CallId(1),
                event: CallEvent::Accepted
            })]
        );
        assert_eq!(
            cmd(&mut p, t0, Command::ToggleHold { call: None }),
            vec![Effect::Sip(SipAction::Hold {
                leg: Leg(7),
                hold: true
            })]
        );
        // A second press before the answer does nothing on the wire.
        assert!(matches!(
            cmd(&mut p, t0, Command::ToggleHold { call: None })[..],
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
            vec![Effect::Emit(Event::Call {
                call: CallId(1),
                event: CallEvent::Held(true)
            })]
        );
        assert_eq!(
            cmd(&mut p, t0, Command::ToggleHold { call: None }),
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
            cmd(&mut p, t0, Command::End { call: None }),
            vec![
                Effect::Sip(SipAction::Bye { leg: Leg(7) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::LocalHangup)
                })
            ]
        );
        assert!(!p.has_calls());
    }

    #[test]
    fn refused_hold_keeps_the_call_live() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 1);
        cmd(&mut p, t0, Command::Accept { call: None });
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(1) });
        cmd(&mut p, t0, Command::ToggleHold { call: None });
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
            [Effect::Emit(Event::Notice(Notice::Info(
                Info::HoldRefused { held: true }
            )))]
        ));
        // Still not held: the next press asks for hold again.
        assert_eq!(
            cmd(&mut p, t0, Command::ToggleHold { call: None }),
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
            vec![Effect::Emit(Event::Call {
                call: CallId(1),
                event: CallEvent::Ended(EndReason::Cancelled)
            })]
        );
    }

    #[test]
    fn reject_busy_and_decline() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 1);
        assert_eq!(
            cmd(
                &mut p,
                t0,
                Command::Reject {
                    call: None,
                    decline: true
                }
            ),
            vec![
                Effect::Sip(SipAction::Reject {
                    leg: Leg(1),
                    code: 603
                }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Rejected { code: 603 })
                })
            ]
        );
        ring(&mut p, t0, 2);
        assert_eq!(
            cmd(&mut p, t0, Command::End { call: None })[0],
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
        assert_eq!(
            fx[0],
            Effect::Emit(Event::Call {
                call: CallId(1),
                event: CallEvent::Dialing("0912345678".into())
            })
        );
        let leg = match &fx[1] {
            Effect::Sip(SipAction::Invite { leg, target }) => {
                assert_eq!(target, "0912345678");
                *leg
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            sip(&mut p, t0, SipInput::Progress { leg, code: 180 }),
            vec![Effect::Emit(Event::Call {
                call: CallId(1),
                event: CallEvent::CalloutStarted("0912345678".into())
            })]
        );
        assert_eq!(
            sip(&mut p, t0, SipInput::Answered { leg }),
            vec![
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::CustomerAnswered
                }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Accepted
                })
            ]
        );
        assert_eq!(
            sip(&mut p, t0, SipInput::RemoteBye { leg }),
            vec![Effect::Emit(Event::Call {
                call: CallId(1),
                event: CallEvent::Ended(EndReason::RemoteHangup)
            })]
        );
    }

    #[test]
    /// Each final answer reaches the agent as the call-out error (the code
    /// kept for the error table) and as the leg core's end reason (its
    /// table is tested in `call::leg`).
    fn each_failure_code_maps_to_the_error_table_and_an_end_reason() {
        let t0 = Instant::now();
        for code in [404, 486, 408, 403, 487, 480, 500, 603] {
            let reason = crate::call::leg::Ending::Refused(Some(code)).reason();
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
                    Effect::Emit(Event::Call {
                        call: CallId(1),
                        event: CallEvent::CalloutFailed {
                            error_code: None,
                            sip_code: Some(code),
                            internal: None,
                        }
                    }),
                    Effect::Emit(Event::Call {
                        call: CallId(1),
                        event: CallEvent::Ended(reason)
                    })
                ],
                "code {code}"
            );
        }
    }

    /// A call to an extension that fails names the colleague's number, so
    /// the screen and the control socket word it as an internal call; a
    /// `sip:` address or a customer's number does not.
    #[test]
    fn a_failed_call_to_an_extension_says_it_was_internal() {
        let t0 = Instant::now();
        for (target, internal) in [
            ("1001", Some("1001")),
            ("0912345678", None),
            ("sip:1001@pbx.example", None),
        ] {
            let mut p = Softphone::new(Policy::default());
            cmd(&mut p, t0, Command::CallOut(target.into()));
            let fx = sip(
                &mut p,
                t0,
                SipInput::Failed {
                    leg: Leg(1),
                    code: Some(486),
                },
            );
            assert_eq!(
                fx.first(),
                Some(&Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutFailed {
                        error_code: None,
                        sip_code: Some(486),
                        internal: internal.map(String::from),
                    }
                })),
                "{target}"
            );
        }
    }

    #[test]
    fn cancel_while_ringing_and_200_crossing_cancel() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        cmd(&mut p, t0, Command::CallOut("1001".into()));
        // The agent is free the moment we CANCEL, whatever the PBX does.
        assert_eq!(
            cmd(&mut p, t0, Command::End { call: None }),
            vec![
                Effect::Sip(SipAction::Cancel { leg: Leg(1) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Cancelled)
                })
            ]
        );
        // The 487 that follows is not news.
        assert!(
            sip(
                &mut p,
                t0,
                SipInput::Failed {
                    leg: Leg(1),
                    code: Some(487)
                }
            )
            .is_empty()
        );
        assert!(!p.has_calls());
        cmd(&mut p, t0, Command::CallOut("1001".into()));
        cmd(&mut p, t0, Command::End { call: None });
        // A 200 crossing the CANCEL (RFC 3261 §9.1) is BYEd without a word
        // to the agent.
        assert_eq!(
            sip(&mut p, t0, SipInput::Answered { leg: Leg(2) }),
            vec![Effect::Sip(SipAction::Bye { leg: Leg(2) })]
        );
        assert!(!p.has_calls());
        assert_eq!(p.poll_timeout(), None);
    }

    /// Issue 15 item 3: a PBX that answers 180 and then ignores our CANCEL.
    #[test]
    fn an_ignored_cancel_frees_the_agent_at_once_and_is_abandoned_after_64_t1() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        cmd(&mut p, t0, Command::CallOut("0912345678".into()));
        sip(
            &mut p,
            t0,
            SipInput::Progress {
                leg: Leg(1),
                code: 180,
            },
        );
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(
            cmd(&mut p, t1, Command::End { call: None }),
            vec![
                Effect::Sip(SipAction::Cancel { leg: Leg(1) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Cancelled)
                })
            ]
        );
        // `end` again: nothing left to end.
        assert!(matches!(
            cmd(&mut p, t1, Command::End { call: None })[..],
            [Effect::Emit(Event::Notice(Notice::NotNow(_)))]
        ));
        // A new call works at once…
        let fx = cmd(&mut p, t1, Command::CallOut("1002".into()));
        assert!(
            matches!(fx[1], Effect::Sip(SipAction::Invite { leg: Leg(2), .. })),
            "{fx:?}"
        );
        cmd(&mut p, t1, Command::End { call: None });
        // …and so does a call to us (rung, not 486).
        let fx = ring(&mut p, t1, 9);
        assert_eq!(fx[0], Effect::Sip(SipAction::Ringing { leg: Leg(9) }));
        assert_eq!(
            cmd(
                &mut p,
                t1,
                Command::Reject {
                    call: None,
                    decline: false
                }
            )[0],
            Effect::Sip(SipAction::Reject {
                leg: Leg(9),
                code: 486
            })
        );
        // 64*T1 after the CANCEL the UA is told to drop the transaction.
        assert_eq!(p.poll_timeout(), Some(t1 + 64 * T1));
        p.handle_timeout(t1 + 64 * T1 - Duration::from_millis(1));
        assert!(drain(&mut p).is_empty());
        p.handle_timeout(t1 + 64 * T1);
        assert_eq!(
            drain(&mut p),
            vec![
                Effect::Sip(SipAction::Abandon { leg: Leg(1) }),
                Effect::Sip(SipAction::Abandon { leg: Leg(2) })
            ]
        );
        assert!(!p.has_calls());
        assert_eq!(p.poll_timeout(), None);
        // A final response after that finds nothing.
        assert!(sip(&mut p, t1, SipInput::Answered { leg: Leg(1) }).is_empty());
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
        let t30 = t0 + Duration::from_secs(30);
        p.handle_timeout(t30);
        assert_eq!(
            drain(&mut p),
            vec![
                Effect::Sip(SipAction::Cancel { leg: Leg(1) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::NoAnswer)
                })
            ]
        );
        // Only the background CANCEL's 64*T1 is left.
        assert_eq!(p.poll_timeout(), Some(t30 + 64 * T1));
        assert!(
            sip(
                &mut p,
                t30,
                SipInput::Failed {
                    leg: Leg(1),
                    code: Some(487)
                }
            )
            .is_empty()
        );
        assert_eq!(p.poll_timeout(), None);
    }

    /// Issue 15 item 4: a caller that sends INVITE and then nothing.
    #[test]
    fn an_unanswered_call_to_us_gets_480_after_the_inbound_ring_timeout() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy {
            inbound_ring_timeout: Duration::from_secs(20),
            ..Policy::default()
        });
        ring(&mut p, t0, 4);
        assert_eq!(p.poll_timeout(), Some(t0 + Duration::from_secs(20)));
        p.handle_timeout(t0 + Duration::from_secs(19));
        assert!(drain(&mut p).is_empty());
        p.handle_timeout(t0 + Duration::from_secs(20));
        assert_eq!(
            drain(&mut p),
            vec![
                Effect::Sip(SipAction::Reject {
                    leg: Leg(4),
                    code: 480
                }),
                // Not `Rejected`: the history lists it as missed.
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::NoAnswer)
                })
            ]
        );
        assert!(!p.has_calls());
        // Answering in time clears the ring deadline.
        ring(&mut p, t0, 5);
        cmd(&mut p, t0, Command::Accept { call: None });
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(5) });
        assert_eq!(p.poll_timeout(), None);
    }

    /// Found by fuzz/softphone (`c0`, `I1`, `A1`, `+63630`): the UA numbers
    /// inbound legs and we number outbound ones, so an INVITE that arrives
    /// as the agent dials can carry the leg our call out has just taken.
    /// It made a second call with the same leg; every step then reached
    /// only the first, so the second's ring deadline stayed in the past
    /// and the backend's loop would wake at once on it, forever.
    #[test]
    fn an_incoming_call_on_a_leg_in_use_leaves_no_deadline_in_the_past() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy {
            second_call: SecondCall::Offer,
            ..Policy::default()
        });
        cmd(&mut p, t0, Command::CallOut("0912345678".into()));
        let newcomer = ring(&mut p, t0, 1);
        sip(&mut p, t0, SipInput::Answered { leg: Leg(1) });
        let end = t0 + Duration::from_secs(120);
        while let Some(t) = p.poll_timeout().filter(|t| *t <= end) {
            p.handle_timeout(t);
            drain(&mut p);
            assert!(
                p.poll_timeout().is_none_or(|d| d > t),
                "handle_timeout left an expired deadline"
            );
        }
        // Nothing went out on leg 1 for the newcomer (a 180 or 486 there
        // would reach our own call out in the UA), and the call out is
        // still the one call, up.
        assert!(newcomer.is_empty(), "{newcomer:?}");
        assert!(p.has_calls());
        assert!(!cmd(&mut p, end, Command::End { call: None }).is_empty());
        assert!(!p.has_calls());
    }

    /// RFC 3261 §13.3.1.4: no ACK for our 200 within 64*T1 ends the call.
    #[test]
    fn a_200_never_acked_is_byed_after_64_t1() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 6);
        let t1 = t0 + Duration::from_secs(3);
        cmd(&mut p, t1, Command::Accept { call: None });
        assert_eq!(p.poll_timeout(), Some(t1 + 64 * T1));
        p.handle_timeout(t1 + 64 * T1);
        assert_eq!(
            drain(&mut p),
            vec![
                Effect::Sip(SipAction::Bye { leg: Leg(6) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::TransportLost)
                })
            ]
        );
        assert!(!p.has_calls());
    }

    /// Issue 18: a WebRTC call whose media path died is hung up (BYE), not
    /// left silent; a second report for the same leg changes nothing.
    #[test]
    fn a_call_whose_media_path_died_is_byed() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 7);
        cmd(&mut p, t0, Command::Accept { call: None });
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(7) });
        drain(&mut p);
        assert_eq!(
            sip(&mut p, t0, SipInput::MediaLost { leg: Leg(7) }),
            vec![
                Effect::Sip(SipAction::Bye { leg: Leg(7) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::TransportLost)
                })
            ]
        );
        assert!(!p.has_calls());
        assert!(sip(&mut p, t0, SipInput::MediaLost { leg: Leg(7) }).is_empty());
    }

    #[test]
    fn injected_targets_never_reach_the_ua() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        for bad in [
            "sip:evil@host\r\nX-Injected: yes",
            "sip:a@b c",
            "sip:a@b?Via=x",
            "sip:a@b>;tag=1",
        ] {
            let fx = cmd(&mut p, t0, Command::CallOut(bad.into()));
            assert!(
                matches!(fx[..], [Effect::Emit(Event::Notice(Notice::BadNumber(_)))]),
                "{bad:?}: {fx:?}"
            );
        }
        cmd(&mut p, t0, Command::CallOut("1002".into()));
        sip(&mut p, t0, SipInput::Answered { leg: Leg(1) });
        let fx = cmd(
            &mut p,
            t0,
            Command::Transfer {
                call: None,
                target: TransferTarget::Number("sip:x@y\nVia: z".into()),
            },
        );
        assert!(
            matches!(fx[..], [Effect::Emit(Event::Notice(Notice::BadNumber(_)))]),
            "{fx:?}"
        );
    }

    #[test]
    fn second_call_rejected_by_default_and_offered_by_config() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        ring(&mut p, t0, 1);
        cmd(&mut p, t0, Command::Accept { call: None });
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
        cmd(&mut p, t0, Command::Accept { call: None });
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(1) });
        ring(&mut p, t0, 2);
        // Accept puts the first call on hold, then answers the second.
        assert_eq!(
            cmd(&mut p, t0, Command::Accept { call: None }),
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
    fn every_call_has_a_name_and_commands_act_on_the_named_call() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy {
            second_call: SecondCall::Offer,
            ..Policy::default()
        });
        let named = |fx: &[Effect]| -> Vec<CallId> {
            fx.iter()
                .filter_map(|e| match e {
                    Effect::Emit(e) => e.call_id(),
                    _ => None,
                })
                .collect()
        };
        // Leg numbers are the UA's; call names are ours, in order.
        assert_eq!(named(&ring(&mut p, t0, 7)), vec![CallId(1)]);
        cmd(&mut p, t0, Command::Accept { call: None });
        let fx = sip(&mut p, t0, SipInput::Confirmed { leg: Leg(7) });
        assert_eq!(named(&fx), vec![CallId(1)]);
        assert_eq!(named(&ring(&mut p, t0, 9)), vec![CallId(2)]);
        assert_eq!(p.call_of(Leg(9)), Some(CallId(2)));
        // A name we never gave: refused, nothing on the wire.
        assert_eq!(
            cmd(
                &mut p,
                t0,
                Command::End {
                    call: Some(CallId(5))
                }
            ),
            vec![Effect::Emit(Event::Notice(Notice::UnknownCall(CallId(5))))]
        );
        // Hold the first call by name while the second rings.
        assert_eq!(
            cmd(
                &mut p,
                t0,
                Command::ToggleHold {
                    call: Some(CallId(1))
                }
            ),
            vec![Effect::Sip(SipAction::Hold {
                leg: Leg(7),
                hold: true
            })]
        );
        // The ringing call by name cannot be held (not answered).
        assert!(matches!(
            cmd(
                &mut p,
                t0,
                Command::ToggleHold {
                    call: Some(CallId(2))
                }
            )[..],
            [Effect::Emit(Event::Notice(Notice::NotNow(_)))]
        ));
        // End the first by name: the second still rings, and keeps its name.
        let fx = cmd(
            &mut p,
            t0,
            Command::End {
                call: Some(CallId(1)),
            },
        );
        assert_eq!(
            fx,
            vec![
                Effect::Sip(SipAction::Bye { leg: Leg(7) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::LocalHangup)
                })
            ]
        );
        let fx = sip(&mut p, t0, SipInput::RemoteCancel { leg: Leg(9) });
        assert_eq!(
            fx,
            vec![Effect::Emit(Event::Call {
                call: CallId(2),
                event: CallEvent::Ended(EndReason::Cancelled)
            })]
        );
        // A gone call's name is not reused.
        cmd(&mut p, t0, Command::CallOut("1002".into()));
        assert_eq!(p.call_of(Leg(10)), Some(CallId(3)));
    }

    #[test]
    fn mute_dtmf_and_transfer() {
        let t0 = Instant::now();
        let mut p = Softphone::new(Policy::default());
        assert!(matches!(
            cmd(&mut p, t0, Command::ToggleMute { call: None })[..],
            [Effect::Emit(Event::Notice(Notice::NotNow(_)))]
        ));
        cmd(&mut p, t0, Command::CallOut("1002".into()));
        sip(&mut p, t0, SipInput::Answered { leg: Leg(1) });
        assert_eq!(
            cmd(&mut p, t0, Command::ToggleMute { call: None }),
            vec![
                Effect::Sip(SipAction::Mute {
                    leg: Leg(1),
                    mute: true
                }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Muted(true)
                })
            ]
        );
        assert_eq!(
            cmd(
                &mut p,
                t0,
                Command::SendDtmf {
                    call: None,
                    digit: '5'
                }
            ),
            vec![Effect::Sip(SipAction::Dtmf {
                leg: Leg(1),
                digit: '5'
            })]
        );
        assert_eq!(
            cmd(
                &mut p,
                t0,
                Command::Transfer {
                    call: None,
                    target: TransferTarget::Number("1003".into())
                }
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
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::TransferResult {
                        ok: true,
                        detail: TransferDetail::Sip { code: 200 }
                    }
                }),
                Effect::Sip(SipAction::Bye { leg: Leg(1) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Transferred {
                        target: "1003".into()
                    })
                })
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

    /// Two calls up: leg 1 (c1) talking, leg 2 (c2) waiting, all with `offer`.
    fn waiting(t0: Instant) -> Softphone {
        let mut p = Softphone::new(Policy {
            second_call: SecondCall::Offer,
            ..Policy::default()
        });
        ring(&mut p, t0, 1);
        cmd(&mut p, t0, Command::Accept { call: None });
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(1) });
        p
    }

    fn held(p: &mut Softphone, t: Instant, leg: u64, held: bool) -> Vec<Effect> {
        sip(
            p,
            t,
            SipInput::HoldResult {
                leg: Leg(leg),
                held,
                ok: true,
            },
        )
    }

    fn notices(fx: &[Effect]) -> Vec<Notice> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Emit(Event::Notice(n)) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    fn wire(fx: &[Effect]) -> Vec<SipAction> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Sip(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_waiting_call_beeps_in_the_live_call_and_a_third_gets_486_and_a_notice() {
        let t0 = Instant::now();
        let mut p = waiting(t0);
        let fx = ring(&mut p, t0, 2);
        assert_eq!(
            wire(&fx),
            vec![
                SipAction::Ringing { leg: Leg(2) },
                SipAction::WaitingBeep { leg: Leg(1) }
            ]
        );
        // A third call while two are up: Busy Here, and the agent is told.
        let fx = sip(
            &mut p,
            t0,
            SipInput::Incoming {
                leg: Leg(3),
                number: "0987654321".into(),
                display_name: None,
            },
        );
        assert_eq!(
            fx,
            vec![
                Effect::Sip(SipAction::Reject {
                    leg: Leg(3),
                    code: 486
                }),
                Effect::Emit(Event::Notice(Notice::Info(Info::BusyThirdCall {
                    number: "0987654321".into()
                })))
            ]
        );
        assert_eq!(p.call_of(Leg(3)), None);
        // A first ring with no live call does not beep.
        let mut q = Softphone::new(Policy::default());
        assert_eq!(
            wire(&ring(&mut q, t0, 5)),
            vec![SipAction::Ringing { leg: Leg(5) }]
        );
    }

    #[test]
    fn the_waiting_caller_cancels_and_the_live_call_goes_on() {
        let t0 = Instant::now();
        let mut p = waiting(t0);
        ring(&mut p, t0, 2);
        let fx = sip(&mut p, t0, SipInput::RemoteCancel { leg: Leg(2) });
        assert_eq!(
            fx,
            vec![Effect::Emit(Event::Call {
                call: CallId(2),
                event: CallEvent::Ended(EndReason::Cancelled)
            })]
        );
        // The first call is untouched: still live, hold still works.
        assert_eq!(
            wire(&cmd(&mut p, t0, Command::ToggleHold { call: None })),
            vec![SipAction::Hold {
                leg: Leg(1),
                hold: true
            }]
        );
    }

    #[test]
    fn the_far_end_of_the_held_call_hangs_up_and_the_other_call_stays() {
        let t0 = Instant::now();
        let mut p = waiting(t0);
        ring(&mut p, t0, 2);
        cmd(&mut p, t0, Command::Accept { call: None });
        held(&mut p, t0, 1, true);
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(2) });
        let fx = sip(&mut p, t0, SipInput::RemoteBye { leg: Leg(1) });
        assert_eq!(
            fx,
            vec![Effect::Emit(Event::Call {
                call: CallId(1),
                event: CallEvent::Ended(EndReason::RemoteHangup)
            })]
        );
        assert_eq!(p.call_of(Leg(2)), Some(CallId(2)));
        // Nothing to swap to any more.
        assert!(matches!(
            notices(&cmd(&mut p, t0, Command::Swap { call: None }))[..],
            [Notice::NotNow(NotNow::NothingToSwap)]
        ));
    }

    #[test]
    fn swap_holds_the_live_call_first_then_resumes_the_other() {
        let t0 = Instant::now();
        let mut p = waiting(t0);
        ring(&mut p, t0, 2);
        cmd(&mut p, t0, Command::Accept { call: None });
        held(&mut p, t0, 1, true);
        sip(&mut p, t0, SipInput::Confirmed { leg: Leg(2) });
        // Naming the live call: nothing to swap to.
        assert!(matches!(
            notices(&cmd(
                &mut p,
                t0,
                Command::Swap {
                    call: Some(CallId(2))
                }
            ))[..],
            [Notice::NotNow(NotNow::NothingToSwap)]
        ));
        // An unknown name is refused.
        assert!(matches!(
            notices(&cmd(
                &mut p,
                t0,
                Command::Swap {
                    call: Some(CallId(9))
                }
            ))[..],
            [Notice::UnknownCall(CallId(9))]
        ));
        let fx = cmd(
            &mut p,
            t0,
            Command::Swap {
                call: Some(CallId(1)),
            },
        );
        assert_eq!(
            wire(&fx),
            vec![SipAction::Hold {
                leg: Leg(2),
                hold: true
            }]
        );
        // A second press while the swap runs: refused, nothing on the wire.
        assert!(wire(&cmd(&mut p, t0, Command::Swap { call: None })).is_empty());
        // Call 2 is held: now call 1 is resumed.
        let fx = held(&mut p, t0, 2, true);
        assert_eq!(
            fx,
            vec![
                Effect::Emit(Event::Call {
                    call: CallId(2),
                    event: CallEvent::Held(true)
                }),
                Effect::Sip(SipAction::Hold {
                    leg: Leg(1),
                    hold: false
                })
            ]
        );
        held(&mut p, t0, 1, false);
        // And back (the default is the held call).
        assert_eq!(
            wire(&cmd(&mut p, t0, Command::Swap { call: None })),
            vec![SipAction::Hold {
                leg: Leg(1),
                hold: true
            }]
        );
        // The PBX refuses that hold: no resume of the other, both as they were.
        let fx = sip(
            &mut p,
            t0,
            SipInput::HoldResult {
                leg: Leg(1),
                held: true,
                ok: false,
            },
        );
        assert!(wire(&fx).is_empty(), "{fx:?}");
        // Either call can be ended; the held one stays.
        let fx = cmd(
            &mut p,
            t0,
            Command::End {
                call: Some(CallId(1)),
            },
        );
        assert_eq!(wire(&fx), vec![SipAction::Bye { leg: Leg(1) }]);
        assert_eq!(p.call_of(Leg(2)), Some(CallId(2)));
    }

    /// c1 (leg 1) talking, consult c2 (leg 2) to 1003 answered, c1 held.
    fn consulting(t0: Instant) -> Softphone {
        let mut p = waiting(t0);
        let fx = cmd(&mut p, t0, Command::Consult("1003".into()));
        assert_eq!(
            fx,
            vec![
                Effect::Sip(SipAction::Hold {
                    leg: Leg(1),
                    hold: true
                }),
                Effect::Emit(Event::Call {
                    call: CallId(2),
                    event: CallEvent::Dialing("1003".into())
                }),
                Effect::Emit(Event::Call {
                    call: CallId(2),
                    event: CallEvent::ConsultFor(CallId(1))
                }),
                Effect::Sip(SipAction::Invite {
                    leg: Leg(2),
                    target: "1003".into()
                })
            ]
        );
        held(&mut p, t0, 1, true);
        sip(&mut p, t0, SipInput::Answered { leg: Leg(2) });
        p
    }

    #[test]
    fn consult_then_complete_refers_with_replaces_and_leaves_both_calls() {
        let t0 = Instant::now();
        // Nothing to complete without a consult call.
        let mut p = waiting(t0);
        assert!(matches!(
            notices(&cmd(&mut p, t0, Command::CompleteTransfer))[..],
            [Notice::NotNow(NotNow::NoConsult)]
        ));
        let mut p = consulting(t0);
        assert_eq!(
            wire(&cmd(&mut p, t0, Command::CompleteTransfer)),
            vec![SipAction::AttendedRefer {
                leg: Leg(1),
                target: "1003".into(),
                replaces: Leg(2)
            }]
        );
        let progress = |p: &mut Softphone, code, done| {
            sip(
                p,
                t0,
                SipInput::TransferProgress {
                    leg: Leg(1),
                    code,
                    done,
                },
            )
        };
        sip(
            &mut p,
            t0,
            SipInput::ReferAnswered {
                leg: Leg(1),
                code: 202,
            },
        );
        // The colleague's phone replaced our consult dialog: it BYEs us.
        // That does not take the customer off hold.
        let fx = sip(&mut p, t0, SipInput::RemoteBye { leg: Leg(2) });
        assert!(wire(&fx).is_empty(), "{fx:?}");
        let fx = progress(&mut p, 200, true);
        assert_eq!(
            fx,
            vec![
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::TransferResult {
                        ok: true,
                        detail: TransferDetail::Sip { code: 200 }
                    }
                }),
                Effect::Sip(SipAction::Bye { leg: Leg(1) }),
                Effect::Emit(Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Transferred {
                        target: "1003".into()
                    })
                })
            ]
        );
        assert!(!p.has_calls());
    }

    #[test]
    fn a_refused_refer_leaves_both_calls_as_they_were() {
        let t0 = Instant::now();
        let mut p = consulting(t0);
        cmd(&mut p, t0, Command::CompleteTransfer);
        let fx = sip(
            &mut p,
            t0,
            SipInput::ReferAnswered {
                leg: Leg(1),
                code: 403,
            },
        );
        assert!(wire(&fx).is_empty(), "{fx:?}");
        assert_eq!(
            notices(&fx),
            vec![Notice::Info(Info::TransferRefused { code: 403 })]
        );
        assert_eq!(p.call_of(Leg(1)), Some(CallId(1)));
        assert_eq!(p.call_of(Leg(2)), Some(CallId(2)));
        // Complete can be tried again.
        assert_eq!(wire(&cmd(&mut p, t0, Command::CompleteTransfer)).len(), 1);
    }

    #[test]
    fn a_transfer_whose_final_notify_never_comes_gives_up_and_keeps_both_calls() {
        let t0 = Instant::now();
        let mut p = consulting(t0);
        cmd(&mut p, t0, Command::CompleteTransfer);
        // The REFER is accepted, then the peer falls silent.
        sip(
            &mut p,
            t0,
            SipInput::ReferAnswered {
                leg: Leg(1),
                code: 202,
            },
        );
        let deadline = p.poll_timeout().expect("a deadline on the transfer");
        assert_eq!(deadline, t0 + 72 * T1);
        p.handle_timeout(deadline - Duration::from_millis(1));
        assert!(drain(&mut p).is_empty());
        p.handle_timeout(deadline);
        let fx = drain(&mut p);
        assert!(wire(&fx).is_empty(), "no fallback on silence: {fx:?}");
        assert_eq!(
            notices(&fx),
            vec![Notice::Info(Info::TransferRefused { code: 408 })]
        );
        assert!(fx.contains(&Effect::Emit(Event::Call {
            call: CallId(1),
            event: CallEvent::TransferResult {
                ok: false,
                detail: TransferDetail::Sip { code: 408 }
            }
        })));
        // Both calls are still there, and the transfer can be tried again.
        assert_eq!(p.call_of(Leg(1)), Some(CallId(1)));
        assert_eq!(p.call_of(Leg(2)), Some(CallId(2)));
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(wire(&cmd(&mut p, t0, Command::CompleteTransfer)).len(), 1);
    }

    #[test]
    fn replaces_not_honoured_falls_back_to_a_plain_refer_after_ending_the_consult() {
        let t0 = Instant::now();
        let mut p = consulting(t0);
        cmd(&mut p, t0, Command::CompleteTransfer);
        sip(
            &mut p,
            t0,
            SipInput::ReferAnswered {
                leg: Leg(1),
                code: 202,
            },
        );
        // The customer's INVITE with Replaces failed (NOTIFY 481).
        let fx = sip(
            &mut p,
            t0,
            SipInput::TransferProgress {
                leg: Leg(1),
                code: 481,
                done: true,
            },
        );
        assert_eq!(
            wire(&fx),
            vec![
                SipAction::Bye { leg: Leg(2) },
                SipAction::Refer {
                    leg: Leg(1),
                    target: "1003".into()
                }
            ]
        );
        assert_eq!(
            notices(&fx),
            vec![Notice::Info(Info::ReplacesFallback { code: 481 })]
        );
        // The plain REFER works: the console leaves the customer too.
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
        assert!(!p.has_calls());

        // The same, but the plain REFER fails too: back to the customer.
        let mut p = consulting(t0);
        cmd(&mut p, t0, Command::CompleteTransfer);
        // The NOTIFY crosses the REFER's 202: still the INVITE's failure.
        let notify = |code| SipInput::TransferProgress {
            leg: Leg(1),
            code,
            done: true,
        };
        let answer = |code| SipInput::ReferAnswered { leg: Leg(1), code };
        let fx = sip(&mut p, t0, notify(420));
        assert_eq!(
            notices(&fx),
            vec![Notice::Info(Info::ReplacesFallback { code: 420 })]
        );
        sip(&mut p, t0, answer(202));
        sip(&mut p, t0, answer(202));
        let fx = sip(&mut p, t0, notify(486));
        assert_eq!(
            wire(&fx),
            vec![SipAction::Hold {
                leg: Leg(1),
                hold: false
            }]
        );
        assert_eq!(
            notices(&fx),
            vec![Notice::Info(Info::TransferRefused { code: 486 })]
        );
    }

    #[test]
    fn cancelling_the_consult_resumes_the_customer() {
        let t0 = Instant::now();
        let mut p = consulting(t0);
        let fx = cmd(
            &mut p,
            t0,
            Command::End {
                call: Some(CallId(2)),
            },
        );
        assert_eq!(
            wire(&fx),
            vec![
                SipAction::Bye { leg: Leg(2) },
                SipAction::Hold {
                    leg: Leg(1),
                    hold: false
                }
            ]
        );
        // A colleague who does not answer: the same.
        let mut p = waiting(t0);
        cmd(&mut p, t0, Command::Consult("1003".into()));
        held(&mut p, t0, 1, true);
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
            vec![SipAction::Hold {
                leg: Leg(1),
                hold: false
            }]
        );
        // A consult needs a live call, and one call only.
        let mut q = Softphone::new(Policy::default());
        assert!(matches!(
            notices(&cmd(&mut q, t0, Command::Consult("1003".into())))[..],
            [Notice::NotNow(NotNow::NotInCall)]
        ));
    }

    #[test]
    fn merge_asks_the_mixer_for_both_legs() {
        let t0 = Instant::now();
        let mut p = waiting(t0);
        assert!(matches!(
            notices(&cmd(&mut p, t0, Command::Merge))[..],
            [Notice::NotNow(NotNow::NeedTwoCalls)]
        ));
        // The held customer is resumed first, then both are mixed.
        let mut p = consulting(t0);
        assert_eq!(
            wire(&cmd(&mut p, t0, Command::Merge)),
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
    }
}
