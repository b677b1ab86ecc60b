//! The VCC agent policy as a sans-IO state machine: what the web-embed SDK
//! (`cs_voice.js`, VCC-PROTOCOL.md §2–§6) does for an agent, one to one,
//! with no socket and no clock.
//!
//! `handle(now, input)` takes console commands, push messages, link and
//! voice-leg events; `handle_timeout(now)` fires the timers whose deadline
//! passed; `poll_effect()` drains what to do (push frames, console events,
//! voice-leg actions, link actions) and `poll_timeout()` names the next
//! deadline. Time is always an argument.
//!
//! ```text
//!  link:  Idle ─Connect─▶ Bootstrapping ─ok─▶ Opening ─opened─▶ LoggingIn ─1010003─▶ Up
//!           ▲                 └─fail─▶ Down (InitFailed)            │ closed          │ closed
//!           │                                                      ▼                 ▼
//!           └──── Down (Disconnected) ◀─ tries used up ─── Backoff (10 s) ─▶ Opening (1010003 again)
//!
//!  call:  Dialing (2032 sent) ─1055 STARTING/RINGING─▶ Dialing ─ANSWER─▶ Active ─ENDCALL─▶ ended
//!                ├─1055 ERROR─▶ ended (CalloutFailed)
//!                └─device 1: agent leg ends─▶ settling ─1055 ERROR─▶ ended (CalloutFailed)
//!                                                 └─CALLOUT_SETTLE, no ERROR─▶ ended
//!         Ringing (1038, or INVITE on device 1) ─1039 / SIP answer─▶ Active ─1009 / BYE─▶ ended
//! ```
//!
//! Rules that live here and nowhere else:
//! - hold and mute always go over push (2015/2016 inbound and internal,
//!   2055/2056 outbound, 2018/2017 mute on inbound calls only), and the state
//!   flips only on the platform's reply (hold: `status:"OK"`; mute: the reply
//!   itself, refusals arrive as 1045);
//! - On/Off (2013) is shown as requested only when 1027 says OK;
//! - a device change keeps the old device on `result: 0`;
//! - only the agent leg of *our own* pending call-out is auto-answered;
//! - 1038/1039/1009 count only when `extension` is ours and voice is here;
//! - the voice leg (device 1) runs only while voice is here and the device
//!   is 1, and is an effect ([`VoiceAction`]) the backend executes;
//! - the exit path hands the device back by role (6→4, 7→3, 9→6) when this
//!   console owns voice.
//!
//! The policy's state and its dispatch live here; each concern has a file:
//! `io` (inputs, effects, settings), `commands` (console commands and the
//! exit path), `calls` (call-out and rings), `push` (platform messages),
//! `link` (the push connection's lifecycle and back-off), `voice_channel`
//! (holding the voice channel), `voice_leg` (the device-1 SIP leg) and
//! `numbers` (dialled strings).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::vcc::Generation;
use crate::engine::{
    Availability, CallEvent, CallId, Device, Direction, EndReason, Event, Info, NotNow, Notice,
    RingInfo, TransferDetail,
};
use crate::vcc_wire::ClientMsg;

/// One SIP call of the device-1 voice leg. Ids of legs the voice leg
/// reports (inbound) are its own; legs we dial get ids from
/// [`DIALED_LEG_BASE`] up, so the two never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

/// First id of the legs the policy dials itself.
pub const DIALED_LEG_BASE: u64 = 1 << 48;

/// How long a device-1 call-out whose agent leg ended before the customer
/// answered waits for the platform's 1055 that says why. The platform ends
/// a failed call-out twice, a BYE (or CANCEL) on the agent leg and a 1055
/// `ERROR` with `errorCode` / `sipCode` on push, over two sockets that race;
/// only the 1055 knows the reason. Both leave the platform together, so
/// this is a safety net for a 1055 that never comes, not a usual delay.
pub const CALLOUT_SETTLE: Duration = Duration::from_secs(2);

mod calls;
mod commands;
mod io;
mod link;
mod numbers;
mod push;
mod voice_channel;
mod voice_leg;

pub use io::{Effect, Input, PolicyConfig, VoiceAction, VoiceEvent, default_device_for_role};
pub use numbers::{DialTarget, classify_number, normalise_mobile};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Idle,
    Bootstrapping,
    Opening,
    LoggingIn,
    Up,
    Backoff,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Dialing,
    Ringing,
    Active,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Hold(bool),
    Mute(bool),
}

#[derive(Debug, Clone)]
struct Call {
    /// Our name for the call, in every event about it (the platform's
    /// agent leg of a call-out is part of the same call).
    id: CallId,
    /// The platform's id (`callId`), once it has named the call.
    call_id: String,
    direction: Direction,
    phone: String,
    line: String,
    queue: String,
    /// `removeAgentId` / `dropAgentId`: the extension the platform named.
    agent_ext: String,
    phase: Phase,
    /// Our own 2032.
    callout: bool,
    customer_answered: bool,
    held: bool,
    muted: bool,
    pending: Option<Pending>,
    end_requested: bool,
    /// The device-1 SIP leg.
    leg: Option<LegId>,
    ring_shown: bool,
    /// Our device-1 call-out lost its agent leg before the customer
    /// answered: how to end it if no 1055 `ERROR` says why by the deadline
    /// ([`CALLOUT_SETTLE`]).
    settling: Option<(EndReason, Instant)>,
    /// The agent or queue we asked to transfer this call to, until the
    /// platform says how it went.
    transfer_asked: Option<String>,
    /// The platform confirmed our transfer: however the call then leaves
    /// us, it ended as transferred.
    transferred_to: Option<String>,
}

