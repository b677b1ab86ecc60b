//! The push connection's lifecycle: login done (1027), closed, back-off and
//! reconnect, lost for good.

use super::push::availability_of;
use super::{Link, VccPolicy};
use crate::engine::{EndReason, Event, Info, InitFailure, InitStep};
use crate::vcc_wire::ClientMsg;

impl VccPolicy {
    pub(super) fn push_closed(&mut self, reason: String) {
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
    pub(super) fn lost(&mut self) {
        self.link = Link::Down;
        self.reconnect_at = None;
        self.offer = None;
        if self.call.as_ref().is_some_and(|c| c.leg.is_none()) {
            self.end_call(EndReason::TransportLost);
        }
        self.emit(Event::Disconnected);
    }

    pub(super) fn refresh(&mut self, agent_status: &str, is_voice: bool, device_type: u8) {
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
}
