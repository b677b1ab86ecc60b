//! Timers: what fires when, and the call-out statuses they send.

use std::time::Instant;

use serde_json::json;

use super::{CState, Call, Timer, World};
use crate::switchboard::scenario::{Bot, Outcome};
use crate::vcc_wire::{CalloutStatusMsg, ServerMsg};

impl World {
    pub(super) fn fire(&mut self, now: Instant) {
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.timers)
            .into_iter()
            .partition(|t| t.0 <= now);
        self.timers = rest;
        for (_, t) in due {
            self.timer(t);
        }
    }

    pub(super) fn callout_msg(&self, c: &Call, status: &str, code: &str, sip: &str) -> ServerMsg {
        ServerMsg::CalloutStatus(CalloutStatusMsg {
            status: status.into(),
            call_id: c.id.clone(),
            telephone_number: c.customer.clone(),
            line: c.line.clone(),
            extension: c.leg_ext.clone(),
            error_code: code.into(),
            sip_code: sip.into(),
        })
    }

    pub(super) fn timer(&mut self, t: Timer) {
        match t {
            Timer::Ping => {
                for &id in self.conns.keys() {
                    self.out(id, ServerMsg::Keepalive);
                }
                let d = self.timing.ping_interval;
                self.after(d, Timer::Ping);
            }
            Timer::AutoRing => {
                self.ring(None, None, None, None);
                if let Some(d) = self.timing.auto_ring {
                    self.after(d, Timer::AutoRing);
                }
            }
            Timer::CustomerRinging(id) => {
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
                if c.state != CState::Starting {
                    return;
                }
                c.state = CState::Ringing;
                let msg = self.callout_msg(&self.calls[&id], "RINGING", "", "");
                let (agent, outcome) = (
                    self.calls[&id].agent.clone(),
                    self.calls[&id].outcome.clone(),
                );
                self.to_voice(&agent, msg);
                let d = self.timing.answer_delay;
                match outcome {
                    Outcome::Fails { .. } => self.after(d, Timer::CalloutFails(id)),
                    _ => self.after(d, Timer::CustomerAnswers(id)),
                }
            }
            Timer::CustomerAnswers(id) => {
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
                if c.state != CState::Ringing {
                    return;
                }
                c.state = CState::Talking;
                let msg = self.callout_msg(&self.calls[&id], "ANSWER", "", "");
                let (agent, outcome) = (
                    self.calls[&id].agent.clone(),
                    self.calls[&id].outcome.clone(),
                );
                self.log()
                    .note("customer_answered", Some(&agent), json!({"call_id": id}));
                self.to_voice(&agent, msg);
                if outcome == Outcome::AnswersThenHangsUp {
                    let d = self.timing.talk_time;
                    self.after(d, Timer::CustomerHangsUp(id));
                }
            }
            Timer::CalloutFails(id) => {
                let Some(c) = self.calls.remove(&id) else {
                    return;
                };
                self.end_sip_leg(&c);
                let Outcome::Fails {
                    error_code,
                    sip_code,
                    ..
                } = c.outcome.clone()
                else {
                    return;
                };
                if let Some(a) = self.agents.get_mut(&c.agent) {
                    a.call = None;
                }
                self.log().note(
                    "callout_failed",
                    Some(&c.agent),
                    json!({"call_id": id, "errorCode": error_code, "sipCode": sip_code}),
                );
                let msg = self.callout_msg(&c, "ERROR", error_code, sip_code);
                self.to_voice(&c.agent, msg);
            }
            Timer::CustomerHangsUp(id) => self.end_call(&id, "the customer hung up"),
            Timer::CallerGivesUp(id) => {
                let ringing = self
                    .calls
                    .get(&id)
                    .filter(|c| c.state == CState::Ringing)
                    .map(|c| c.agent.clone());
                if let Some(agent) = ringing {
                    self.end_call(&id, "the caller gave up");
                    if let Some(a) = self.agents.get_mut(&agent) {
                        a.status = "NO ANSWER".into();
                    }
                    self.to_voice(
                        &agent,
                        ServerMsg::AgentStatusReload {
                            agent_status: "NO ANSWER".into(),
                        },
                    );
                }
            }
            Timer::DeskAnswer(id) => self.desk_answer(&id),
            Timer::OfferExpired(id) => {
                if self.calls.get(&id).is_some_and(|c| c.transfer_to.is_some()) {
                    self.complete_transfer(&id, false);
                }
            }
            Timer::BotReply(id) => {
                let bot = self
                    .calls
                    .get(&id)
                    .and_then(|c| c.transfer_to.clone())
                    .and_then(|to| self.agents.get(&to))
                    .and_then(|a| a.spec.bot);
                if let Some(b) = bot {
                    self.complete_transfer(&id, b == Bot::Accepts);
                }
            }
        }
    }
}
