//! Test controls: what a test asks the switchboard to do (drop a
//! connection, ring an agent, change a scenario).

use serde_json::json;

use super::{CState, Call, Control, Kind, Timer, World, WsOut};
use crate::switchboard::scenario::Outcome;
use crate::vcc_wire::ServerMsg;

impl World {
    pub(super) fn control(&mut self, c: Control) {
        self.log()
            .note("control", None, json!({"control": format!("{c:?}")}));
        match c {
            Control::Ring {
                agent,
                caller,
                line,
                queue,
            } => self.ring(agent, caller, line, queue),
            Control::AnswerOnPhone { agent } => {
                if let Some(id) = self.agents.get(&agent).and_then(|a| a.call.clone()) {
                    self.desk_answer(&id);
                }
            }
            Control::CustomerHangup { agent } => {
                if let Some(id) = self.agents.get(&agent).and_then(|a| a.call.clone()) {
                    self.end_call(&id, "the other party hung up");
                }
            }
            Control::SupervisorHangup { agent, supervisor } => {
                if let Some(id) = self.agents.get(&agent).and_then(|a| a.call.clone()) {
                    self.to_voice(
                        &agent,
                        ServerMsg::HangupResult {
                            call_id: id.clone(),
                            status: "OK".into(),
                            super_agent: supervisor,
                            terminated_agent: agent.clone(),
                        },
                    );
                    self.end_call(&id, "a supervisor ended the call");
                }
            }
            Control::InternalRing { agent, from } => {
                let free = self.agents.get(&agent).is_some_and(|a| a.call.is_none());
                if !free {
                    return;
                }
                let id = self.new_call_id("int");
                self.calls.insert(
                    id.clone(),
                    Call {
                        id: id.clone(),
                        agent: agent.clone(),
                        kind: Kind::Internal,
                        customer: from.clone(),
                        line: String::new(),
                        queue: String::new(),
                        state: CState::Ringing,
                        held: false,
                        muted: false,
                        leg_ext: from.clone(),
                        outcome: Outcome::Answers,
                        transfer_to: None,
                        sip_leg: false,
                    },
                );
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.call = Some(id.clone());
                }
                self.to_voice(
                    &agent,
                    ServerMsg::InternalRing {
                        call_id: id.clone(),
                        called: from,
                    },
                );
                if let Some(d) = self.timing.desk_answer {
                    self.after(d, Timer::DeskAnswer(id));
                }
            }
            Control::TransferFromColleague { from, to } => {
                let target_voice = self
                    .agents
                    .get(&to)
                    .filter(|a| a.call.is_none())
                    .and_then(|a| a.voice);
                let Some(vc) = target_voice else {
                    return self.log().note(
                        "transfer_refused",
                        Some(&to),
                        json!({"reason": "busy or offline"}),
                    );
                };
                let id = self.new_call_id("in");
                let caller = self
                    .pick(&self.scenario.callers.clone(), "0987654321")
                    .to_string();
                let line = self
                    .pick(&self.scenario.lines.clone(), "19001234")
                    .to_string();
                let queue = self.pick(&self.scenario.ivr.clone(), "").to_string();
                self.calls.insert(
                    id.clone(),
                    Call {
                        id: id.clone(),
                        agent: from.clone(),
                        kind: Kind::Inbound,
                        customer: caller,
                        line,
                        queue,
                        state: CState::Talking,
                        held: false,
                        muted: false,
                        leg_ext: from.clone(),
                        outcome: Outcome::Answers,
                        transfer_to: Some(to.clone()),
                        sip_leg: false,
                    },
                );
                self.out(
                    vc,
                    ServerMsg::TransferOffer {
                        call_id: id.clone(),
                        drop_agent_id: from,
                        new_agent_id: to,
                    },
                );
                let d = self.timing.offer_timeout;
                self.after(d, Timer::OfferExpired(id));
            }
            Control::DropConnections { agent } => self.drop_connections(&agent, false),
            Control::DropConnectionsUnnoticed { agent } => self.drop_connections(&agent, true),
            Control::Ping => {
                for &id in self.conns.keys() {
                    self.out(id, ServerMsg::Keepalive);
                }
            }
            Control::StatusAll { status } => {
                for a in self.agents.values_mut() {
                    a.status = status.clone();
                }
                for (&id, c) in &self.conns {
                    if c.agent.is_some() {
                        self.out(
                            id,
                            ServerMsg::AgentStatusReload {
                                agent_status: status.clone(),
                            },
                        );
                    }
                }
            }
        }
    }

    pub(super) fn drop_connections(&mut self, agent: &str, unnoticed: bool) {
        for (&id, c) in &self.conns {
            if c.agent.as_deref() == Some(agent) {
                if unnoticed {
                    self.unnoticed.insert(id);
                }
                let _ = c.tx.send(WsOut::Close("dropped by the switchboard".into()));
            }
        }
    }
}
