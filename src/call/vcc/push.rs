//! Push messages from the platform, dispatched to the policy.

use super::{Call, Offer, Phase, VccPolicy, VoiceAction};
use crate::engine::{
    AgentInfo, Availability, CallEvent, Direction, EndReason, Event, Info, Notice, TransferDetail,
};
use crate::vcc_wire::{AgentEntry, ClientMsg, ServerMsg};

impl VccPolicy {
    pub(super) fn push(&mut self, m: ServerMsg) {
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
}

pub(super) fn availability_of(agent_status: &str) -> Availability {
    match agent_status.to_ascii_uppercase().as_str() {
        "AVAILABLE" => Availability::On,
        "NO ANSWER" => Availability::NoAnswer,
        _ => Availability::Off,
    }
}

pub(super) fn agent_info(a: AgentEntry) -> AgentInfo {
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
