//! The device-1 SIP leg: commands to the switchboard's SIP side and what
//! it reports.

use serde_json::json;

use super::{CState, Call, Kind, Timer, World};
use crate::switchboard::scenario::Outcome;
use crate::switchboard::sip::{SipCmd, SipMsg, SipNote};
use crate::vcc_wire::ServerMsg;

impl World {
    pub(super) fn sip_cmd(&self, c: SipCmd) {
        let _ = self.sip.send(SipMsg::Cmd(c));
    }

    pub(super) fn end_sip_leg(&self, c: &Call) {
        if c.sip_leg {
            self.sip_cmd(SipCmd::Hangup {
                call_id: c.id.clone(),
            });
        }
    }

    pub(super) fn sip_note(&mut self, n: SipNote) {
        match n {
            SipNote::Registered { agent, registered } => {
                if registered {
                    self.sip_registered.insert(agent);
                } else {
                    self.sip_registered.remove(&agent);
                }
            }
            SipNote::Answered { call_id } => {
                let Some(c) = self.calls.get_mut(&call_id) else {
                    return;
                };
                match (c.kind, c.state) {
                    (Kind::Outbound, CState::Starting) => {
                        // The agent leg is up: now the customer.
                        let rings = !matches!(c.outcome, Outcome::Fails { rings: false, .. });
                        let agent = c.agent.clone();
                        self.log().note(
                            "agent_leg_answered",
                            Some(&agent),
                            json!({"call_id": call_id}),
                        );
                        let d = self.timing.ring_delay;
                        self.after(
                            d,
                            if rings {
                                Timer::CustomerRinging(call_id)
                            } else {
                                Timer::CalloutFails(call_id)
                            },
                        );
                    }
                    (Kind::Inbound | Kind::Internal, CState::Ringing) => {
                        c.state = CState::Talking;
                        let (agent, kind) = (c.agent.clone(), c.kind);
                        self.log().note(
                            "answered_on_console",
                            Some(&agent),
                            json!({"call_id": call_id}),
                        );
                        let msg = match kind {
                            Kind::Internal => ServerMsg::InternalAnswer { call_id },
                            _ => ServerMsg::AgentAnswer {
                                extension: agent.clone(),
                                call_id,
                            },
                        };
                        self.to_voice(&agent, msg);
                    }
                    _ => {}
                }
            }
            SipNote::Failed { call_id, code } => {
                let Some(c) = self.calls.get_mut(&call_id) else {
                    return;
                };
                c.sip_leg = false;
                match c.kind {
                    Kind::Outbound => {
                        let Some(c) = self.calls.remove(&call_id) else {
                            return;
                        };
                        if let Some(a) = self.agents.get_mut(&c.agent) {
                            a.call = None;
                        }
                        let sip = code.to_string();
                        self.log().note(
                            "callout_failed",
                            Some(&c.agent),
                            json!({"call_id": call_id, "errorCode": "IPCC_NOT_CONNECT_AGENT_ID",
                                   "sipCode": sip}),
                        );
                        let msg = self.callout_msg(&c, "ERROR", "IPCC_NOT_CONNECT_AGENT_ID", &sip);
                        self.to_voice(&c.agent, msg);
                    }
                    _ if c.state == CState::Ringing => {
                        self.end_call(&call_id, "the agent's phone refused the call");
                    }
                    _ => {}
                }
            }
            SipNote::AgentBye { call_id } => {
                if let Some(c) = self.calls.get_mut(&call_id) {
                    c.sip_leg = false;
                }
                self.end_call(&call_id, "the agent hung up");
            }
        }
    }
}
