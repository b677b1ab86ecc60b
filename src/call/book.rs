//! The call book: every live call, which one is selected, and what each
//! one is doing, built from the engine's [`Event`]s and nothing else.
//!
//! Pure and sans-IO: `now` is an argument (of any `Copy` time type, so the
//! console uses `Instant` and the history recorder `SystemTime`), no clock
//! read, no task. The screen, the control socket's `status`, the history
//! recorder, the popup feed and the alert policy each hold one and feed it
//! the same event stream, so they agree on what "the call" is without each
//! rebuilding it their own way.
//!
//! ```text
//!  inbound:  Ringing ──Accepted──▶ Talking ⇄ held ──Ended──▶ (gone, last_ended)
//!  call-out: Dialing ──CalloutStarted──▶ CustomerRinging ──CustomerAnswered──▶ Talking
//!            (VCC device 1: the platform's agent leg rings first: AgentLeg)
//! ```
//!
//! Selection: the first call is selected; a new ring is selected (a key
//! answers it, as the call cores do); answering a call selects it; when the
//! selected call ends, a ringing call, then a live one, then the newest is.

use crate::engine::{CallEvent, CallId, Direction, EndReason, Event, Quality, RingInfo};

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A call rings for us.
    Ringing,
    /// The platform's leg to us for our own call-out (auto-answered).
    AgentLeg,
    /// Our call-out is on its way.
    Dialing,
    /// The customer's phone rings.
    CustomerRinging,
    /// Talking (held and muted are flags).
    Talking,
}

/// One live call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call<T> {
    pub id: CallId,
    pub phase: Phase,
    pub direction: Direction,
    pub number: String,
    pub name: Option<String>,
    /// VCC `line`: the hotline the customer dialled.
    pub line: Option<String>,
    /// VCC `queueDescription`: the IVR choice.
    pub queue: Option<String>,
    /// The platform's own id for the call (VCC `callId`), once known.
    pub platform_id: Option<String>,
    pub held: bool,
    pub muted: bool,
    /// When the call came into being.
    pub started: T,
    /// When the current phase began (the timer before an answer).
    pub since: T,
    /// When the agent started talking (the talk timer).
    pub answered: Option<T>,
    /// When the other party answered (history's answered time): the
    /// customer for a call-out, us for a call to us.
    pub connected: Option<T>,
    /// A leg of the call to us is answered, so its audio owns the output
    /// (a call-out's agent leg counts, before the customer answers).
    pub media_up: bool,
    /// The call-out was refused (`CalloutFailed`); its `Ended` follows.
    pub failed: bool,
    pub quality: Option<Quality>,
    /// DTMF digits we sent / received.
    pub dtmf_sent: String,
    pub dtmf_received: String,
    /// A consult call: the call it was made for (attended transfer).
    pub consult_for: Option<CallId>,
}

impl<T: Copy> Call<T> {
    fn new(id: CallId, phase: Phase, direction: Direction, number: String, now: T) -> Self {
        Call {
            id,
            phase,
            direction,
            number,
            name: None,
            line: None,
            queue: None,
            platform_id: None,
            held: false,
            muted: false,
            started: now,
            since: now,
            answered: None,
            connected: None,
            media_up: false,
            failed: false,
            quality: None,
            dtmf_sent: String::new(),
            dtmf_received: String::new(),
            consult_for: None,
        }
    }

    /// What the call timer counts from.
    pub fn timer_base(&self) -> T {
        self.answered.unwrap_or(self.since)
    }

    /// Whether a customer number is known (the popup applies).
    pub fn has_customer(&self) -> bool {
        !self.number.is_empty()
    }

    pub fn is_ringing_here(&self) -> bool {
        self.phase == Phase::Ringing
    }

    pub fn is_talking(&self) -> bool {
        self.phase == Phase::Talking
    }

