//! Console commands: answer, end, hold, mute, devices, transfers, and the
//! exit path that hands the device back.

use super::{
    Call, Effect, Link, Pending, Phase, VccPolicy, VoiceAction, default_device_for_role,
    normalise_mobile,
};
use crate::engine::{
    Availability, Command, Device, Direction, EndReason, Event, Info, NotNow, Notice,
    TransferDetail, TransferTarget,
};
use crate::vcc_wire::{ClientMsg, HangupKind};

impl VccPolicy {
    pub(super) fn command(&mut self, c: Command) {
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

    pub(super) fn accept(&mut self) {
        let Some(c) = self.call.as_ref().filter(|c| c.phase == Phase::Ringing) else {
            return self.not_now(NotNow::NoRinging);
        };
        match c.leg {
            Some(leg) => self.voice_action(VoiceAction::Answer { leg }),
            None if self.device == 1 => self.not_now(NotNow::ConsoleAudioUnavailable),
            None => self.not_now(NotNow::AnswerOnPhone),
        }
    }

    pub(super) fn end(&mut self) {
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

    pub(super) fn toggle_hold(&mut self) {
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

    pub(super) fn toggle_mute(&mut self) {
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

    pub(super) fn change_device(&mut self, d: Device) {
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

    pub(super) fn request_device(&mut self, code: u8, phone: String) {
        self.pending_device = Some((code, phone.clone()));
        self.send(ClientMsg::ChangeDevice {
            device_type: code,
            phone,
        });
    }

    pub(super) fn transfer(&mut self, t: TransferTarget) {
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

    pub(super) fn shutdown(&mut self) {
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
}
