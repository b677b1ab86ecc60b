//! Calls: hold, mute, hang-up, call-out, and inbound rings.

use serde_json::json;

use super::{CState, Call, ConnId, Kind, Timer, World};
use crate::switchboard::scenario::{Outcome, outcome_for};
use crate::switchboard::sip::SipCmd;
use crate::vcc_wire::{CalloutStatusMsg, HangupKind, RingMsg, ServerMsg};

impl World {
    pub(super) fn own_call(&self, ip: &str, call_id: &str) -> Option<&Call> {
        self.calls.get(call_id).filter(|c| c.agent == ip)
    }

    pub(super) fn hold(
        &mut self,
        conn: ConnId,
        ip: &str,
        hold: bool,
        outbound: bool,
        call_id: &str,
    ) {
        let status = match self.own_call(ip, call_id) {
            None => "IPCCERR0000",
            Some(c) if c.state != CState::Talking => "IPCCERR0008",
            Some(c) if hold && c.held => "IPCCERR0003",
            Some(c) if !hold && !c.held => "IPCCERR0005",
            Some(_) => "OK",
        };
        if status == "OK"
            && let Some(c) = self.calls.get_mut(call_id)
        {
            c.held = hold;
        }
        self.log().note(
            if hold { "hold" } else { "unhold" },
            Some(ip),
            json!({"call_id": call_id, "status": status, "outbound": outbound}),
        );
        self.out(
            conn,
            ServerMsg::HoldResult {
                hold,
                outbound,
                status: status.into(),
                call_id: call_id.into(),
            },
        );
    }

    pub(super) fn mute(&mut self, conn: ConnId, ip: &str, mute: bool, call_id: &str) {
        let refusal = match self.own_call(ip, call_id) {
            None => Some("IPCCERR0000"),
            Some(c) if c.state != CState::Talking => Some("IPCCERR0009"),
            Some(c) if c.kind != Kind::Inbound => Some("IPCCERR0007"),
            Some(c) if c.held => Some("IPCCERR0003"),
            Some(c) if mute && c.muted => Some("IPCCERR0011"),
            Some(c) if !mute && !c.muted => Some("IPCCERR0004"),
            Some(_) => None,
        };
        self.log().note(
            if mute { "mute" } else { "unmute" },
            Some(ip),
            json!({"call_id": call_id, "status": refusal.unwrap_or("OK")}),
        );
        match refusal {
            Some(code) => self.out(
                conn,
                ServerMsg::CallError {
                    status: code.into(),
                },
            ),
            None => {
                if let Some(c) = self.calls.get_mut(call_id) {
                    c.muted = mute;
                }
                self.out(
                    conn,
                    ServerMsg::MuteResult {
                        mute,
                        call_id: call_id.into(),
                    },
                );
            }
        }
    }

    pub(super) fn hangup(
        &mut self,
        conn: ConnId,
        ip: &str,
        kind: HangupKind,
        call_id: &str,
        remove: &str,
    ) {
        let status = match self.own_call(ip, call_id) {
            None => "IPCCERR0000",
            Some(c) if remove != c.leg_ext && remove != ip => "IPCCERR0002",
            Some(_) => "OK",
        };
        self.log().note(
            "hangup_request",
            Some(ip),
            json!({"call_id": call_id, "kind": format!("{kind:?}"), "removeAgentId": remove,
                   "status": status}),
        );
        self.out(
            conn,
            ServerMsg::HangupResult {
                call_id: call_id.into(),
                status: status.into(),
                super_agent: String::new(),
                terminated_agent: ip.into(),
            },
        );
        if status == "OK" {
            self.end_call(call_id, "the agent hung up");
        }
    }