    fn ring_details(&mut self, info: &RingInfo) {
        let text = |s: &Option<String>| s.clone().filter(|n| !n.trim().is_empty());
        if let Some(n) = text(&info.display_name) {
            self.name = Some(n);
        }
        if let Some(l) = text(&info.line) {
            self.line = Some(l);
        }
        if let Some(q) = text(&info.queue) {
            self.queue = Some(q);
        }
    }
}

/// A call that has ended, with why and when.
#[derive(Debug, Clone, PartialEq)]
pub struct EndedCall<T> {
    pub call: Call<T>,
    pub reason: EndReason,
    pub at: T,
}

/// What [`CallBook::apply`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied<T> {
    /// Not a call event, or nothing to change.
    Nothing,
    /// A call came into being (it may already have changed, e.g. a call
    /// first heard of by its answer).
    Started(CallId),
    /// A known call changed.
    Changed(CallId),
    /// A call ended and left the book.
    Ended(Box<EndedCall<T>>),
}

/// How many platform ids of calls not yet shown are kept (VCC device 1:
/// the push ring names the call before its INVITE rings here).
const PENDING_MAX: usize = 8;

/// Every live call and which one is selected.
#[derive(Debug, Clone)]
pub struct CallBook<T> {
    calls: Vec<Call<T>>,
    selected: Option<CallId>,
    last_ended: Option<EndedCall<T>>,
    pending_platform: Vec<(CallId, String)>,
}

impl<T: Copy> Default for CallBook<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> CallBook<T> {
    pub fn new() -> Self {
        CallBook {
            calls: Vec::new(),
            selected: None,
            last_ended: None,
            pending_platform: Vec::new(),
        }
    }

