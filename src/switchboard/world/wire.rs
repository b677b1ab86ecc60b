//! Push frames in and out: each console connection's frames, decoded and
//! dispatched (VCC-PROTOCOL.md §2).

use serde_json::json;

use super::{CState, Conn, ConnId, World, WorldMsg, WsOut, status_word};
use crate::vcc_wire::{AgentEntry, ClientMsg, Decoded, ServerMsg, field_i64, redact};

impl World {
    pub(super) fn out(&self, conn: ConnId, msg: ServerMsg) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let text = msg.encode(&self.ids);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        self.log().push(
            "out",
            c.agent.as_deref(),
            Some(conn),
            field_i64(&v, "objectId"),
            v,
        );
        let _ = c.tx.send(WsOut::Text(text));
    }

    /// To the connection of `agent` that owns voice (events 1038/1039/1009,
    /// 1055, internal calls, transfers are for that one only).
    pub(super) fn to_voice(&self, agent: &str, msg: ServerMsg) {
        if let Some(conn) = self.agents.get(agent).and_then(|a| a.voice) {
            self.out(conn, msg);
        }
    }

    pub(super) fn handle(&mut self, m: WorldMsg) {
        match m {
            WorldMsg::Open { conn, tx } => {
                self.conns.insert(conn, Conn { tx, agent: None });
                self.log().note("connect", None, json!({"conn": conn}));
            }
            WorldMsg::Gone { conn } => {
                let Some(c) = self.conns.remove(&conn) else {
                    return;
                };
                let agent = c.agent.clone();
                self.log()
                    .note("disconnect", agent.as_deref(), json!({"conn": conn}));
                if self.unnoticed.remove(&conn) {
                    // Still the voice holder as far as the platform knows.
                    return;
                }
                if let Some(a) = agent.as_ref().and_then(|a| self.agents.get_mut(a))
                    && a.voice == Some(conn)
                {
                    a.voice = None;
                    let who = a.spec.ipphone.clone();
                    self.log()
                        .note("voice_released", Some(&who), json!({"conn": conn}));
                }
            }
            WorldMsg::Frame { conn, text } => self.frame(conn, &text),
            WorldMsg::Control(c) => self.control(c),
            WorldMsg::Sip(n) => self.sip_note(n),
        }
    }

    pub(super) fn frame(&mut self, conn: ConnId, text: &str) {
        let agent = self.conns.get(&conn).and_then(|c| c.agent.clone());
        let red = redact(text);
        let v: serde_json::Value = serde_json::from_str(&red).unwrap_or_default();
        self.log().push(
            "in",
            agent.as_deref(),
            Some(conn),
            field_i64(&v, "objectId"),
            v,
        );
        let (msg, from) = match ClientMsg::decode(&self.ids, text) {
            Ok((Decoded::Msg(m), from)) => (m, from),
            Ok((Decoded::Unknown(id), _)) => {
                return self.log().note(
                    "unknown_object_id",
                    agent.as_deref(),
                    json!({"objectId": id}),
                );
            }
            Ok((Decoded::NoObjectId, _)) => {
                return self
                    .log()
                    .note("frame_without_object_id", agent.as_deref(), json!({}));
            }
            Err(e) => {
                return self.log().note(
                    "bad_frame",
                    agent.as_deref(),
                    json!({"error": e.to_string()}),
                );
            }
        };
        if let ClientMsg::Login {
            authen_token,
            user_token,
            init_call_channel,
        } = msg
        {
            return self.login(conn, authen_token, user_token, init_call_channel, &from);
        }
        let Some(ip) = agent else {
            return self.out(
                conn,
                ServerMsg::CallError {
                    status: "IPCCERR0002".into(),
                },
            );
        };
        if !from.extension.is_empty() && from.extension != ip {
            self.log().note(
                "extension_mismatch",
                Some(&ip),
                json!({"frame_extension": from.extension}),
            );
        }
        match msg {
            ClientMsg::Login { .. } | ClientMsg::Keepalive => {}
            ClientMsg::ChangeCallStatus { available } => {
                let Some(a) = self.agents.get_mut(&ip) else {
                    return;
                };
                let status = if a.call.is_some() {
                    "IPCCERR0001".to_string()
                } else {
                    a.status = status_word(available);
                    "OK".to_string()
                };
                let now = a.status.clone();
                self.log().note(
                    "availability",
                    Some(&ip),
                    json!({"status": now, "result": status}),
                );
                self.out(conn, ServerMsg::CallStatusResult { status });
            }
            ClientMsg::EnableVoice => self.enable_voice(conn, &ip),
            ClientMsg::ChangeDevice { device_type, phone } => {
                self.change_device(conn, &ip, device_type, &phone)
            }
            ClientMsg::Hold {
                hold,
                outbound,
                call_id,
                ..
            } => self.hold(conn, &ip, hold, outbound, &call_id),
            ClientMsg::Mute { mute, call_id, .. } => self.mute(conn, &ip, mute, &call_id),
            ClientMsg::Hangup {
                kind,
                call_id,
                remove_agent_id,
            } => self.hangup(conn, &ip, kind, &call_id, &remove_agent_id),
            ClientMsg::Callout { number } => self.callout(conn, &ip, &number),
            ClientMsg::AgentSearch => {
                let agents = self
                    .agents
                    .values()
                    .filter(|a| a.spec.ipphone != ip && a.status == "AVAILABLE" && a.call.is_none())
                    .map(|a| AgentEntry {
                        ipphone: a.spec.ipphone.clone(),
                        username: a.spec.username.clone(),
                        full_name: a.spec.full_name.clone(),
                        agent_status: a.status.clone(),
                        call_status: "READY".into(),
                    })
                    .collect();
                self.out(conn, ServerMsg::AgentSearchResult { agents });
            }
            ClientMsg::TransferAgent {
                call_id,
                new_agent_id,
                drop_agent_id,
            } => self.transfer_agent(conn, &ip, &call_id, &new_agent_id, &drop_agent_id),
            ClientMsg::TransferConfirm { call_id, ok, .. } => {
                let pending = self
                    .calls
                    .get(&call_id)
                    .is_some_and(|c| c.transfer_to.as_deref() == Some(ip.as_str()));
                if pending {
                    self.complete_transfer(&call_id, ok);
                } else {
                    self.log().note(
                        "transfer_answer_without_offer",
                        Some(&ip),
                        json!({"call_id": call_id}),
                    );
                }
            }
            ClientMsg::TransferAcd { call_id, acd_id } => {
                let ok = self.scenario.queues.iter().any(|q| q.id == acd_id)
                    && self
                        .calls
                        .get(&call_id)
                        .is_some_and(|c| c.agent == ip && c.state == CState::Talking);
                self.out(
                    conn,
                    ServerMsg::TransferAcdResult {
                        status: if ok {
                            "OK".into()
                        } else {
                            "IPCCERR0013".into()
                        },
                    },
                );
                if ok {
                    self.log().note(
                        "transfer_queue",
                        Some(&ip),
                        json!({"call_id": call_id, "queue": acd_id}),
                    );
                    self.end_call(&call_id, "transferred to a queue");
                }
            }
        }
    }
}