    /// The call is over for its agent: tell the voice connection as the
    /// call's kind requires, and forget it.
    pub(super) fn end_call(&mut self, call_id: &str, cause: &str) {
        let Some(c) = self.calls.remove(call_id) else {
            return;
        };
        self.end_sip_leg(&c);
        if let Some(a) = self.agents.get_mut(&c.agent)
            && a.call.as_deref() == Some(call_id)
        {
            a.call = None;
        }
        self.log().note(
            "call_end",
            Some(&c.agent),
            json!({"call_id": call_id, "cause": cause}),
        );
        let msg = match c.kind {
            Kind::Inbound => ServerMsg::AgentEnd {
                extension: c.agent.clone(),
                call_id: c.id.clone(),
            },
            Kind::Outbound => ServerMsg::CalloutStatus(CalloutStatusMsg {
                status: if c.state == CState::Starting {
                    "TERMINATE".into()
                } else {
                    "ENDCALL".into()
                },
                call_id: c.id.clone(),
                telephone_number: c.customer.clone(),
                line: c.line.clone(),
                extension: c.leg_ext.clone(),
                error_code: String::new(),
                sip_code: String::new(),
            }),
            Kind::Internal => ServerMsg::InternalEnd {
                call_id: c.id.clone(),
            },
        };
        self.to_voice(&c.agent, msg);
    }

