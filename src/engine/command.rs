//! Console → engine commands. The names follow the VCC web-embed SDK one to one
//! (`../shared/VCC-PROTOCOL.md` §5) so an integrator reading the SDK docs
//! recognises every piece; plain SIP maps onto the same vocabulary.

use serde::{Deserialize, Serialize};

use super::event::CallId;

/// Where the agent's calls ring (VCC `deviceType`, VCC-PROTOCOL.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Device {
    /// 1: this console's own audio (the SDK's browser WebRTC).
    Console,
    /// 2: a SIP IP phone / softphone, only while the agent is logged in.
    IpPhone,
    /// 3: a GSM mobile; calls are forwarded to this number.
    Mobile { number: String },
    /// 4: an always-on desk IP phone that needs no login.
    AlwaysOnIpPhone,
    /// 6, 8 and anything else the platform reports.
    Other { code: u8 },
}

impl Device {
    /// The VCC `deviceType` integer.
    pub fn code(&self) -> u8 {
        match self {
            Device::Console => 1,
            Device::IpPhone => 2,
            Device::Mobile { .. } => 3,
            Device::AlwaysOnIpPhone => 4,
            Device::Other { code } => *code,
        }
    }

    /// Build from the wire integer; the mobile number travels separately.
    pub fn from_code(code: u8, phone: &str) -> Device {
        match code {
            1 => Device::Console,
            2 => Device::IpPhone,
            3 => Device::Mobile {
                number: phone.to_string(),
            },
            4 => Device::AlwaysOnIpPhone,
            other => Device::Other { code: other },
        }
    }
}

/// Target of a transfer (VCC: agent or ACD queue; plain SIP: a REFER target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum TransferTarget {
    Agent(String),
    Queue(String),
    /// A number or URI, sent as a blind transfer (SIP REFER, RFC 3515).
    Number(String),
}

/// Every call-scoped command names its call: `None` is the selected call
/// (the one a ringing key or the current conversation acts on); an id the
/// core does not know is refused with [`super::Notice::UnknownCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", content = "arg", rename_all = "snake_case")]
pub enum Command {
    /// `csInit(token, domain)`: log in and open the control plane / register.
    Connect,
    /// `csEnableCall()`: take the voice channel to this console.
    ClaimVoice,
    /// `changeCallStatus()`: On ⇄ Off.
    ToggleAvailability,
    /// `csCallout(number)`.
    CallOut(String),
    /// `onAcceptCall()`.
    Accept { call: Option<CallId> },
    /// Decline a ringing call (SIP 486 Busy Here, or 603 Decline when `decline`).
    Reject { call: Option<CallId>, decline: bool },
    /// `endCall()`: hang up, cancel or reject the call.
    End { call: Option<CallId> },
    /// `holdCall()`.
    ToggleHold { call: Option<CallId> },
    /// `muteCall()`.
    ToggleMute { call: Option<CallId> },
    /// `changeDevice(type, phone)`.
    ChangeDevice(Device),
    /// `getTransferAgent()`: ask for the agents one can transfer to.
    ListTransferAgents,
    /// `csTransferCallAgent` / `csTransferCallAcd` / SIP REFER.
    Transfer {
        call: Option<CallId>,
        target: TransferTarget,
    },
    /// `responseTransferAgent(ok)`.
    AnswerTransferOffer(bool),
    /// One DTMF digit in the call.
    SendDtmf { call: Option<CallId>, digit: char },
    /// Make this call the live one (`None`: the held one); the other is
    /// held first (plain SIP).
    Swap { call: Option<CallId> },
    /// Hold the live call and call this number to consult before a
    /// transfer (plain SIP, attended transfer).
    Consult(String),
    /// Connect the held call with its consult call (REFER with Replaces,
    /// RFC 5589 §7) and leave both.
    CompleteTransfer,
    /// Join the two calls into a three-way call mixed here.
    Merge,
    /// Leave the three-way call by ending both its calls.
    EndConference,
    /// `csUnregister()` + `reConfigDeviceType()`: orderly exit.
    Shutdown,
}

impl Command {
    /// The call a call-scoped command names (`None`: the selected call, or
    /// not a call-scoped command).
    pub fn call(&self) -> Option<CallId> {
        match self {
            Command::Accept { call }
            | Command::Reject { call, .. }
            | Command::End { call }
            | Command::ToggleHold { call }
            | Command::ToggleMute { call }
            | Command::SendDtmf { call, .. }
            | Command::Swap { call }
            | Command::Transfer { call, .. } => *call,
            _ => None,
        }
    }
}