impl Call {
    fn new(id: CallId, direction: Direction, phone: String, phase: Phase) -> Self {
        Self {
            id,
            call_id: String::new(),
            direction,
            phone,
            line: String::new(),
            queue: String::new(),
            agent_ext: String::new(),
            phase,
            callout: false,
            customer_answered: false,
            held: false,
            muted: false,
            pending: None,
            end_requested: false,
            leg: None,
            ring_shown: false,
            settling: None,
            transfer_asked: None,
            transferred_to: None,
        }
    }

    fn call_type(&self) -> i64 {
        match self.direction {
            Direction::Inbound => 1,
            Direction::Outbound => 2,
            Direction::Internal => 3,
        }
    }

    fn ring_info(&self, agent_leg: bool) -> RingInfo {
        // Push-frame text reaches the screen and the history: no terminal controls.
        let opt =
            |s: &str| (!s.trim().is_empty()).then(|| crate::sanitize::one_line(s).into_owned());
        RingInfo {
            phone: crate::sanitize::one_line(&self.phone).into_owned(),
            display_name: None,
            line: opt(&self.line),
            queue: opt(&self.queue),
            direction: self.direction,
            agent_leg,
        }
    }
}

#[derive(Debug, Clone)]
struct Offer {
    call_id: String,
    drop_agent_id: String,
    new_agent_id: String,
    deadline: Instant,
}

pub struct VccPolicy {
    cfg: PolicyConfig,
    now: Instant,
    effects: VecDeque<Effect>,
    link: Link,
    attempt: u32,
    ready_once: bool,
    extension: String,
    role: u8,
    last_sent: Instant,
    reconnect_at: Option<Instant>,
    voice_here: bool,
    /// A take-back after a reconnect is in flight (1511231001 asked).
    voice_retaking: bool,
    voice_running: bool,
    voice_unavailable: bool,
    device: u8,
    mobile: String,
    pending_device: Option<(u8, String)>,
    availability: Availability,
    pending_availability: Option<(Availability, Availability)>,
    call: Option<Call>,
    offer: Option<Offer>,
    next_leg: u64,
    next_call: u64,
    exiting: bool,
    exit_at: Option<Instant>,
    finished: bool,
}