    /// Live calls, oldest first.
    pub fn calls(&self) -> &[Call<T>] {
        &self.calls
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn get(&self, id: CallId) -> Option<&Call<T>> {
        self.calls.iter().find(|c| c.id == id)
    }

    pub fn contains(&self, id: CallId) -> bool {
        self.get(id).is_some()
    }

    pub fn selected_id(&self) -> Option<CallId> {
        self.selected
    }

    /// The call the keys act on.
    pub fn selected(&self) -> Option<&Call<T>> {
        self.selected.and_then(|id| self.get(id))
    }

    /// Make `id` the selected call; false when there is no such call.
    pub fn select(&mut self, id: CallId) -> bool {
        let known = self.contains(id);
        if known {
            self.selected = Some(id);
        }
        known
    }

    /// The call that ended last.
    pub fn last_ended(&self) -> Option<&EndedCall<T>> {
        self.last_ended.as_ref()
    }

    /// Is any call other than `except` being talked on (answered)?
    pub fn talking_besides(&self, except: CallId) -> bool {
        self.calls.iter().any(|c| c.id != except && c.is_talking())
    }

    /// Does any call's audio own the output (see [`Call::media_up`])?
    pub fn media_up(&self) -> bool {
        self.calls.iter().any(|c| c.media_up)
    }

    /// Note a DTMF digit the agent sent on `id`.
    pub fn note_dtmf_sent(&mut self, id: CallId, digit: char) {
        if let Some(c) = self.get_mut(id) {
            c.dtmf_sent.push(digit);
        }
    }

    /// Every call is gone at once (the engine stopped or lost the
    /// transport without saying so per call): the book empties.
    pub fn clear(&mut self) {
        self.calls.clear();
        self.selected = None;
        self.pending_platform.clear();
    }

    fn get_mut(&mut self, id: CallId) -> Option<&mut Call<T>> {
        self.calls.iter_mut().find(|c| c.id == id)
    }

    fn add(&mut self, mut c: Call<T>) -> Applied<T> {
        let id = c.id;
        if let Some(i) = self.pending_platform.iter().position(|(p, _)| *p == id) {
            c.platform_id = Some(self.pending_platform.remove(i).1);
        }
        let ringing = c.is_ringing_here();
        self.calls.push(c);
        if self.selected.is_none() || ringing {
            self.selected = Some(id);
        }
        Applied::Started(id)
    }

    /// Apply one event.
    pub fn apply(&mut self, now: T, event: &Event) -> Applied<T> {
        match event {
            Event::Call { call, event } => self.apply_call(now, *call, event),
            _ => Applied::Nothing,
        }
    }

    fn apply_call(&mut self, now: T, id: CallId, ev: &CallEvent) -> Applied<T> {
        if !self.contains(id) {
            return self.unknown(now, id, ev);
        }
        let Some(c) = self.get_mut(id) else {
            return Applied::Nothing;
        };
        match ev {
            CallEvent::Dialing(n) => {
                if !n.is_empty() {
                    c.number = n.clone();
                }
            }
            CallEvent::CalloutStarted(n) => {
                if !n.is_empty() {
                    c.number = n.clone();
                }
                if c.phase != Phase::Talking {
                    c.phase = Phase::CustomerRinging;
                    c.since = now;
                }
            }
            CallEvent::CustomerAnswered => {
                c.media_up = true;
                c.phase = Phase::Talking;
                c.answered.get_or_insert(now);
                c.connected.get_or_insert(now);
            }
            CallEvent::Ringing(info) if info.agent_leg => {
                // The platform's leg to us for our own call-out.
                if c.phase != Phase::Talking {
                    c.phase = Phase::AgentLeg;
                    c.since = now;
                }
                if c.number.is_empty() {
                    c.number = info.phone.clone();
                }
            }
            CallEvent::Ringing(info) => {
                // The same call heard of twice (VCC: the push ring, then
                // the INVITE): one call, the details merged.
                c.ring_details(info);
                if c.number.is_empty() {
                    c.number = info.phone.clone();
                }
                if c.phase != Phase::Talking && c.phase != Phase::Ringing {
                    c.phase = Phase::Ringing;
                    c.since = now;
                }
            }
            CallEvent::Accepted => {
                c.media_up = true;
                match c.phase {
                    // The agent leg of a call-out is up: now the customer.
                    Phase::AgentLeg => {
                        c.phase = Phase::Dialing;
                        c.since = now;
                    }
                    _ => {
                        c.phase = Phase::Talking;
                        c.answered.get_or_insert(now);
                        if c.direction != Direction::Outbound {
                            c.connected.get_or_insert(now);
                        }
                    }
                }
                if c.phase == Phase::Talking {
                    self.selected = Some(id);
                }
            }
            CallEvent::Ended(reason) => return self.end(now, id, reason.clone()),
            CallEvent::Held(b) => {
                c.held = *b;
                // Resumed (a swap's second half): the keys follow the live call.
                if !*b {
                    self.selected = Some(id);
                }
            }
            CallEvent::Muted(b) => c.muted = *b,
            CallEvent::PlatformId(p) => c.platform_id = Some(p.clone()),
            CallEvent::CalloutFailed { .. } => c.failed = true,
            CallEvent::Quality(q) => c.quality = Some(*q),
            CallEvent::DtmfReceived(d) => c.dtmf_received.push(*d),
            CallEvent::ConsultFor(parent) => {
                // The agent's consult call: the keys act on it.
                c.consult_for = Some(*parent);
                self.selected = Some(id);
            }
            CallEvent::PartyChanged { number, name } => {
                // Someone else now: the old party's name goes with them.
                if !number.is_empty() {
                    c.number = number.clone();
                }
                c.name = name.clone().filter(|n| !n.trim().is_empty());
            }
            CallEvent::TransferResult { .. } => return Applied::Nothing,
        }
        Applied::Changed(id)
    }

    /// An event for a call the book has not seen: a ring or a call-out
    /// starts one; an answer means a call we learn of midway (handed to
    /// us by a transfer); a platform id waits for its call.
    fn unknown(&mut self, now: T, id: CallId, ev: &CallEvent) -> Applied<T> {
        let c = match ev {
            CallEvent::Dialing(n) => {
                Call::new(id, Phase::Dialing, Direction::Outbound, n.clone(), now)
            }
            CallEvent::CalloutStarted(n) => Call::new(
                id,
                Phase::CustomerRinging,
                Direction::Outbound,
                n.clone(),
                now,
            ),
            CallEvent::Ringing(info) => {
                let phase = if info.agent_leg {
                    Phase::AgentLeg
                } else {
                    Phase::Ringing
                };
                let mut c = Call::new(id, phase, info.direction, info.phone.clone(), now);
                c.ring_details(info);
                c
            }
            CallEvent::Accepted | CallEvent::CustomerAnswered => {
                let mut c = Call::new(id, Phase::Talking, Direction::Internal, String::new(), now);
                c.answered = Some(now);
                c.connected = Some(now);
                c.media_up = true;
                c
            }
            CallEvent::PlatformId(p) => {
                self.pending_platform.retain(|(q, _)| *q != id);
                if self.pending_platform.len() >= PENDING_MAX {
                    self.pending_platform.remove(0);
                }
                self.pending_platform.push((id, p.clone()));
                return Applied::Nothing;
            }
            CallEvent::Ended(_) => {
                self.pending_platform.retain(|(q, _)| *q != id);
                return Applied::Nothing;
            }
            _ => return Applied::Nothing,
        };
        self.add(c)
    }

    fn end(&mut self, now: T, id: CallId, reason: EndReason) -> Applied<T> {
        let Some(i) = self.calls.iter().position(|c| c.id == id) else {
            return Applied::Nothing;
        };
        let call = self.calls.remove(i);
        if self.selected == Some(id) {
            self.selected = self
                .calls
                .iter()
                .find(|c| c.is_ringing_here())
                .or_else(|| self.calls.iter().find(|c| !c.held))
                .or_else(|| self.calls.last())
                .map(|c| c.id);
        }
        let ended = EndedCall {
            call,
            reason,
            at: now,
        };
        self.last_ended = Some(ended.clone());
        Applied::Ended(Box::new(ended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake clock: seconds.
    type Secs = u64;

    fn ev(id: u64, e: CallEvent) -> Event {
        Event::call(CallId(id), e)
    }

    fn ring(number: &str) -> CallEvent {
        CallEvent::Ringing(RingInfo {
            phone: number.into(),
            display_name: Some("Nguyễn Văn A".into()),
            line: Some("19001234".into()),
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        })
    }

    fn agent_leg(number: &str) -> CallEvent {
        CallEvent::Ringing(RingInfo {
            phone: number.into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Outbound,
            agent_leg: true,
        })
    }

    #[test]
    fn ring_answer_hold_unhold_end() {
        let mut b: CallBook<Secs> = CallBook::new();
        assert_eq!(b.apply(0, &Event::Ready), Applied::Nothing);
        assert_eq!(
            b.apply(0, &ev(1, ring("0912345678"))),
            Applied::Started(CallId(1))
        );
        let c = b.selected().expect("selected");
        assert_eq!((c.phase, c.number.as_str()), (Phase::Ringing, "0912345678"));
        assert_eq!(c.name.as_deref(), Some("Nguyễn Văn A"));
        assert_eq!(c.line.as_deref(), Some("19001234"));
        assert_eq!(c.timer_base(), 0);
        assert_eq!(
            b.apply(3, &ev(1, CallEvent::Accepted)),
            Applied::Changed(CallId(1))
        );
        let c = b.get(CallId(1)).expect("call");
        assert_eq!(
            (c.phase, c.answered, c.connected),
            (Phase::Talking, Some(3), Some(3))
        );
        b.apply(5, &ev(1, CallEvent::Held(true)));
        assert!(b.get(CallId(1)).expect("call").held);
        b.apply(7, &ev(1, CallEvent::Held(false)));
        assert!(!b.get(CallId(1)).expect("call").held);
        let Applied::Ended(e) = b.apply(20, &ev(1, CallEvent::Ended(EndReason::RemoteHangup)))
        else {
            panic!("not ended")
        };
        assert_eq!(
            (e.call.id, e.reason.clone(), e.at),
            (CallId(1), EndReason::RemoteHangup, 20)
        );
        assert_eq!(e.call.answered, Some(3));
        assert!(b.is_empty());
        assert_eq!(b.selected_id(), None);
        assert_eq!(b.last_ended(), Some(&*e));
    }

    #[test]
    fn call_out_dialing_early_answered() {
        let mut b: CallBook<Secs> = CallBook::new();
        b.apply(0, &ev(4, CallEvent::Dialing("0912345678".into())));
        b.apply(1, &ev(4, CallEvent::PlatformId("vcc-9".into())));
        let c = b.selected().expect("call");
        assert_eq!(
            (c.phase, c.direction),
            (Phase::Dialing, Direction::Outbound)
        );
        assert_eq!(c.platform_id.as_deref(), Some("vcc-9"));
        // VCC device 1: the platform's agent leg rings first, same call.
        assert_eq!(
            b.apply(2, &ev(4, agent_leg("0912345678"))),
            Applied::Changed(CallId(4))
        );
        assert_eq!(b.get(CallId(4)).expect("call").phase, Phase::AgentLeg);
        b.apply(3, &ev(4, CallEvent::CalloutStarted("0912 345 678".into())));
        let c = b.get(CallId(4)).expect("call");
        assert_eq!((c.phase, c.since), (Phase::CustomerRinging, 3));
        assert_eq!(c.number, "0912 345 678");
        assert_eq!(c.answered, None);
        b.apply(9, &ev(4, CallEvent::CustomerAnswered));
        // An Accepted after the answer changes neither timer.
        b.apply(9, &ev(4, CallEvent::Accepted));
        let c = b.get(CallId(4)).expect("call");
        assert_eq!(
            (c.phase, c.answered, c.connected),
            (Phase::Talking, Some(9), Some(9))
        );
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn an_agent_answer_on_a_call_out_is_not_the_customer_answer() {
        let mut b: CallBook<Secs> = CallBook::new();
        b.apply(0, &ev(1, CallEvent::Dialing("0912345678".into())));
        b.apply(2, &ev(1, CallEvent::Accepted));
        let c = b.get(CallId(1)).expect("call");
        assert_eq!((c.answered, c.connected), (Some(2), None));
    }

    #[test]
    fn failed_call_out_stays_until_its_end() {
        let mut b: CallBook<Secs> = CallBook::new();
        b.apply(0, &ev(1, CallEvent::Dialing("0912345678".into())));
        let failed = CallEvent::CalloutFailed {
            error_code: None,
            sip_code: Some(486),
            internal: None,
        };
        assert_eq!(b.apply(1, &ev(1, failed)), Applied::Changed(CallId(1)));
        assert!(b.get(CallId(1)).expect("call").failed);
        let Applied::Ended(e) = b.apply(1, &ev(1, CallEvent::Ended(EndReason::Busy))) else {
            panic!("not ended")
        };
        assert!(e.call.failed);
        assert!(b.is_empty());
    }

    #[test]
    fn cancelled_ring_and_events_for_gone_calls() {
        let mut b: CallBook<Secs> = CallBook::new();
        b.apply(0, &ev(1, ring("0912345678")));
        let Applied::Ended(e) = b.apply(4, &ev(1, CallEvent::Ended(EndReason::Cancelled))) else {
            panic!("not ended")
        };
        assert_eq!((e.call.answered, e.reason), (None, EndReason::Cancelled));
        // A late event for the gone call does not bring it back.
        assert_eq!(b.apply(5, &ev(1, CallEvent::Held(true))), Applied::Nothing);
        assert_eq!(
            b.apply(5, &ev(1, CallEvent::Ended(EndReason::Cancelled))),
            Applied::Nothing
        );
        assert!(b.is_empty());
    }

    #[test]
    fn a_platform_id_waits_for_its_call_and_a_second_ring_merges() {
        let mut b: CallBook<Secs> = CallBook::new();
        // VCC device 1: the push ring names the call, the INVITE rings it.
        assert_eq!(
            b.apply(0, &ev(2, CallEvent::PlatformId("p-1".into()))),
            Applied::Nothing
        );
        assert!(b.is_empty());
        let invite = CallEvent::Ringing(RingInfo {
            phone: "0912345678".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        });
        b.apply(1, &ev(2, invite));
        assert_eq!(
            b.get(CallId(2)).expect("call").platform_id.as_deref(),
            Some("p-1")
        );
        assert_eq!(
            b.apply(2, &ev(2, ring("0912345678"))),
            Applied::Changed(CallId(2))
        );
        let c = b.get(CallId(2)).expect("call");
        assert_eq!((c.since, c.line.as_deref()), (1, Some("19001234")));
        assert_eq!(b.len(), 1);
        // A platform id whose call never rang here is forgotten at its end.
        b.apply(3, &ev(3, CallEvent::PlatformId("p-2".into())));
        b.apply(3, &ev(3, CallEvent::Ended(EndReason::AnsweredElsewhere)));
        b.apply(4, &ev(3, ring("0987654321")));
        assert_eq!(b.get(CallId(3)).expect("call").platform_id, None);
    }

    #[test]
    fn two_calls_selection_follows_the_ring_and_the_answer() {
        let mut b: CallBook<Secs> = CallBook::new();
        b.apply(0, &ev(1, ring("0911111111")));
        b.apply(1, &ev(1, CallEvent::Accepted));
        assert_eq!(b.selected_id(), Some(CallId(1)));
        // A second call rings: selected, so a key answers it.
        assert_eq!(
            b.apply(5, &ev(2, ring("0922222222"))),
            Applied::Started(CallId(2))
        );
        assert_eq!(b.selected_id(), Some(CallId(2)));
        assert!(b.talking_besides(CallId(2)));
        assert!(!b.talking_besides(CallId(1)));
        // The agent looks at the first call again.
        assert!(b.select(CallId(1)));
        assert!(!b.select(CallId(9)));
        assert_eq!(b.selected_id(), Some(CallId(1)));
        // Answering the second one holds the first and selects the second.
        b.apply(6, &ev(1, CallEvent::Held(true)));
        b.apply(6, &ev(2, CallEvent::Accepted));
        assert_eq!(b.selected_id(), Some(CallId(2)));
        let ids: Vec<CallId> = b.calls().iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![CallId(1), CallId(2)]);
        // The far end of the held call hangs up: the selection stays.
        b.apply(8, &ev(1, CallEvent::Ended(EndReason::RemoteHangup)));
        assert_eq!(b.selected_id(), Some(CallId(2)));
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn the_end_of_the_selected_call_selects_the_other_one() {
        let mut b: CallBook<Secs> = CallBook::new();
        b.apply(0, &ev(1, ring("0911111111")));
        b.apply(1, &ev(1, CallEvent::Accepted));
        b.apply(2, &ev(2, ring("0922222222")));
        b.apply(3, &ev(1, CallEvent::Held(true)));
        b.apply(3, &ev(2, CallEvent::Accepted));
        assert_eq!(b.selected_id(), Some(CallId(2)));
        b.apply(9, &ev(2, CallEvent::Ended(EndReason::LocalHangup)));
        let c = b.selected().expect("the held call");
        assert_eq!((c.id, c.held), (CallId(1), true));
        // A waiting ring is preferred over a held call.
        b.apply(10, &ev(3, ring("0933333333")));
        b.select(CallId(1));
        b.apply(11, &ev(4, CallEvent::Dialing("1001".into())));
        b.apply(12, &ev(1, CallEvent::Ended(EndReason::RemoteHangup)));
        assert_eq!(b.selected_id(), Some(CallId(3)));
        // The waiting ring is cancelled: the call-out is left.
        b.apply(13, &ev(3, CallEvent::Ended(EndReason::Cancelled)));
        assert_eq!(b.selected_id(), Some(CallId(4)));
    }

    #[test]
    fn a_call_first_heard_of_by_its_answer_is_a_live_call() {
        let mut b: CallBook<Secs> = CallBook::new();
        assert_eq!(
            b.apply(7, &ev(5, CallEvent::Accepted)),
            Applied::Started(CallId(5))
        );
        let c = b.selected().expect("call");
        assert_eq!(
            (c.phase, c.direction, c.answered),
            (Phase::Talking, Direction::Internal, Some(7))
        );
    }

    #[test]
    fn mute_dtmf_and_quality_follow_the_call() {
        let mut b: CallBook<Secs> = CallBook::new();
        b.apply(0, &ev(1, ring("0911111111")));
        b.apply(1, &ev(1, CallEvent::Accepted));
        b.apply(2, &ev(1, CallEvent::Muted(true)));
        b.apply(2, &ev(1, CallEvent::DtmfReceived('4')));
        b.note_dtmf_sent(CallId(1), '9');
        let q = Quality {
            jitter_ms: 3.0,
            loss_pct: 0.5,
            rtt_ms: 40.0,
            mos: 4.3,
        };
        b.apply(3, &ev(1, CallEvent::Quality(q)));
        let c = b.get(CallId(1)).expect("call");
        assert!(c.muted);
        assert_eq!((c.dtmf_sent.as_str(), c.dtmf_received.as_str()), ("9", "4"));
        assert_eq!(c.quality, Some(q));
        b.clear();
        assert!(b.is_empty() && b.selected_id().is_none());
    }

    #[test]
    fn waiting_swap_and_consult_move_the_selection_with_the_live_call() {
        let mut b: CallBook<Secs> = CallBook::new();
        b.apply(0, &ev(1, ring("0912345678")));
        b.apply(1, &ev(1, CallEvent::Accepted));
        // A second call waits: it is selected (a key answers it), both listed.
        b.apply(2, &ev(2, ring("0987654321")));
        assert_eq!(b.len(), 2);
        assert_eq!(b.selected_id(), Some(CallId(2)));
        // It is answered, the first held.
        b.apply(3, &ev(1, CallEvent::Held(true)));
        b.apply(3, &ev(2, CallEvent::Accepted));
        assert_eq!(b.selected_id(), Some(CallId(2)));
        // Swap: 2 held, then 1 resumed: the keys follow call 1.
        b.apply(4, &ev(2, CallEvent::Held(true)));
        b.apply(4, &ev(1, CallEvent::Held(false)));
        assert_eq!(b.selected_id(), Some(CallId(1)));
        // The far end of the held call hangs up: call 1 stays selected.
        b.apply(5, &ev(2, CallEvent::Ended(EndReason::RemoteHangup)));
        assert_eq!(b.selected_id(), Some(CallId(1)));
        // A consult call is selected and knows whom it serves.
        b.apply(6, &ev(1, CallEvent::Held(true)));
        b.apply(6, &ev(3, CallEvent::Dialing("1003".into())));
        b.apply(6, &ev(3, CallEvent::ConsultFor(CallId(1))));
        assert_eq!(b.selected_id(), Some(CallId(3)));
        assert_eq!(
            b.get(CallId(3)).and_then(|c| c.consult_for),
            Some(CallId(1))
        );
        // Cancelled: the customer is selected again.
        b.apply(7, &ev(3, CallEvent::Ended(EndReason::LocalHangup)));
        assert_eq!(b.selected_id(), Some(CallId(1)));
    }
}
