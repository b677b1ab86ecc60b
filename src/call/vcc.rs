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

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::backends::vcc::config::{Generation, VccConfig};
use crate::backends::vcc::object_id::{
    AgentEntry, CalloutStatusMsg, ClientMsg, HangupKind, RingMsg, ServerMsg,
};
use crate::engine::{
    AgentInfo, Availability, CallEvent, CallId, Command, Device, Direction, EndReason, Event, Info,
    InitFailure, InitStep, NotNow, Notice, RegState, RingInfo, TransferDetail, TransferTarget,
};

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

/// What the device-1 voice leg (SIP over WebSocket + WebRTC) must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceAction {
    /// REGISTER `sip:{agent_id}@{sip_server_url}` over `sip_socket`.
    Start,
    /// Un-REGISTER and close (voice moved away, device ≠ 1, exit).
    Stop,
    Answer {
        leg: LegId,
    },
    /// BYE, CANCEL or 486, whatever the leg's state needs.
    Hangup {
        leg: LegId,
    },
    Reject {
        leg: LegId,
        code: u16,
    },
    /// An internal number (1–7 digits): `sip:{number}@{sip_server_url}`.
    Dial {
        leg: LegId,
        number: String,
    },
    Dtmf {
        leg: LegId,
        digit: char,
    },
}

/// What the voice leg reports.
#[derive(Debug, Clone, PartialEq)]
pub enum VoiceEvent {
    Incoming {
        leg: LegId,
        number: String,
        display_name: Option<String>,
    },
    /// Our answer (or our dial) is up.
    Answered {
        leg: LegId,
    },
    Ended {
        leg: LegId,
        reason: EndReason,
    },
    Registration(RegState),
    /// The voice leg cannot run here (shown as a notice, never pretended).
    Unavailable(String),
    /// Something about the leg's audio the agent should read (its
    /// recording stopped on a full disk, its device went away).
    AudioInfo(Info),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Command(Command),
    /// REST login and discovery succeeded: who we are on the push socket.
    Bootstrapped {
        extension: String,
        role: u8,
    },
    BootstrapFailed(InitFailure),
    PushOpened,
    PushClosed {
        reason: String,
    },
    Push(ServerMsg),
    Voice(VoiceEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A push frame (the socket owner adds tokens, `agentId`, `extension`).
    Send(ClientMsg),
    Emit(Event),
    Voice(VoiceAction),
    /// Run `thirdParty/login` and `check-partner`; answer with
    /// `Bootstrapped` or `BootstrapFailed`.
    Bootstrap,
    /// Open the push socket; answer with `PushOpened` or `PushClosed`.
    OpenPush,
    ClosePush,
    /// The exit path is done: the backend may return.
    Finished,
}

/// Settings of the policy (from `[vcc]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    pub generation: Generation,
    pub keepalive_idle: Duration,
    pub reconnect_interval: Duration,
    pub reconnect_max: u32,
    pub transfer_offer_timeout: Duration,
    pub exit_wait: Duration,
    /// Overrides `user.role` from discovery.
    pub role: Option<u8>,
}

impl PolicyConfig {
    pub fn from_config(c: &VccConfig) -> Self {
        Self {
            generation: c.generation,
            keepalive_idle: Duration::from_secs(c.keepalive_idle_s.max(1)),
            reconnect_interval: Duration::from_secs(c.reconnect_interval_s.max(1)),
            reconnect_max: c.reconnect_max(),
            transfer_offer_timeout: Duration::from_secs(c.transfer_offer_timeout_s.max(1)),
            exit_wait: Duration::from_millis(c.exit_wait_ms),
            role: c.role,
        }
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self::from_config(&VccConfig::new("", ""))
    }
}

/// The device `reConfigDeviceType()` restores for a role, if any.
pub fn default_device_for_role(role: u8) -> Option<u8> {
    match role {
        6 => Some(4),
        7 => Some(3),
        9 => Some(6),
        _ => None,
    }
}

/// A Vietnamese mobile number as the platform wants it (`0` + 9 digits),
/// from `09x…`, `+84 9x…` or `84 9x…` with spaces, dots or dashes.
pub fn normalise_mobile(input: &str) -> Option<String> {
    let digits: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let rest = if let Some(r) = digits.strip_prefix("+84") {
        r.to_string()
    } else if digits.len() == 11 && digits.starts_with("84") {
        digits[2..].to_string()
    } else if let Some(r) = digits.strip_prefix('0') {
        r.to_string()
    } else {
        return None;
    };
    let ok = rest.len() == 9
        && rest.chars().all(|c| c.is_ascii_digit())
        && matches!(rest.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9');
    ok.then(|| format!("0{rest}"))
}

/// What a dialled string is (VCC-PROTOCOL.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    /// 8–13 digits: a customer, called through 2032.
    Customer(String),
    /// 1–7 digits not starting with 0: an extension, dialled in SIP.
    Internal(String),
}

