//! Engine → console events: the SDK callbacks (`../shared/VCC-PROTOCOL.md` §5)
//! one to one, plus what a softphone adds (registration, audio, quality).

use serde::{Deserialize, Serialize};

use super::command::Device;
use super::notice::{Info, InitFailure, NotNow, TransferDetail};

/// `csShowCallStatus(status)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    On,
    Off,
    /// The platform set the agent to NO ANSWER after a missed ring (push 1020).
    NoAnswer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
}

impl Direction {
    /// VCC `callDirection`: 1 inbound, 2 outbound, 3 internal.
    pub fn from_vcc(code: i64) -> Direction {
        match code {
            2 => Direction::Outbound,
            3 => Direction::Internal,
            _ => Direction::Inbound,
        }
    }
}

/// Why a call ended. Call ends are history, not errors: this is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum EndReason {
    /// The agent hung up.
    LocalHangup,
    /// The other party hung up.
    RemoteHangup,
    /// The caller gave up before we answered (a missed call), or we cancelled our call-out.
    Cancelled,
    /// 486 / 600 busy.
    Busy,
    /// 408 / 480 / 487 on a call-out: nobody answered.
    NoAnswer,
    /// The agent rejected an inbound call with this code (486 or 603).
    Rejected { code: u16 },
    /// A call-out failed: the VCC `errorCode` (when the cloud gave one) and SIP code.
    Failed {
        error_code: Option<String>,
        sip_code: Option<u16>,
    },
    /// No final answer in time (RFC 3261 timer B / F).
    Timeout,
    /// The signalling connection went away mid-call.
    TransportLost,
    /// The call was answered on another device or by another agent.
    AnsweredElsewhere,
    /// We transferred the call: to this agent, queue or number.
    Transferred { target: String },
}

/// SIP registration state for the voice leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RegState {
    /// Not registering (no voice here, or device ≠ 1).
    None,
    Registering,
    Registered {
        expires: u32,
    },
    Failed {
        code: Option<u16>,
        reason: String,
    },
    /// Waiting `retry_in_s` seconds before the next attempt.
    Retrying {
        attempt: u32,
        retry_in_s: u32,
    },
}

/// A selectable transfer target (VCC 1410121118 `listAgentSearch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub id: String,
    pub name: String,
    pub status: String,
}

/// Texts for the notices line. Typed, so the console renders them in the
/// agent's language; `Server` carries a platform message verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", content = "detail", rename_all = "snake_case")]
pub enum Notice {
    /// VCC `1045 {status:"IPCCERR00nn"}` or a refused request.
    IpccError(String),
    /// The server refused an On/Off change; the state was reverted.
    AvailabilityRefused,
    /// The server refused a device change; the old device is kept.
    DeviceChangeRefused,
    /// A request the current state does not allow ("not in a call", …).
    NotNow(NotNow),
    /// The dialled text is not a number we can call.
    BadNumber(String),
    /// Certificates are not verified for this account (lab PBXs only).
    InsecureTls,
    /// A message from the platform or PBX, shown as is.
    Server(String),
    /// Anything else worth a line (typed: the console words it).
    Info(Info),
    /// The call history database needed a repair or is waiting on a lock.
    History(HistoryNotice),
    /// A command named a call the console does not have (any more).
    UnknownCall(CallId),
}

/// What happened to the call history database (`history.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "history", rename_all = "snake_case")]
pub enum HistoryNotice {
    /// It was damaged: moved aside to `moved_to`; a fresh one records.
    Recovered { moved_to: String },
    /// Another program holds it locked: writes wait and are retried.
    Locked,
    /// The disk is full: writes wait in memory and are retried.
    Full,
    /// The lock (or the full disk) is gone and the waiting writes are done.
    Unlocked,
    /// It cannot be used at all; calls are not recorded.
    Off { reason: String },
}

/// Where a ring comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingInfo {
    /// The caller's number (or the customer's, for the agent leg of a call-out).
    pub phone: String,
    /// A display name from SIP (From / P-Asserted-Identity) when there is one.
    pub display_name: Option<String>,
    /// VCC `line`: the hotline the customer dialled.
    pub line: Option<String>,
    /// VCC `queueDescription`: the IVR choice.
    pub queue: Option<String>,
    pub direction: Direction,
    /// True when this ring is the platform's agent leg of our own call-out
    /// (it is auto-answered, never shown as a customer ring).
    pub agent_leg: bool,
}

