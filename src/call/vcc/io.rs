//! What goes in and out of the policy: [`Input`]s, [`Effect`]s, the voice
//! leg's actions and events, and the policy's settings.

use std::time::Duration;

use super::LegId;
use crate::config::vcc::{Generation, VccConfig};
use crate::engine::{Command, EndReason, Event, Info, InitFailure, RegState};
use crate::vcc_wire::{ClientMsg, ServerMsg};

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
    /// Our dial (an internal call) got a final non-2xx answer, or none at
    /// all (`code: None`): the code is for the call-out error table, as on
    /// plain SIP, so the agent reads why (busy, not found, unreachable).
    Failed {
        leg: LegId,
        code: Option<u16>,
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