pub fn classify_number(input: &str) -> Option<DialTarget> {
    let t = input.trim();
    let t = t.strip_prefix("tel:").unwrap_or(t);
    let mut d: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    if let Some(r) = d.strip_prefix("+84") {
        d = format!("0{r}");
    }
    if d.is_empty() || !d.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match d.len() {
        1..=7 if !d.starts_with('0') => Some(DialTarget::Internal(d)),
        8..=13 => Some(DialTarget::Customer(d)),
        _ => None,
    }
}

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

    // ---- commands ------------------------------------------------------

    fn command(&mut self, c: Command) {
        if self.exiting && c != Command::Shutdown {
            return;
        }
        // The platform gives an agent one call at a time: a named call must
        // be that one.
        if let Some(id) = c.call()
            && self.call.as_ref().map(|c| c.id) != Some(id)
        {
            return self.emit(Event::Notice(Notice::UnknownCall(id)));
        }
        match c {
            Command::Connect => match self.link {
                Link::Idle | Link::Down => {
                    self.attempt = 0;
                    self.link = Link::Bootstrapping;
                    self.effects.push_back(Effect::Bootstrap);
                }
                Link::Backoff => {
                    // Try now rather than at the next tick.
                    self.reconnect_at = None;
                    self.link = Link::Opening;
                    self.effects.push_back(Effect::OpenPush);
                }
                _ => {}
            },
            Command::ClaimVoice => {
                if !self.up() {
                    self.not_now(NotNow::NotConnected);
                } else if self.voice_here {
                    self.not_now(NotNow::VoiceAlreadyHere);
                } else {
                    self.send(ClientMsg::EnableVoice);
                }
            }
            Command::ToggleAvailability => {
                if !self.up() {
                    return self.not_now(NotNow::NotConnected);
                }
                if self.pending_availability.is_some() {
                    return self.not_now(NotNow::AvailabilityPending);
                }
                let want = if self.availability == Availability::On {
                    Availability::Off
                } else {
                    Availability::On
                };
                self.pending_availability = Some((self.availability, want));
                self.send(ClientMsg::ChangeCallStatus {
                    available: want == Availability::On,
                });
            }
            Command::CallOut(number) => self.call_out(&number),
            Command::Accept { .. } => self.accept(),
            Command::Reject { decline, .. } => {
                let Some(c) = self.call.as_ref().filter(|c| c.phase == Phase::Ringing) else {
                    return self.not_now(NotNow::NoRinging);
                };
                match c.leg {
                    Some(leg) => {
                        let code = if decline { 603 } else { 486 };
                        self.voice_action(VoiceAction::Reject { leg, code });
                        if let Some(c) = self.call.as_mut() {
                            c.end_requested = true;
                        }
                    }
                    None => self.end(),
                }
            }
            Command::End { .. } => self.end(),
            Command::ToggleHold { .. } => self.toggle_hold(),
            Command::ToggleMute { .. } => self.toggle_mute(),
            Command::ChangeDevice(d) => self.change_device(d),
            Command::ListTransferAgents => {
                if !self.up() {
                    return self.not_now(NotNow::NotConnected);
                }
                self.send(ClientMsg::AgentSearch);
            }
            Command::Transfer { target, .. } => self.transfer(target),
            Command::AnswerTransferOffer(ok) => match self.offer.take() {
                Some(o) => {
                    self.send(ClientMsg::TransferConfirm {
                        call_id: o.call_id,
                        drop_agent_id: o.drop_agent_id,
                        new_agent_id: o.new_agent_id,
                        ok,
                    });
                    self.emit(Event::TransferResult {
                        ok,
                        detail: if ok {
                            TransferDetail::YouAccepted
                        } else {
                            TransferDetail::YouRefused
                        },
                    });
                }
                None => self.not_now(NotNow::NoOffer),
            },
            Command::SendDtmf { digit, .. } => match self.call.as_ref() {
                Some(Call {
                    leg: Some(leg),
                    phase: Phase::Active,
                    ..
                }) if matches!(digit, '0'..='9' | '*' | '#' | 'A'..='D') => {
                    let leg = *leg;
                    self.voice_action(VoiceAction::Dtmf { leg, digit });
                }
                Some(Call { leg: Some(_), .. }) => self.not_now(NotNow::DtmfDigits),
                Some(_) => self.not_now(NotNow::DtmfOnPhone),
                None => self.not_now(NotNow::NotInCall),
            },
            Command::Shutdown => self.shutdown(),
            // The platform has no consult, swap or local three-way call
            // (issue 16): say so rather than pretend.
            Command::Swap { .. }
            | Command::Consult(_)
            | Command::CompleteTransfer
            | Command::Merge
            | Command::EndConference => self.not_now(NotNow::PlatformLacks),
        }
    }

    fn call_out(&mut self, number: &str) {
        if !self.up() {
            return self.not_now(NotNow::NotConnected);
        }
        if !self.voice_here {
            return self.not_now(NotNow::VoiceElsewhere);
        }
        if self.call.is_some() {
            return self.not_now(NotNow::AlreadyInCall);
        }
        let lower = number.trim().to_ascii_lowercase();
        if lower.starts_with("sip:") || lower.starts_with("sips:") {
            return self.not_now(NotNow::NumbersOnly);
        }
        match classify_number(number) {
            Some(DialTarget::Customer(n)) => {
                let mut c = Call::new(
                    self.new_call_id(),
                    Direction::Outbound,
                    n.clone(),
                    Phase::Dialing,
                );
                c.callout = true;
                self.call = Some(c);
                self.send(ClientMsg::Callout { number: n.clone() });
                self.emit_current(CallEvent::Dialing(n));
            }
            Some(DialTarget::Internal(n)) => {
                if self.device != 1 {
                    return self.not_now(NotNow::InternalFromPhone);
                }
                let leg = LegId(self.next_leg);
                self.next_leg += 1;
                let mut c = Call::new(
                    self.new_call_id(),
                    Direction::Internal,
                    n.clone(),
                    Phase::Dialing,
                );
                c.leg = Some(leg);
                c.agent_ext = n.clone();
                self.call = Some(c);
                self.voice_action(VoiceAction::Dial {
                    leg,
                    number: n.clone(),
                });
                self.emit_current(CallEvent::Dialing(n));
            }
            None => self.emit(Event::Notice(Notice::BadNumber(number.to_string()))),
        }
    }

    fn accept(&mut self) {
        let Some(c) = self.call.as_ref().filter(|c| c.phase == Phase::Ringing) else {
            return self.not_now(NotNow::NoRinging);
        };
        match c.leg {
            Some(leg) => self.voice_action(VoiceAction::Answer { leg }),
            None if self.device == 1 => self.not_now(NotNow::ConsoleAudioUnavailable),
            None => self.not_now(NotNow::AnswerOnPhone),
        }
    }

    fn end(&mut self) {
        let own = self.extension.clone();
        let Some(c) = self.call.as_mut() else {
            return self.not_now(NotNow::NotInCall);
        };
        if let Some(leg) = c.leg {
            c.end_requested = true;
            return self.voice_action(VoiceAction::Hangup { leg });
        }
        if c.settling.is_some() {
            // The agent leg is already gone: nothing left to hang up.
            return self.end_call(EndReason::Cancelled);
        }
        if c.held {
            return self.not_now(NotNow::ResumeBeforeEnd);
        }
        c.end_requested = true;
        if c.call_id.is_empty() {
            // 2032 sent, STARTING not yet in: hang up as soon as it names the call.
            return self.info(Info::EndingWhenNamed);
        }
        let kind = match c.direction {
            Direction::Inbound => HangupKind::Inbound,
            Direction::Outbound => HangupKind::Outbound,
            Direction::Internal => HangupKind::Internal,
        };
        let msg = ClientMsg::Hangup {
            kind,
            call_id: c.call_id.clone(),
            remove_agent_id: if c.agent_ext.is_empty() {
                own
            } else {
                c.agent_ext.clone()
            },
        };
        self.send(msg);
    }

    fn toggle_hold(&mut self) {
        let Some(c) = self.call.as_mut() else {
            return self.not_now(NotNow::NotInCall);
        };
        if c.pending.is_some() {
            return self.not_now(NotNow::RequestPending);
        }
        let answered = c.phase == Phase::Active || c.customer_answered;
        if !answered || c.call_id.is_empty() {
            return self.not_now(NotNow::RingingNoHold);
        }
        let hold = !c.held;
        c.pending = Some(Pending::Hold(hold));
        let msg = ClientMsg::Hold {
            hold,
            outbound: c.direction == Direction::Outbound,
            call_id: c.call_id.clone(),
            call_type: c.call_type(),
        };
        self.send(msg);
    }

    fn toggle_mute(&mut self) {
        let Some(c) = self.call.as_mut() else {
            return self.not_now(NotNow::NotInCall);
        };
        if c.direction != Direction::Inbound {
            return self.not_now(NotNow::MuteInboundOnly);
        }
        if c.pending.is_some() {
            return self.not_now(NotNow::RequestPending);
        }
        if c.phase != Phase::Active {
            return self.not_now(NotNow::RingingNoMute);
        }
        if c.held {
            return self.not_now(NotNow::ResumeBeforeMute);
        }
        let mute = !c.muted;
        c.pending = Some(Pending::Mute(mute));
        let msg = ClientMsg::Mute {
            mute,
            call_id: c.call_id.clone(),
            call_type: c.call_type(),
        };
        self.send(msg);
    }

    fn change_device(&mut self, d: Device) {
        if !self.up() {
            return self.not_now(NotNow::NotConnected);
        }
        if self.pending_device.is_some() {
            return self.not_now(NotNow::DevicePending);
        }
        if self.call.is_some() {
            return self.not_now(NotNow::DeviceDuringCall);
        }
        let (code, phone) = match &d {
            Device::Mobile { number } => match normalise_mobile(number) {
                Some(n) => (3, n),
                None => {
                    return self.emit(Event::Notice(Notice::BadNumber(number.clone())));
                }
            },
            other => (other.code(), String::new()),
        };
        self.request_device(code, phone);
    }

    fn request_device(&mut self, code: u8, phone: String) {
        self.pending_device = Some((code, phone.clone()));
        self.send(ClientMsg::ChangeDevice {
            device_type: code,
            phone,
        });
    }

    fn transfer(&mut self, t: TransferTarget) {
        let Some(c) = self.call.as_ref() else {
            return self.not_now(NotNow::NotInCall);
        };
        let answered = c.phase == Phase::Active || c.customer_answered;
        if !answered || c.call_id.is_empty() {
            return self.not_now(NotNow::TransferNeedsAnswer);
        }
        let target = match &t {
            TransferTarget::Agent(id) | TransferTarget::Queue(id) | TransferTarget::Number(id) => {
                id.clone()
            }
        };
        let msg = match t {
            TransferTarget::Agent(id) => ClientMsg::TransferAgent {
                call_id: c.call_id.clone(),
                new_agent_id: id,
                drop_agent_id: if c.agent_ext.is_empty() {
                    self.extension.clone()
                } else {
                    c.agent_ext.clone()
                },
            },
            TransferTarget::Queue(q) => ClientMsg::TransferAcd {
                call_id: c.call_id.clone(),
                acd_id: q,
            },
            TransferTarget::Number(_) => {
                return self.not_now(NotNow::TransferAgentOrQueue);
            }
        };
        if let Some(c) = self.call.as_mut() {
            c.transfer_asked = Some(target);
        }
        self.send(msg);
    }

    fn shutdown(&mut self) {
        if self.exiting {
            return;
        }
        self.exiting = true;
        self.offer = None;
        // csUnregister(): the device-1 legs and the registration go first.
        if let Some(leg) = self.call.as_ref().and_then(|c| c.leg) {
            self.voice_action(VoiceAction::Hangup { leg });
            self.end_call(EndReason::LocalHangup);
        }
        if let Some((reason, _)) = self.call.as_ref().and_then(|c| c.settling.clone()) {
            self.end_call(reason);
        }
        self.sync_voice();
        if !self.up() {
            return self.finish();
        }
        // reConfigDeviceType(), only when this console owns voice.
        match default_device_for_role(self.role) {
            Some(dev) if self.voice_here => {
                self.request_device(dev, String::new());
                self.exit_at = Some(self.now + self.cfg.exit_wait);
            }
            _ => self.finish(),
        }
    }

    // ---- link ----------------------------------------------------------

    fn push_closed(&mut self, reason: String) {
        if self.exiting {
            return self.finish();
        }
        match self.link {
            Link::Opening | Link::LoggingIn | Link::Up => {}
            _ => return,
        }
        self.pending_availability = None;
        self.pending_device = None;
        self.voice_retaking = false;
        if !self.ready_once {
            self.link = Link::Down;
            return self.emit(Event::InitFailed(InitFailure::new(
                InitStep::PushClosed,
                reason,
            )));
        }
        if self.attempt < self.cfg.reconnect_max {
            self.attempt += 1;
            self.link = Link::Backoff;
            self.reconnect_at = Some(self.now + self.cfg.reconnect_interval);
            self.emit(Event::Reconnecting {
                attempt: self.attempt,
                max: self.cfg.reconnect_max,
            });
        } else {
            self.lost();
        }
    }

    /// The control plane is gone for good (csOndisconnected).
    fn lost(&mut self) {
        self.link = Link::Down;
        self.reconnect_at = None;
        self.offer = None;
        if self.call.as_ref().is_some_and(|c| c.leg.is_none()) {
            self.end_call(EndReason::TransportLost);
        }
        self.emit(Event::Disconnected);
    }

    // ---- push messages ---------------------------------------------------

    fn push(&mut self, m: ServerMsg) {
        if self.exiting {
            if let ServerMsg::ChangeDeviceResult { .. } = m {
                self.finish();
            }
            return;
        }
        match m {
            ServerMsg::Refresh {
                agent_status,
                is_voice_channel,
                device_type,
            } => self.refresh(&agent_status, is_voice_channel, device_type),
            ServerMsg::LoginChannel { .. } | ServerMsg::EnableVoiceAck => {}
            ServerMsg::Keepalive => self.send(ClientMsg::Keepalive),
            ServerMsg::CallStatusResult { status } => {
                let Some((before, want)) = self.pending_availability.take() else {
                    return;
                };
                if status == "OK" {
                    self.availability = want;
                    self.emit(Event::Availability(want));
                } else {
                    self.availability = before;
                    self.emit(Event::Availability(before));
                    self.emit(Event::Notice(Notice::AvailabilityRefused));
                }
            }
            ServerMsg::AgentStatusReload { agent_status } => {
                let a = availability_of(&agent_status);
                self.availability = a;
                self.emit(Event::Availability(a));
            }
            ServerMsg::VoiceEnabled {
                result,
                device_type,
            } => {
                let retaking = std::mem::take(&mut self.voice_retaking);
                if result != 1 {
                    if retaking {
                        // The take-back after a reconnect was refused: as
                        // if the refresh had said so.
                        return self.voice_not_held();
                    }
                    return self.info(Info::VoiceNotGiven);
                }
                self.voice_here = true;
                if device_type != 0 {
                    self.device = device_type;
                }
                self.emit(Event::VoiceChannel(true));
                self.emit(self.device_event());
                self.force_console_device();
                self.sync_voice();
            }
            ServerMsg::VoiceDisabled => self.voice_moved_away(),
            ServerMsg::ChangeDeviceResult {
                result,
                old_device_type,
                new_device_type,
            } => {
                let asked = self.pending_device.take();
                if result == 1 {
                    let new = if new_device_type != 0 {
                        new_device_type
                    } else {
                        asked.as_ref().map(|a| a.0).unwrap_or(self.device)
                    };
                    if new == 3
                        && let Some((_, phone)) = &asked
                        && !phone.is_empty()
                    {
                        self.mobile = phone.clone();
                    }
                    self.device = new;
                    self.emit(self.device_event());
                } else {
                    if old_device_type != 0 {
                        self.device = old_device_type;
                    }
                    self.emit(self.device_event());
                    self.emit(Event::Notice(Notice::DeviceChangeRefused));
                }
                self.sync_voice();
            }
            ServerMsg::Ring(r) => self.ring(r),
            ServerMsg::AgentAnswer { extension, call_id } => {
                if extension != self.extension || !self.voice_here {
                    return;
                }
                let Some(c) = self.call.as_mut() else { return };
                if c.leg.is_some() || !(c.call_id == call_id || c.call_id.is_empty()) {
                    return;
                }
                if c.phase != Phase::Active {
                    c.phase = Phase::Active;
                    let rang_here = !c.callout && c.direction != Direction::Outbound;
                    self.emit_current(CallEvent::Accepted);
                    // A desk phone (device 2 or 4) picked the ring up on
                    // its own (the demo's answers after ~3 s): say where.
                    match self.device {
                        2 | 4 if rang_here => self.info(Info::AnsweredOnDeskPhone),
                        3 if rang_here => self.info(Info::AnsweredOnMobile),
                        _ => {}
                    }
                }
            }
            ServerMsg::AgentEnd { extension, call_id } => {
                if extension != self.extension || !self.voice_here {
                    return;
                }
                let Some(c) = self.call.as_ref() else { return };
                if c.leg.is_some()
                    || c.callout
                    || c.settling.is_some()
                    || !(c.call_id == call_id || call_id.is_empty())
                {
                    return;
                }
                let reason = Self::end_reason(c);
                self.end_call(reason);
            }
            ServerMsg::HoldResult {
                hold,
                outbound: _,
                status,
                call_id: _,
            } => {
                let Some(c) = self.call.as_mut() else { return };
                c.pending = None;
                if status == "OK" {
                    c.held = hold;
                    self.emit_current(CallEvent::Held(hold));
                } else {
                    let s = if status.is_empty() {
                        "refused".to_string()
                    } else {
                        status
                    };
                    self.emit(Event::Notice(Notice::IpccError(s)));
                }
            }
            ServerMsg::MuteResult { mute, call_id: _ } => {
                let Some(c) = self.call.as_mut() else { return };
                c.pending = None;
                c.muted = mute;
                self.emit_current(CallEvent::Muted(mute));
            }
            ServerMsg::HangupResult {
                call_id: _,
                status,
                super_agent,
                terminated_agent,
            } => {
                if status != "OK" {
                    if let Some(c) = self.call.as_mut() {
                        c.end_requested = false;
                    }
                    self.emit(Event::Notice(Notice::IpccError(status)));
                } else if !super_agent.is_empty()
                    && super_agent != self.extension
                    && terminated_agent == self.extension
                {
                    self.info(Info::SupervisorEnded { agent: super_agent });
                }
            }
            ServerMsg::CalloutStatus(s) => self.callout_status(s),
            ServerMsg::CallError { status } => {
                if let Some(c) = self.call.as_mut() {
                    c.pending = None;
                }
                self.emit(Event::Notice(Notice::IpccError(status.clone())));
                if status == "IPCCERR0000" {
                    if let Some(leg) = self.call.as_ref().and_then(|c| c.leg) {
                        self.voice_action(VoiceAction::Hangup { leg });
                    }
                    self.end_call(EndReason::Failed {
                        error_code: Some(status),
                        sip_code: None,
                    });
                }
            }
            ServerMsg::InternalRing { call_id, called } => {
                if !self.voice_here || self.call.is_some() {
                    return;
                }
                let mut c = Call::new(
                    self.new_call_id(),
                    Direction::Internal,
                    called.clone(),
                    Phase::Ringing,
                );
                c.call_id = call_id.clone();
                c.agent_ext = called;
                if self.device != 1 {
                    c.ring_shown = true;
                    let info = c.ring_info(false);
                    self.call = Some(c);
                    self.emit_current(CallEvent::PlatformId(call_id));
                    self.emit_current(CallEvent::Ringing(info));
                } else {
                    self.call = Some(c);
                    self.emit_current(CallEvent::PlatformId(call_id));
                }
            }
            ServerMsg::InternalAnswer { call_id } => {
                let Some(c) = self.call.as_mut() else { return };
                if c.leg.is_none() && c.call_id == call_id && c.phase != Phase::Active {
                    c.phase = Phase::Active;
                    self.emit_current(CallEvent::Accepted);
                }
            }
            ServerMsg::InternalEnd { call_id } => {
                let Some(c) = self.call.as_ref() else { return };
                if c.leg.is_none() && c.settling.is_none() && c.call_id == call_id {
                    let reason = Self::end_reason(c);
                    self.end_call(reason);
                }
            }
            ServerMsg::AgentSearchResult { agents } => {
                let list = agents.into_iter().map(agent_info).collect();
                self.emit(Event::TransferAgents(list));
            }
            ServerMsg::TransferAgentResult {
                call_id: _,
                drop_agent,
                new_agent,
                super_agent: _,
                status,
            } => {
                let ok = status == "OK";
                if drop_agent == self.extension {
                    let done = ok.then(|| new_agent.clone());
                    self.transfer_result(
                        ok,
                        if ok {
                            TransferDetail::ToAgent { agent: new_agent }
                        } else {
                            TransferDetail::ToAgentFailed {
                                agent: new_agent,
                                status,
                            }
                        },
                    );
                    self.transfer_answered(done);
                } else if new_agent == self.extension && !ok {
                    self.emit(Event::Notice(Notice::IpccError(status)));
                }
            }
            ServerMsg::TransferOffer {
                call_id,
                drop_agent_id,
                new_agent_id,
            } => {
                if !self.voice_here {
                    return;
                }
                self.offer = Some(Offer {
                    call_id: call_id.clone(),
                    drop_agent_id: drop_agent_id.clone(),
                    new_agent_id,
                    deadline: self.now + self.cfg.transfer_offer_timeout,
                });
                self.emit(Event::TransferOffered {
                    call_id,
                    from_agent: drop_agent_id,
                });
            }
            ServerMsg::TransferConfirm { call_id: _, status } => {
                let ok = status == "OK";
                self.transfer_result(
                    ok,
                    if ok {
                        TransferDetail::OtherAccepted
                    } else {
                        TransferDetail::OtherRefused
                    },
                );
            }
            ServerMsg::TransferAcdResult { status } => {
                let ok = status == "OK";
                let queue = self.call.as_ref().and_then(|c| c.transfer_asked.clone());
                let done = if ok { queue } else { None };
                self.transfer_result(
                    ok,
                    if ok {
                        TransferDetail::ToQueue
                    } else {
                        TransferDetail::ToQueueFailed { status }
                    },
                );
                if ok && done.is_none() {
                    // Not a transfer of ours (no call, or none asked).
                    return;
                }
                self.transfer_answered(done);
            }
        }
    }

    fn refresh(&mut self, agent_status: &str, is_voice: bool, device_type: u8) {
        let first = !self.ready_once;
        if !matches!(self.link, Link::LoggingIn | Link::Up) {
            return;
        }
        self.link = Link::Up;
        self.attempt = 0;
        self.ready_once = true;
        self.availability = availability_of(agent_status);
        let was_here = self.voice_here;
        // The platform can count the dropped socket as the voice holder
        // for a while after we reconnect (it has not noticed the drop):
        // the channel is still ours unless it said it moved (1511231002
        // cleared `voice_here`), so take it back, before anything else on
        // this socket, and keep the call and the device-1 leg meanwhile
        // (issue 15).
        let retake = !is_voice && was_here && !first;
        if retake {
            self.voice_retaking = true;
            self.send(ClientMsg::EnableVoice);
        }
        self.voice_here = is_voice || retake;
        if device_type != 0 {
            self.device = device_type;
        }
        self.emit(if first {
            Event::Ready
        } else {
            Event::Reconnected
        });
        self.emit(Event::Availability(self.availability));
        self.emit(Event::VoiceChannel(self.voice_here));
        self.emit(self.device_event());
        if retake {
            self.info(Info::VoiceRetaken);
        } else if !is_voice {
            if was_here || first {
                self.info(Info::VoiceInUseElsewhere);
            }
            if was_here
                && let Some(c) = self.call.as_ref()
                && c.leg.is_none()
            {
                self.end_call(EndReason::AnsweredElsewhere);
            }
        } else {
            self.force_console_device();
        }
        self.sync_voice();
    }

    /// A take-back after a reconnect was refused: the channel is elsewhere.
    fn voice_not_held(&mut self) {
        self.voice_here = false;
        self.emit(Event::VoiceChannel(false));
        self.info(Info::VoiceInUseElsewhere);
        if let Some(c) = self.call.as_ref()
            && c.leg.is_none()
        {
            self.end_call(EndReason::AnsweredElsewhere);
        }
        self.sync_voice();
    }

    /// The newer SDK asks for device 1 as soon as voice is here.
    fn force_console_device(&mut self) {
        if self.cfg.generation == Generation::Newer
            && self.voice_here
            && self.device != 1
            && self.pending_device.is_none()
        {
            self.request_device(1, String::new());
        }
    }

    fn voice_moved_away(&mut self) {
        self.voice_here = false;
        self.voice_retaking = false;
        self.offer = None;
        if let Some(leg) = self.call.as_ref().and_then(|c| c.leg) {
            self.voice_action(VoiceAction::Hangup { leg });
        }
        self.sync_voice();
        self.end_call(EndReason::AnsweredElsewhere);
        self.emit(Event::VoiceChannel(false));
        match self.cfg.generation {
            Generation::Older => self.info(Info::VoiceMovedAway),
            Generation::Newer => {
                self.info(Info::VoiceMovedSessionEnded);
                self.effects.push_back(Effect::ClosePush);
                self.lost();
            }
        }
    }

    fn ring(&mut self, r: RingMsg) {
        if r.extension != self.extension || !self.voice_here {
            return;
        }
        if let Some(c) = self.call.as_mut() {
            // The platform's view of a call we already know (device 1: the
            // INVITE came first): take its ids and the popup fields.
            let same =
                c.call_id == r.call_id || (c.call_id.is_empty() && c.leg.is_some() && !c.callout);
            if same {
                c.call_id = r.call_id.clone();
                c.agent_ext = r.extension;
                c.line = r.line;
                c.queue = r.queue_description;
                self.emit_current(CallEvent::PlatformId(r.call_id));
            }
            return;
        }
        let mut c = Call::new(
            self.new_call_id(),
            Direction::from_vcc(r.call_direction),
            r.caller,
            Phase::Ringing,
        );
        c.call_id = r.call_id.clone();
        c.agent_ext = r.extension;
        c.line = r.line;
        c.queue = r.queue_description;
        // Device 1 rings from the INVITE; unless the voice leg cannot run,
        // in which case the ring is shown with the reason.
        let show = self.device != 1 || self.voice_unavailable;
        c.ring_shown = show;
        let info = c.ring_info(false);
        self.call = Some(c);
        self.emit_current(CallEvent::PlatformId(r.call_id));
        if show {
            self.emit_current(CallEvent::Ringing(info));
            if self.device == 1 {
                self.info(Info::RingsWithoutAudio);
            }
        }
    }

    fn callout_status(&mut self, s: CalloutStatusMsg) {
        let Some(c) = self.call.as_mut().filter(|c| c.callout) else {
            return;
        };
        if !s.call_id.is_empty() && !c.call_id.is_empty() && s.call_id != c.call_id {
            return;
        }
        match s.status.to_ascii_uppercase().as_str() {
            "STARTING" => {
                c.call_id = s.call_id.clone();
                let hang_up_now = c.end_requested && c.leg.is_none();
                let remove = if c.agent_ext.is_empty() {
                    self.extension.clone()
                } else {
                    c.agent_ext.clone()
                };
                self.emit_current(CallEvent::PlatformId(s.call_id.clone()));
                if hang_up_now {
                    self.send(ClientMsg::Hangup {
                        kind: HangupKind::Outbound,
                        call_id: s.call_id,
                        remove_agent_id: remove,
                    });
                }
            }
            "RINGING" => {
                if !s.extension.is_empty() {
                    c.agent_ext = s.extension;
                }
                if !s.telephone_number.is_empty() {
                    c.phone = s.telephone_number;
                }
                c.line = s.line;
                let new_id = !s.call_id.is_empty() && c.call_id != s.call_id;
                if !s.call_id.is_empty() {
                    c.call_id = s.call_id.clone();
                }
                let phone = c.phone.clone();
                if new_id {
                    self.emit_current(CallEvent::PlatformId(s.call_id));
                }
                self.emit_current(CallEvent::CalloutStarted(phone));
            }
            "ANSWER" => {
                if !c.customer_answered {
                    c.customer_answered = true;
                    c.phase = Phase::Active;
                    self.emit_current(CallEvent::CustomerAnswered);
                }
            }
            "ENDCALL" | "TERMINATE" => {
                if c.leg.is_some() {
                    // Device 1: the platform's BYE ends it.
                    return;
                }
                let reason = Self::end_reason(c);
                if let Some((r, _)) = c.settling.as_mut() {
                    // The agent leg is gone and the call-out was never
                    // answered: an `ERROR` may still be on its way.
                    *r = reason;
                    return;
                }
                self.end_call(reason);
            }
            "ERROR" => {
                let error_code = (!s.error_code.is_empty()).then(|| s.error_code.clone());
                let sip_code = s.sip_code.trim().parse::<u16>().ok();
                let (id, leg) = (c.id, c.leg);
                if let Some(leg) = leg {
                    self.voice_action(VoiceAction::Hangup { leg });
                }
                self.call = None;
                self.emit(Event::call(
                    id,
                    CallEvent::CalloutFailed {
                        error_code: error_code.clone(),
                        sip_code,
                    },
                ));
                self.emit(Event::call(
                    id,
                    CallEvent::Ended(EndReason::Failed {
                        error_code,
                        sip_code,
                    }),
                ));
                if s.error_code
                    .eq_ignore_ascii_case("IPCC_NOT_CONNECT_AGENT_ID")
                    && self.voice_running
                {
                    // As the SDK: register the console's phone again.
                    self.voice_action(VoiceAction::Stop);
                    self.voice_action(VoiceAction::Start);
                }
            }
            other => {
                tracing::debug!(status = other, "1055 with a status we do not know");
            }
        }
    }

    // ---- the device-1 voice leg -------------------------------------------

    fn voice(&mut self, v: VoiceEvent) {
        match v {
            VoiceEvent::Incoming {
                leg,
                number,
                display_name,
            } => {
                if self.exiting || !self.voice_here {
                    return self.voice_action(VoiceAction::Reject { leg, code: 486 });
                }
                match self.call.as_mut() {
                    Some(c) if c.callout && c.leg.is_none() && c.settling.is_none() => {
                        // The platform's agent leg of our own call-out.
                        c.leg = Some(leg);
                        let info = c.ring_info(true);
                        self.voice_action(VoiceAction::Answer { leg });
                        self.emit_current(CallEvent::Ringing(info));
                    }
                    Some(c) if c.leg.is_none() && c.phase == Phase::Ringing && !c.callout => {
                        c.leg = Some(leg);
                        if !c.ring_shown {
                            c.ring_shown = true;
                            let mut info = c.ring_info(false);
                            info.display_name = display_name;
                            self.emit_current(CallEvent::Ringing(info));
                        }
                    }
                    Some(_) => self.voice_action(VoiceAction::Reject { leg, code: 486 }),
                    None => {
                        let mut c = Call::new(
                            self.new_call_id(),
                            Direction::Inbound,
                            number,
                            Phase::Ringing,
                        );
                        c.leg = Some(leg);
                        c.ring_shown = true;
                        let mut info = c.ring_info(false);
                        info.display_name = display_name;
                        self.call = Some(c);
                        self.emit_current(CallEvent::Ringing(info));
                    }
                }
            }
            VoiceEvent::Answered { leg } => {
                let Some(c) = self.call.as_mut().filter(|c| c.leg == Some(leg)) else {
                    return;
                };
                if c.callout {
                    // Our agent leg is up; the customer is next (1055).
                    return;
                }
                if c.phase != Phase::Active {
                    c.phase = Phase::Active;
                    self.emit_current(CallEvent::Accepted);
                }
            }
            VoiceEvent::Ended { leg, reason } => {
                let now = self.now;
                let Some(c) = self.call.as_mut().filter(|c| c.leg == Some(leg)) else {
                    return;
                };
                let unanswered_callout = c.callout && !c.customer_answered;
                if !c.end_requested && (unanswered_callout || c.transfer_asked.is_some()) {
                    // The platform dropped the leg, and the push message
                    // that says why races this BYE: for a call-out the
                    // customer never answered, the 1055 `ERROR` (errorCode,
                    // sipCode); for a transfer we asked for, its result.
                    // Wait for it.
                    c.leg = None;
                    let fallback = match reason {
                        EndReason::RemoteHangup | EndReason::Cancelled if unanswered_callout => {
                            EndReason::NoAnswer
                        }
                        other => other,
                    };
                    c.settling = Some((fallback, now + CALLOUT_SETTLE));
                    return;
                }
                let reason = if c.end_requested {
                    Self::end_reason(c)
                } else {
                    reason
                };
                self.end_call(reason);
            }
            VoiceEvent::Registration(s) => self.emit(Event::Registration(s)),
            VoiceEvent::Unavailable(text) => {
                self.voice_unavailable = true;
                self.info(Info::VoiceUnavailable { detail: text });
            }
            VoiceEvent::AudioInfo(i) => self.info(i),
        }
    }
}

fn availability_of(agent_status: &str) -> Availability {
    match agent_status.to_ascii_uppercase().as_str() {
        "AVAILABLE" => Availability::On,
        "NO ANSWER" => Availability::NoAnswer,
        _ => Availability::Off,
    }
}

fn agent_info(a: AgentEntry) -> AgentInfo {
    let status = match (a.agent_status.is_empty(), a.call_status.is_empty()) {
        (false, false) => format!("{} / {}", a.agent_status, a.call_status),
        (false, true) => a.agent_status,
        (true, _) => a.call_status,
    };
    AgentInfo {
        name: if a.full_name.is_empty() {
            a.username
        } else {
            a.full_name
        },
        id: a.ipphone,
        status,
    }
}

#[cfg(test)]
#[path = "vcc_tests.rs"]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests;
