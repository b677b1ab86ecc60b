//! The voice channel: whether this console holds it, taking it back, and
//! losing it to another console.

use super::{Effect, VccPolicy, VoiceAction};
use crate::config::vcc::Generation;
use crate::engine::{EndReason, Event, Info};

impl VccPolicy {
    /// A take-back after a reconnect was refused: the channel is elsewhere.
    pub(super) fn voice_not_held(&mut self) {
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
    pub(super) fn force_console_device(&mut self) {
        if self.cfg.generation == Generation::Newer
            && self.voice_here
            && self.device != 1
            && self.pending_device.is_none()
        {
            self.request_device(1, String::new());
        }
    }

    pub(super) fn voice_moved_away(&mut self) {
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
}
