//! Calls: the call-out (2032 and its 1055 statuses) and inbound rings (1038).

use super::{Call, DialTarget, LegId, Phase, VccPolicy, VoiceAction, classify_number};
use crate::engine::{CallEvent, Direction, EndReason, Event, Info, NotNow, Notice};
use crate::vcc_wire::{CalloutStatusMsg, ClientMsg, HangupKind, RingMsg};

impl VccPolicy {
    pub(super) fn call_out(&mut self, number: &str) {
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

    pub(super) fn ring(&mut self, r: RingMsg) {
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

    pub(super) fn callout_status(&mut self, s: CalloutStatusMsg) {
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
                let internal = (c.direction == Direction::Internal
                    || crate::sip::target::is_extension(&c.phone))
                .then(|| c.phone.clone());
                if let Some(leg) = leg {
                    self.voice_action(VoiceAction::Hangup { leg });
                }
                self.call = None;
                self.emit(Event::call(
                    id,
                    CallEvent::CalloutFailed {
                        error_code: error_code.clone(),
                        sip_code,
                        internal,
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
}