/// Our name for one call: assigned by the engine's call core when the call
/// comes into being (a ring arrives, a call-out starts) and the same for
/// the whole life of the call, whatever legs the platform adds to it. On
/// the control socket it is a short string, `"c1"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl std::str::FromStr for CallId {
    type Err = String;

    /// `"c7"` (what the console prints); a bare `"7"` is refused so a
    /// platform call id or a phone number is never taken for ours.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .strip_prefix('c')
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .map(CallId)
            .ok_or_else(|| format!("{s:?} is not a call id (the console names calls c1, c2, …)"))
    }
}

impl Serialize for CallId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CallId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Call quality from RTCP: jitter and RTT in ms, loss in %, estimated MOS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub jitter_ms: f32,
    pub loss_pct: f32,
    pub rtt_ms: f32,
    pub mos: f32,
}

/// What happened to one call (always inside [`Event::Call`], which names it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum CallEvent {
    /// `showCalloutInfo(number)`: the customer's phone is ringing.
    CalloutStarted(String),
    /// `showCalloutError(code, sip)`.
    CalloutFailed {
        error_code: Option<String>,
        sip_code: Option<u16>,
        /// The colleague's extension when the failed call was an internal
        /// call (VCC device 1's, or a plain-SIP call to an extension): it
        /// is worded as one ("Internal call to 1001: the extension is
        /// busy"), not as a customer's.
        #[serde(default)]
        internal: Option<String>,
    },
    /// `csCustomerAccept()`.
    CustomerAnswered,
    /// `csCallRinging(phone)`.
    Ringing(RingInfo),
    /// Our call-out has been sent and is waiting for progress.
    Dialing(String),
    /// `csAcceptCall()`.
    Accepted,
    /// `csEndCall()`.
    Ended(EndReason),
    /// `csHoldCall()` / `csUnHoldCall()`.
    Held(bool),
    /// `csMuteCall()` / `csUnMuteCall()`.
    Muted(bool),
    /// `csCurrentCallId(id)`: the platform's own id for this call.
    PlatformId(String),
    /// How a transfer of this call turned out.
    TransferResult { ok: bool, detail: TransferDetail },
    /// Call quality from RTCP.
    Quality(Quality),
    /// A DTMF digit received from the far end.
    DtmfReceived(char),
    /// This call is a consult call made for that call (attended transfer).
    ConsultFor(CallId),
    /// The far end changed: another party took the call over (an INVITE
    /// with Replaces, RFC 3891). The call keeps its name; this is who it
    /// is with now (`name`: their display name, if they sent one).
    PartyChanged {
        number: String,
        name: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum Event {
    /// `csInitComplete()`.
    Ready,
    /// `csInitError(code)`.
    InitFailed(InitFailure),
    /// `csShowEnableVoice(bool)`: does this console own the voice channel?
    VoiceChannel(bool),
    /// `csShowCallStatus(status)`.
    Availability(Availability),
    /// Something happened to one call: every call-scoped event comes this
    /// way, so no consumer has to guess which call it is about.
    Call {
        call: CallId,
        event: CallEvent,
    },
    /// `csShowDeviceType(type)`.
    DeviceType(Device),
    /// `csNotifyReconnecting(n, max)`.
    Reconnecting {
        attempt: u32,
        max: u32,
    },
    /// The control plane is connected again after a reconnect.
    Reconnected,
    /// `csOndisconnected()`.
    Disconnected,
    /// The list asked for with `ListTransferAgents`.
    TransferAgents(Vec<AgentInfo>),
    /// Another agent offers us a call (accept within the deadline).
    TransferOffered {
        call_id: String,
        from_agent: String,
    },
    /// How a transfer offered to us turned out (not one of our calls yet).
    TransferResult {
        ok: bool,
        detail: TransferDetail,
    },
    /// SIP registration of the voice leg.
    Registration(RegState),
    /// Coalesced audio levels, 0.0–1.0 (the console's own mic and speaker).
    AudioLevel {
        mic: f32,
        speaker: f32,
    },
    Notice(Notice),
    /// The orderly shutdown finished (or hit its deadline).
    ShutdownComplete,
}

impl Event {
    /// `Event::Call { call, event }`.
    pub fn call(call: CallId, event: CallEvent) -> Event {
        Event::Call { call, event }
    }

    /// The call-scoped part, if this event is about one call.
    pub fn call_event(&self) -> Option<&CallEvent> {
        match self {
            Event::Call { event, .. } => Some(event),
            _ => None,
        }
    }

    /// Which call this event is about, if any.
    pub fn call_id(&self) -> Option<CallId> {
        match self {
            Event::Call { call, .. } => Some(*call),
            _ => None,
        }
    }
}
