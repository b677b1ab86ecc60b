//! The device-1 voice leg's events (SIP over WebSocket + WebRTC).

use super::{CALLOUT_SETTLE, Call, Phase, VccPolicy, VoiceAction, VoiceEvent};
use crate::engine::{CallEvent, Direction, EndReason, Event, Info};

impl VccPolicy {
    pub(super) fn voice(&mut self, v: VoiceEvent) {
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
            VoiceEvent::Failed { leg, code, reason } => {
                // Only our own dial fails this way (an internal call; the
                // platform's legs come to us). Say why first, as plain SIP
                // does (`Softphone`, `News::Failed`), then end it.
                let ours = self.call.as_ref().filter(|c| {
                    c.leg == Some(leg) && c.direction == Direction::Internal && !c.end_requested
                });
                if let Some(c) = ours {
                    let internal = Some(c.phone.clone());
                    self.emit_current(CallEvent::CalloutFailed {
                        error_code: None,
                        sip_code: code,
                        internal,
                    });
                }
                self.voice(VoiceEvent::Ended { leg, reason });
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
