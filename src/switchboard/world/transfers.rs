//! Transfers to another agent, and how they complete.

use serde_json::json;

use super::{CState, ConnId, Kind, Timer, World};
use crate::vcc_wire::{CalloutStatusMsg, RingMsg, ServerMsg};

impl World {
    pub(super) fn transfer_agent(
        &mut self,
        conn: ConnId,
        ip: &str,
        call_id: &str,
        to: &str,
        drop: &str,
    ) {
        let result = |status: &str| ServerMsg::TransferAgentResult {
            call_id: call_id.into(),
            drop_agent: ip.into(),
            new_agent: to.into(),
            super_agent: String::new(),
            status: status.into(),
        };
        if self
            .own_call(ip, call_id)
            .is_none_or(|c| c.state != CState::Talking)
        {
            return self.out(conn, result("IPCCERR0014"));
        }
        let Some(target) = self.agents.get(to) else {
            return self.out(conn, result("IPCCERR0002"));
        };
        if target.call.is_some() || target.status != "AVAILABLE" || to == ip {
            return self.out(conn, result("IPCCERR0001"));
        }
        let (bot, voice) = (target.spec.bot, target.voice);
        if bot.is_none() && voice.is_none() {
            return self.out(conn, result("IPCCERR0001"));
        }
        if let Some(c) = self.calls.get_mut(call_id) {
            c.transfer_to = Some(to.to_string());
        }
        self.log().note(
            "transfer_offered",
            Some(ip),
            json!({"call_id": call_id, "to": to, "dropAgentId": drop}),
        );
        match (bot, voice) {
            (Some(_), _) => {
                let d = self.timing.bot_think;
                self.after(d, Timer::BotReply(call_id.into()));
            }
            (None, Some(vc)) => {
                self.out(
                    vc,
                    ServerMsg::TransferOffer {
                        call_id: call_id.into(),
                        drop_agent_id: if drop.is_empty() {
                            ip.into()
                        } else {
                            drop.into()
                        },
                        new_agent_id: to.into(),
                    },
                );
                let d = self.timing.offer_timeout;
                self.after(d, Timer::OfferExpired(call_id.into()));
            }
            (None, None) => {}
        }
    }

    pub(super) fn complete_transfer(&mut self, call_id: &str, ok: bool) {
        let Some(c) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(to) = c.transfer_to.take() else {
            return;
        };
        let from = c.agent.clone();
        let status = if ok { "OK" } else { "NOK" };
        self.log().note(
            "transfer",
            Some(&from),
            json!({"call_id": call_id, "to": to, "status": status}),
        );
        self.to_voice(
            &from,
            ServerMsg::TransferConfirm {
                call_id: call_id.into(),
                status: status.into(),
            },
        );
        self.to_voice(
            &from,
            ServerMsg::TransferAgentResult {
                call_id: call_id.into(),
                drop_agent: from.clone(),
                new_agent: to.clone(),
                super_agent: String::new(),
                status: status.into(),
            },
        );
        if !ok {
            return;
        }
        // The call leaves `from`…
        let Some(mut call) = self.calls.remove(call_id) else {
            return;
        };
        self.end_sip_leg(&call);
        call.sip_leg = false;
        let leave = match call.kind {
            Kind::Inbound => ServerMsg::AgentEnd {
                extension: from.clone(),
                call_id: call.id.clone(),
            },
            Kind::Outbound => ServerMsg::CalloutStatus(CalloutStatusMsg {
                status: "ENDCALL".into(),
                call_id: call.id.clone(),
                telephone_number: call.customer.clone(),
                line: call.line.clone(),
                extension: call.leg_ext.clone(),
                error_code: String::new(),
                sip_code: String::new(),
            }),
            Kind::Internal => ServerMsg::InternalEnd {
                call_id: call.id.clone(),
            },
        };
        self.to_voice(&from, leave);
        if let Some(a) = self.agents.get_mut(&from) {
            a.call = None;
        }
        // …and reaches `to` (a simulated colleague just keeps it).
        let to_is_bot = self.agents.get(&to).is_some_and(|a| a.spec.bot.is_some());
        if to_is_bot {
            return;
        }
        call.agent = to.clone();
        call.leg_ext = to.clone();
        call.kind = Kind::Inbound;
        call.held = false;
        call.muted = false;
        call.state = CState::Talking;
        let ring = ServerMsg::Ring(RingMsg {
            extension: to.clone(),
            call_id: call.id.clone(),
            caller: call.customer.clone(),
            line: call.line.clone(),
            queue_description: call.queue.clone(),
            call_direction: 1,
        });
        if let Some(a) = self.agents.get_mut(&to) {
            a.call = Some(call.id.clone());
        }
        let id = call.id.clone();
        self.calls.insert(id.clone(), call);
        self.to_voice(&to, ring);
        self.to_voice(
            &to,
            ServerMsg::AgentAnswer {
                extension: to.clone(),
                call_id: id,
            },
        );
    }
}