impl VccPolicy {
    pub fn new(cfg: PolicyConfig, now: Instant) -> Self {
        Self {
            cfg,
            now,
            effects: VecDeque::new(),
            link: Link::Idle,
            attempt: 0,
            ready_once: false,
            extension: String::new(),
            role: 0,
            last_sent: now,
            reconnect_at: None,
            voice_here: false,
            voice_retaking: false,
            voice_running: false,
            voice_unavailable: false,
            device: 0,
            mobile: String::new(),
            pending_device: None,
            availability: Availability::Off,
            pending_availability: None,
            call: None,
            offer: None,
            next_leg: DIALED_LEG_BASE,
            next_call: 1,
            exiting: false,
            exit_at: None,
            finished: false,
        }
    }

    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The earliest timer: keepalive (older SDK), reconnect backoff, the
    /// transfer offer's deadline, the exit path's deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let keepalive =
            (self.link == Link::Up && self.cfg.generation == Generation::Older && !self.exiting)
                .then(|| self.last_sent + self.cfg.keepalive_idle);
        [
            keepalive,
            self.reconnect_at,
            self.offer.as_ref().map(|o| o.deadline),
            self.exit_at,
            self.call
                .as_ref()
                .and_then(|c| c.settling.as_ref().map(|(_, at)| *at)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub fn owns_voice(&self) -> bool {
        self.voice_here
    }

    pub fn device_code(&self) -> u8 {
        self.device
    }

    pub fn has_call(&self) -> bool {
        self.call.is_some()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.exit_at.is_some_and(|t| t <= now) {
            self.exit_at = None;
            self.finish();
            return;
        }
        if let Some((reason, at)) = self.call.as_ref().and_then(|c| c.settling.clone())
            && at <= now
        {
            // No 1055 came: end with what the leg said.
            self.end_call(reason);
        }
        if self.reconnect_at.is_some_and(|t| t <= now) {
            self.reconnect_at = None;
            self.link = Link::Opening;
            self.effects.push_back(Effect::OpenPush);
        }
        if self.offer.as_ref().is_some_and(|o| o.deadline <= now)
            && let Some(o) = self.offer.take()
        {
            self.send(ClientMsg::TransferConfirm {
                call_id: o.call_id,
                drop_agent_id: o.drop_agent_id,
                new_agent_id: o.new_agent_id,
                ok: false,
            });
            self.emit(Event::TransferResult {
                ok: false,
                detail: TransferDetail::OfferTimedOut,
            });
        }
        if self.link == Link::Up
            && self.cfg.generation == Generation::Older
            && !self.exiting
            && now >= self.last_sent + self.cfg.keepalive_idle
        {
            self.send(ClientMsg::Keepalive);
        }
    }

    pub fn handle(&mut self, now: Instant, input: Input) {
        self.now = now;
        if self.finished {
            return;
        }
        match input {
            Input::Command(c) => self.command(c),
            Input::Bootstrapped { extension, role } => {
                if self.link != Link::Bootstrapping {
                    return;
                }
                self.extension = extension;
                self.role = self.cfg.role.unwrap_or(role);
                if self.exiting {
                    return self.finish();
                }
                self.link = Link::Opening;
                self.effects.push_back(Effect::OpenPush);
            }
            Input::BootstrapFailed(reason) => {
                self.link = Link::Down;
                self.emit(Event::InitFailed(reason));
                if self.exiting {
                    self.finish();
                }
            }
            Input::PushOpened => {
                if self.exiting {
                    return self.finish();
                }
                self.link = Link::LoggingIn;
                self.send(ClientMsg::Login {
                    authen_token: None,
                    user_token: None,
                    init_call_channel: self.cfg.generation == Generation::Newer,
                });
            }
            Input::PushClosed { reason } => self.push_closed(reason),
            Input::Push(m) => self.push(m),
            Input::Voice(v) => self.voice(v),
        }
    }

    // ---- helpers -------------------------------------------------------

    fn emit(&mut self, e: Event) {
        self.effects.push_back(Effect::Emit(e));
    }

    fn send(&mut self, m: ClientMsg) {
        self.last_sent = self.now;
        self.effects.push_back(Effect::Send(m));
    }

    fn voice_action(&mut self, a: VoiceAction) {
        self.effects.push_back(Effect::Voice(a));
    }

    fn not_now(&mut self, why: NotNow) {
        self.emit(Event::Notice(Notice::NotNow(why)));
    }

    fn info(&mut self, info: Info) {
        self.emit(Event::Notice(Notice::Info(info)));
    }

    fn device_event(&self) -> Event {
        Event::DeviceType(Device::from_code(self.device, &self.mobile))
    }

    fn up(&self) -> bool {
        self.link == Link::Up
    }

    /// Start or stop the device-1 voice leg to match the state.
    fn sync_voice(&mut self) {
        let should = self.voice_here && self.device == 1 && !self.exiting;
        if should && !self.voice_running {
            self.voice_running = true;
            self.voice_action(VoiceAction::Start);
        } else if !should && self.voice_running {
            self.voice_running = false;
            self.voice_action(VoiceAction::Stop);
        }
    }

    fn end_call(&mut self, reason: EndReason) {
        if let Some(c) = self.call.take() {
            let reason = match c.transferred_to {
                Some(target) => EndReason::Transferred { target },
                None => reason,
            };
            self.emit(Event::call(c.id, CallEvent::Ended(reason)));
        }
    }

    /// The platform answered our transfer: `Some(target)` done, `None`
    /// refused. A call whose leg already went (device 1) ends now.
    fn transfer_answered(&mut self, done: Option<String>) {
        let Some(c) = self.call.as_mut() else { return };
        let asked = c.transfer_asked.take().is_some();
        if done.is_some() {
            c.transferred_to = done;
        }
        if asked && let Some((reason, _)) = c.settling.clone() {
            self.end_call(reason);
        }
    }

    /// An event about the call we have (none: nothing to say).
    fn emit_current(&mut self, e: CallEvent) {
        if let Some(id) = self.call.as_ref().map(|c| c.id) {
            self.emit(Event::call(id, e));
        }
    }

    /// A transfer outcome: about our call when we have one, else about an
    /// offer made to us.
    fn transfer_result(&mut self, ok: bool, detail: TransferDetail) {
        match self.call.as_ref().map(|c| c.id) {
            Some(id) => self.emit(Event::call(id, CallEvent::TransferResult { ok, detail })),
            None => self.emit(Event::TransferResult { ok, detail }),
        }
    }

    fn new_call_id(&mut self) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        id
    }

    /// Why a call the platform ended, ended.
    fn end_reason(c: &Call) -> EndReason {
        let answered = c.phase == Phase::Active || c.customer_answered;
        match (c.end_requested, answered) {
            (true, true) => EndReason::LocalHangup,
            (true, false) => EndReason::Cancelled,
            (false, true) => EndReason::RemoteHangup,
            (false, false) if c.callout => EndReason::NoAnswer,
            (false, false) => EndReason::Cancelled,
        }
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.exit_at = None;
        self.reconnect_at = None;
        if matches!(self.link, Link::Opening | Link::LoggingIn | Link::Up) {
            self.effects.push_back(Effect::ClosePush);
        }
        self.link = Link::Down;
        self.finished = true;
        self.effects.push_back(Effect::Finished);
    }
}

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests;
