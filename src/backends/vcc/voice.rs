//! The seam for the device-1 voice leg (VCC-PROTOCOL.md §4: SIP over
//! WebSocket + WebRTC media). The policy decides *when* (voice here and
//! device 1); an implementation of [`VoiceLeg`] does it and reports back.
//!
//! Until the SIP/WebRTC leg lands, [`UnavailableVoiceLeg`] says plainly
//! that console audio is not available, rather than pretending: calls on
//! devices 2, 3 and 4 work fully (the console only controls them).

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

use crate::call::vcc::{VoiceAction, VoiceEvent};
use crate::engine::EndReason;
use crate::secret::Secret;

/// What the voice leg registers as (from discovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceAccount {
    /// `user.agent_id`: `sip:{user}@{domain}`.
    pub user: String,
    /// `account.sip_server_url`.
    pub domain: String,
    /// `account.sip_socket` (`ws://` or `wss://`).
    pub ws_url: String,
    /// The SDK registers with the literal password `sip_password`.
    pub password: Secret,
}

impl VoiceAccount {
    pub fn new(user: &str, domain: &str, ws_url: &str) -> Self {
        Self {
            user: user.to_string(),
            domain: domain.to_string(),
            ws_url: ws_url.to_string(),
            password: Secret::new("sip_password"),
        }
    }
}

/// The device-1 voice leg, driven by the backend's task.
pub trait VoiceLeg: Send + 'static {
    /// The account to use from now on, and where to report. Called after
    /// each successful discovery, before any `execute`.
    fn configure(&mut self, account: VoiceAccount, events: mpsc::UnboundedSender<VoiceEvent>);
    /// Do one action; outcomes come back as [`VoiceEvent`]s.
    fn execute(&mut self, action: VoiceAction);
    /// The backend is exiting: stop if running, and resolve once every
    /// stop given so far has finished (un-REGISTER sent and answered, or
    /// given up). The caller bounds the wait.
    fn finish(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async {})
    }
}

/// The text shown when device 1 needs audio this build cannot give.
pub const AUDIO_UNAVAILABLE: &str = "console audio (device 1) is not available in this build yet: \
calls cannot be heard on this console; change device (2 IP phone, 3 mobile, 4 desk phone) to take calls";

/// A voice leg that cannot run, and says so.
#[derive(Default)]
pub struct UnavailableVoiceLeg {
    events: Option<mpsc::UnboundedSender<VoiceEvent>>,
    told: bool,
}

impl VoiceLeg for UnavailableVoiceLeg {
    fn configure(&mut self, _account: VoiceAccount, events: mpsc::UnboundedSender<VoiceEvent>) {
        self.events = Some(events);
    }

    fn execute(&mut self, action: VoiceAction) {
        let Some(tx) = &self.events else { return };
        match action {
            VoiceAction::Start => {
                if !self.told {
                    self.told = true;
                    let _ = tx.send(VoiceEvent::Unavailable(AUDIO_UNAVAILABLE.into()));
                }
            }
            VoiceAction::Stop => self.told = false,
            VoiceAction::Dial { leg, .. } => {
                let _ = tx.send(VoiceEvent::Unavailable(AUDIO_UNAVAILABLE.into()));
                let _ = tx.send(VoiceEvent::Ended {
                    leg,
                    reason: EndReason::Failed {
                        error_code: Some("NO_CONSOLE_AUDIO".into()),
                        sip_code: None,
                    },
                });
            }
            VoiceAction::Answer { .. }
            | VoiceAction::Hangup { .. }
            | VoiceAction::Reject { .. }
            | VoiceAction::Dtmf { .. } => {}
        }
    }
}