    pub(super) fn callout(&mut self, conn: ConnId, ip: &str, number: &str) {
        let Some(a) = self.agents.get(ip) else {
            return;
        };
        let digits_ok =
            (8..=13).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit());
        let status = |s: &str, id: &str, code: &str, sip: &str| {
            ServerMsg::CalloutStatus(CalloutStatusMsg {
                status: s.into(),
                call_id: id.into(),
                telephone_number: number.into(),
                line: String::new(),
                extension: ip.into(),
                error_code: code.into(),
                sip_code: sip.into(),
            })
        };
        if a.voice != Some(conn) {
            return self.out(
                conn,
                ServerMsg::CallError {
                    status: "IPCCERR0001".into(),
                },
            );
        }
        if a.call.is_some() {
            self.log().note(
                "callout_failed",
                Some(ip),
                json!({"errorCode": "CALLOUT_AGENT_BUSY"}),
            );
            return self.out(conn, status("ERROR", "", "CALLOUT_AGENT_BUSY", "786"));
        }
        let device = a.device;
        let id = self.new_call_id("out");
        let line = self
            .pick(&self.scenario.lines.clone(), "19001234")
            .to_string();
        self.out(conn, status("STARTING", &id, "", ""));
        let phone_ok = device != 1 || self.sip_registered.contains(ip);
        if !phone_ok || !digits_ok {
            // Device 1 without a SIP registration: the platform cannot
            // reach the agent's phone.
            let code = if !phone_ok {
                "IPCC_NOT_CONNECT_AGENT_ID"
            } else {
                "ERROR_CALLOUT_CONNECT"
            };
            self.log().note(
                "callout_failed",
                Some(ip),
                json!({"call_id": id, "number": number, "errorCode": code}),
            );
            return self.out(conn, status("ERROR", &id, code, ""));
        }
        let outcome = outcome_for(number);
        self.log().note(
            "callout",
            Some(ip),
            json!({"call_id": id, "number": number, "outcome": format!("{outcome:?}")}),
        );
        let rings = !matches!(outcome, Outcome::Fails { rings: false, .. });
        let agent_leg = device == 1;
        self.calls.insert(
            id.clone(),
            Call {
                id: id.clone(),
                agent: ip.into(),
                kind: Kind::Outbound,
                customer: number.into(),
                line,
                queue: String::new(),
                state: CState::Starting,
                held: false,
                muted: false,
                leg_ext: ip.into(),
                outcome,
                transfer_to: None,
                sip_leg: agent_leg,
            },
        );
        if let Some(a) = self.agents.get_mut(ip) {
            a.call = Some(id.clone());
        }
        if agent_leg {
            // Device 1: first the agent's own phone (the SDK auto-answers
            // it), then the customer once it is up (`sip_note`).
            self.sip_cmd(SipCmd::Invite {
                call_id: id,
                agent: ip.to_string(),
                caller: number.to_string(),
            });
            return;
        }
        let d = self.timing.ring_delay;
        self.after(
            d,
            if rings {
                Timer::CustomerRinging(id)
            } else {
                Timer::CalloutFails(id)
            },
        );
    }

    pub(super) fn ring(
        &mut self,
        agent: Option<String>,
        caller: Option<String>,
        line: Option<String>,
        queue: Option<String>,
    ) {
        let target = match agent {
            Some(a) => self
                .agents
                .get(&a)
                .filter(|x| x.call.is_none() && x.voice.is_some())
                .map(|_| a),
            None => self
                .agents
                .values()
                .find(|a| {
                    a.spec.bot.is_none()
                        && a.voice.is_some()
                        && a.call.is_none()
                        && a.status == "AVAILABLE"
                })
                .map(|a| a.spec.ipphone.clone()),
        };
        let Some(ip) = target else {
            return self.log().note(
                "ring_refused",
                None,
                json!({"reason": "no idle agent with a console"}),
            );
        };
        let caller = caller.unwrap_or_else(|| {
            self.pick(&self.scenario.callers.clone(), "0987654321")
                .to_string()
        });
        let line = line.unwrap_or_else(|| {
            self.pick(&self.scenario.lines.clone(), "19001234")
                .to_string()
        });
        let queue = queue.unwrap_or_else(|| self.pick(&self.scenario.ivr.clone(), "").to_string());
        let id = self.new_call_id("in");
        self.calls.insert(
            id.clone(),
            Call {
                id: id.clone(),
                agent: ip.clone(),
                kind: Kind::Inbound,
                customer: caller.clone(),
                line: line.clone(),
                queue: queue.clone(),
                state: CState::Ringing,
                held: false,
                muted: false,
                leg_ext: ip.clone(),
                outcome: Outcome::Answers,
                transfer_to: None,
                sip_leg: false,
            },
        );
        let device = match self.agents.get_mut(&ip) {
            Some(a) => {
                a.call = Some(id.clone());
                a.device
            }
            None => return,
        };
        self.log().note(
            "ring",
            Some(&ip),
            json!({"call_id": id, "caller": caller, "line": line, "queue": queue}),
        );
        self.to_voice(
            &ip,
            ServerMsg::Ring(RingMsg {
                extension: ip.clone(),
                call_id: id.clone(),
                caller,
                line,
                queue_description: queue,
                call_direction: 1,
            }),
        );
        if device == 1 && self.sip_registered.contains(&ip) {
            let caller = match self.calls.get_mut(&id) {
                Some(c) => {
                    c.sip_leg = true;
                    c.customer.clone()
                }
                None => String::new(),
            };
            self.sip_cmd(SipCmd::Invite {
                call_id: id.clone(),
                agent: ip.clone(),
                caller,
            });
        }
        let patience = self.timing.caller_patience;
        self.after(patience, Timer::CallerGivesUp(id.clone()));
        if device != 1
            && let Some(d) = self.timing.desk_answer
        {
            self.after(d, Timer::DeskAnswer(id));
        }
    }

    pub(super) fn desk_answer(&mut self, call_id: &str) {
        let Some(c) = self.calls.get_mut(call_id) else {
            return;
        };
        if c.state != CState::Ringing || c.kind == Kind::Outbound {
            return;
        }
        c.state = CState::Talking;
        let (agent, kind, id) = (c.agent.clone(), c.kind, c.id.clone());
        self.log()
            .note("answered_on_phone", Some(&agent), json!({"call_id": id}));
        let msg = match kind {
            Kind::Internal => ServerMsg::InternalAnswer { call_id: id },
            _ => ServerMsg::AgentAnswer {
                extension: agent.clone(),
                call_id: id,
            },
        };
        self.to_voice(&agent, msg);
    }
}
