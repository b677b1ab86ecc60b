//! The push socket's messages (VCC-PROTOCOL.md §2), typed, with one codec
//! shared by the console (client side) and the local switchboard (server
//! side), so both speak the same wire by construction.
//!
//! One JSON object per text frame; the dispatch key is the integer
//! `objectId`. Every number here is configurable ([`ObjectIds`]); an id we do
//! not know decodes as [`Decoded::Unknown`] and is logged and ignored by the
//! caller. Decoding is tolerant (numbers may arrive as strings and the other
//! way round) because the platform's JavaScript is.
//!
//! A leaf of the crate: the VCC call core (`call::vcc`), the VCC backend and
//! the switchboard build on it, and it imports none of them (tests/layers.rs).

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::secret::Secret;

/// The objectId table. `#[serde(default)]`: any id can be overridden alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectIds {
    /// 1010003 both ways: login (client) and state refresh (server).
    pub login: i64,
    /// 1000 `{channelId}`.
    pub login_channel: i64,
    /// 11111111 both ways.
    pub keepalive: i64,
    /// 2013 `{status}` On/Off.
    pub change_call_status: i64,
    /// 1027 `{status}`.
    pub call_status_result: i64,
    /// 1020 `{agentStatus:"NO ANSWER"}`.
    pub agent_status_reload: i64,
    /// 1511232003 claim the voice channel.
    pub enable_voice: i64,
    /// 1511231003 claim acknowledged.
    pub enable_voice_ack: i64,
    /// 1511231001 `{result, deviceType}` voice enabled here.
    pub voice_enabled: i64,
    /// 1511231002 voice moved elsewhere.
    pub voice_disabled: i64,
    /// 1511242004 `{deviceType, phoneNum}`.
    pub change_device: i64,
    /// 1511241004 `{result, oldDeviceType, newDeviceType}`.
    pub change_device_result: i64,
    /// 1038 inbound ring.
    pub ring: i64,
    /// 1039 inbound answered.
    pub agent_answer: i64,
    /// 1009 inbound ended.
    pub agent_end: i64,
    /// 2015 hold (inbound, internal).
    pub hold: i64,
    /// 2016 unhold (inbound, internal).
    pub unhold: i64,
    /// 1029 hold reply.
    pub hold_result: i64,
    /// 1028 unhold reply.
    pub unhold_result: i64,
    /// 2055 hold (outbound).
    pub hold_outbound: i64,
    /// 2056 unhold (outbound).
    pub unhold_outbound: i64,
    /// 1084 outbound hold reply.
    pub hold_outbound_result: i64,
    /// 1085 outbound unhold reply.
    pub unhold_outbound_result: i64,
    /// 2018 mute (inbound only).
    pub mute: i64,
    /// 2017 unmute.
    pub unmute: i64,
    /// 1030 muted (no status).
    pub mute_result: i64,
    /// 1031 unmuted (no status).
    pub unmute_result: i64,
    /// 2019 hang up inbound `{callId, removeAgentId}`.
    pub hangup_inbound: i64,
    /// 2033 hang up outbound.
    pub hangup_outbound: i64,
    /// 2009 hang up internal.
    pub hangup_internal: i64,
    /// 1006 `{callId, status, superAgent, terminatedAgent}`.
    pub hangup_result: i64,
    /// 2032 call out.
    pub callout: i64,
    /// 1055 call-out progress.
    pub callout_status: i64,
    /// 1045 `{status:"IPCCERR00nn"}`.
    pub call_error: i64,
    /// 1607111001 internal ring.
    pub internal_ring: i64,
    /// 1607111002 internal end.
    pub internal_end: i64,
    /// 1607111003 internal answer.
    pub internal_answer: i64,
    /// 1410122081 list agents for transfer.
    pub agent_search: i64,
    /// 1410121118 `{listAgentSearch}`.
    pub agent_search_result: i64,
    /// 1410122076 transfer to agent (client), transfer offered (server).
    pub transfer_agent: i64,
    /// 1410121119 transfer outcome.
    pub transfer_agent_result: i64,
    /// 1410121123 answer to an offer (client), relayed answer (server).
    pub transfer_confirm: i64,
    /// 2052 transfer to queue.
    pub transfer_acd: i64,
    /// 1116 queue transfer outcome.
    pub transfer_acd_result: i64,
}

impl Default for ObjectIds {
    fn default() -> Self {
        Self {
            login: 1010003,
            login_channel: 1000,
            keepalive: 11111111,
            change_call_status: 2013,
            call_status_result: 1027,
            agent_status_reload: 1020,
            enable_voice: 1511232003,
            enable_voice_ack: 1511231003,
            voice_enabled: 1511231001,
            voice_disabled: 1511231002,
            change_device: 1511242004,
            change_device_result: 1511241004,
            ring: 1038,
            agent_answer: 1039,
            agent_end: 1009,
            hold: 2015,
            unhold: 2016,
            hold_result: 1029,
            unhold_result: 1028,
            hold_outbound: 2055,
            unhold_outbound: 2056,
            hold_outbound_result: 1084,
            unhold_outbound_result: 1085,
            mute: 2018,
            unmute: 2017,
            mute_result: 1030,
            unmute_result: 1031,
            hangup_inbound: 2019,
            hangup_outbound: 2033,
            hangup_internal: 2009,
            hangup_result: 1006,
            callout: 2032,
            callout_status: 1055,
            call_error: 1045,
            internal_ring: 1607111001,
            internal_end: 1607111002,
            internal_answer: 1607111003,
            agent_search: 1410122081,
            agent_search_result: 1410121118,
            transfer_agent: 1410122076,
            transfer_agent_result: 1410121119,
            transfer_confirm: 1410121123,
            transfer_acd: 2052,
            transfer_acd_result: 1116,
        }
    }
}

/// Who sends: every client frame carries `agentId` (`user.username`) and
/// `extension` (`user.agent_id`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sender {
    pub agent_id: String,
    pub extension: String,
}

/// The three hang-up requests, by the call's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupKind {
    /// 2019
    Inbound,
    /// 2033
    Outbound,
    /// 2009
    Internal,
}

/// Console → platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMsg {
    /// Login (1010003). The tokens are filled in by the socket owner just
    /// before encoding (the call logic never holds them). Older SDK:
    /// `authenToken` is the JWT; newer: `authenToken` is `token3C`,
    /// `userToken` the JWT, plus `initCallChannel: 1`.
    Login {
        authen_token: Option<Secret>,
        user_token: Option<Secret>,
        init_call_channel: bool,
    },
    /// 11111111
    Keepalive,
    /// 2013 `AVAILABLE` / `NOT AVAILABLE`.
    ChangeCallStatus { available: bool },
    /// 1511232003
    EnableVoice,
    /// 1511242004
    ChangeDevice { device_type: u8, phone: String },
    /// 2015 / 2016 (`outbound`: 2055 / 2056).
    Hold {
        hold: bool,
        outbound: bool,
        call_id: String,
        call_type: i64,
    },
    /// 2018 / 2017.
    Mute {
        mute: bool,
        call_id: String,
        call_type: i64,
    },
    /// 2019 / 2033 / 2009.
    Hangup {
        kind: HangupKind,
        call_id: String,
        remove_agent_id: String,
    },
    /// 2032
    Callout { number: String },
    /// 1410122081
    AgentSearch,
    /// 1410122076
    TransferAgent {
        call_id: String,
        new_agent_id: String,
        drop_agent_id: String,
    },
    /// 1410121123
    TransferConfirm {
        call_id: String,
        drop_agent_id: String,
        new_agent_id: String,
        ok: bool,
    },
    /// 2052
    TransferAcd { call_id: String, acd_id: String },
}

/// One entry of `listAgentSearch`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentEntry {
    pub ipphone: String,
    pub username: String,
    pub full_name: String,
    pub agent_status: String,
    pub call_status: String,
}

/// 1038 fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RingMsg {
    pub extension: String,
    pub call_id: String,
    pub caller: String,
    pub line: String,
    pub queue_description: String,
    pub call_direction: i64,
}

/// 1055 fields. `errorCode` and `sipCode` are strings on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalloutStatusMsg {
    pub status: String,
    pub call_id: String,
    pub telephone_number: String,
    pub line: String,
    pub extension: String,
    pub error_code: String,
    pub sip_code: String,
}

/// Platform → console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMsg {
    /// 1010003
    Refresh {
        agent_status: String,
        is_voice_channel: bool,
        device_type: u8,
    },
    /// 1000
    LoginChannel { channel_id: String },
    /// 11111111
    Keepalive,
    /// 1027
    CallStatusResult { status: String },
    /// 1020
    AgentStatusReload { agent_status: String },
    /// 1511231003
    EnableVoiceAck,
    /// 1511231001
    VoiceEnabled { result: i64, device_type: u8 },
    /// 1511231002
    VoiceDisabled,
    /// 1511241004
    ChangeDeviceResult {
        result: i64,
        old_device_type: u8,
        new_device_type: u8,
    },
    /// 1038
    Ring(RingMsg),
    /// 1039
    AgentAnswer { extension: String, call_id: String },
    /// 1009
    AgentEnd { extension: String, call_id: String },
    /// 1029 / 1028 (`outbound`: 1084 / 1085).
    HoldResult {
        hold: bool,
        outbound: bool,
        status: String,
        call_id: String,
    },
    /// 1030 / 1031: no status; a refusal arrives as 1045.
    MuteResult { mute: bool, call_id: String },
    /// 1006
    HangupResult {
        call_id: String,
        status: String,
        super_agent: String,
        terminated_agent: String,
    },
    /// 1055
    CalloutStatus(CalloutStatusMsg),
    /// 1045
    CallError { status: String },
    /// 1607111001
    InternalRing { call_id: String, called: String },
    /// 1607111002
    InternalEnd { call_id: String },
    /// 1607111003
    InternalAnswer { call_id: String },
    /// 1410121118
    AgentSearchResult { agents: Vec<AgentEntry> },
    /// 1410121119
    TransferAgentResult {
        call_id: String,
        drop_agent: String,
        new_agent: String,
        super_agent: String,
        status: String,
    },
    /// 1410122076, server → the target agent.
    TransferOffer {
        call_id: String,
        drop_agent_id: String,
        new_agent_id: String,
    },
    /// 1410121123, server → the agent who asked for the transfer.
    TransferConfirm { call_id: String, status: String },
    /// 1116
    TransferAcdResult { status: String },
}

/// What a frame turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<T> {
    Msg(T),
    /// An objectId this table does not know: log it, ignore it.
    Unknown(i64),
    /// A frame with no objectId (the browser SDK sends those): tolerated.
    NoObjectId,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("the frame is not a JSON object: {0}")]
    NotJson(String),
}

/// A string field: strings as they are, numbers printed, missing as "".
pub fn field_str(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// An integer field: numbers, or strings holding one.
pub fn field_i64(v: &Value, key: &str) -> Option<i64> {
    match v.get(key) {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(Value::Bool(b)) => Some(i64::from(*b)),
        _ => None,
    }
}

fn field_u8(v: &Value, key: &str) -> u8 {
    field_i64(v, key)
        .and_then(|n| u8::try_from(n).ok())
        .unwrap_or(0)
}

fn parse_object(text: &str) -> Result<Value, FrameError> {
    let v: Value = serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
    if !v.is_object() {
        return Err(FrameError::NotJson("not an object".into()));
    }
    Ok(v)
}

fn obj(id: i64, fields: Value) -> Map<String, Value> {
    let mut m = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.insert("objectId".into(), json!(id));
    m
}

/// Token-bearing keys, replaced before a frame is logged.
const SECRET_KEYS: &[&str] = &[
    "authenToken",
    "userToken",
    "token",
    "token3C",
    "Authorization",
    "access_key",
    "password",
];

/// A frame as text for logs, with every token replaced.
pub fn redact(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut m)) => {
            for k in SECRET_KEYS {
                if let Some(v) = m.get_mut(*k) {
                    *v = json!("<redacted>");
                }
            }
            Value::Object(m).to_string()
        }
        _ => format!("<{} bytes, not a JSON object>", text.len()),
    }
}

impl ClientMsg {
    /// The frame, with `agentId` and `extension`.
    pub fn encode(&self, ids: &ObjectIds, from: &Sender) -> String {
        let mut m = self.to_map(ids);
        m.insert("agentId".into(), json!(from.agent_id));
        m.insert("extension".into(), json!(from.extension));
        Value::Object(m).to_string()
    }

    fn to_map(&self, ids: &ObjectIds) -> Map<String, Value> {
        match self {
            ClientMsg::Login {
                authen_token,
                user_token,
                init_call_channel,
            } => {
                let mut f = json!({
                    "authenToken": authen_token.as_ref().map(|s| s.expose()).unwrap_or(""),
                });
                if let Some(u) = user_token {
                    f["userToken"] = json!(u.expose());
                }
                if *init_call_channel {
                    f["initCallChannel"] = json!(1);
                }
                obj(ids.login, f)
            }
            ClientMsg::Keepalive => obj(ids.keepalive, json!({})),
            ClientMsg::ChangeCallStatus { available } => obj(
                ids.change_call_status,
                json!({"status": if *available { "AVAILABLE" } else { "NOT AVAILABLE" }}),
            ),
            ClientMsg::EnableVoice => obj(ids.enable_voice, json!({})),
            ClientMsg::ChangeDevice { device_type, phone } => obj(
                ids.change_device,
                json!({"deviceType": device_type, "phoneNum": phone}),
            ),
            ClientMsg::Hold {
                hold,
                outbound,
                call_id,
                call_type,
            } => {
                let id = match (hold, outbound) {
                    (true, false) => ids.hold,
                    (false, false) => ids.unhold,
                    (true, true) => ids.hold_outbound,
                    (false, true) => ids.unhold_outbound,
                };
                obj(id, json!({"callId": call_id, "callType": call_type}))
            }
            ClientMsg::Mute {
                mute,
                call_id,
                call_type,
            } => obj(
                if *mute { ids.mute } else { ids.unmute },
                json!({"callId": call_id, "callType": call_type}),
            ),
            ClientMsg::Hangup {
                kind,
                call_id,
                remove_agent_id,
            } => obj(
                match kind {
                    HangupKind::Inbound => ids.hangup_inbound,
                    HangupKind::Outbound => ids.hangup_outbound,
                    HangupKind::Internal => ids.hangup_internal,
                },
                json!({"callId": call_id, "removeAgentId": remove_agent_id}),
            ),
            ClientMsg::Callout { number } => obj(
                ids.callout,
                json!({"telephoneNumber": number, "ticketId": "", "callerId": ""}),
            ),
            ClientMsg::AgentSearch => obj(
                ids.agent_search,
                json!({"username": "", "agentStatus": "AVAILABLE", "callStatus": "READY",
                       "operation": "", "timeInStatus": ""}),
            ),
            ClientMsg::TransferAgent {
                call_id,
                new_agent_id,
                drop_agent_id,
            } => obj(
                ids.transfer_agent,
                json!({"callId": call_id, "newAgentId": new_agent_id, "dropAgentId": drop_agent_id}),
            ),
            ClientMsg::TransferConfirm {
                call_id,
                drop_agent_id,
                new_agent_id,
                ok,
            } => obj(
                ids.transfer_confirm,
                json!({"callId": call_id, "dropAgentId": drop_agent_id,
                       "newAgentId": new_agent_id, "status": if *ok { "OK" } else { "NOK" }}),
            ),
            ClientMsg::TransferAcd { call_id, acd_id } => obj(
                ids.transfer_acd,
                json!({"callId": call_id, "acdId": acd_id}),
            ),
        }
    }

    /// Server side: read a client frame, with who sent it.
    pub fn decode(ids: &ObjectIds, text: &str) -> Result<(Decoded<ClientMsg>, Sender), FrameError> {
        let v = parse_object(text)?;
        let from = Sender {
            agent_id: field_str(&v, "agentId"),
            extension: field_str(&v, "extension"),
        };
        let Some(id) = field_i64(&v, "objectId") else {
            return Ok((Decoded::NoObjectId, from));
        };
        let s = |k: &str| field_str(&v, k);
        let secret = |k: &str| {
            let t = field_str(&v, k);
            (!t.is_empty()).then(|| Secret::new(t))
        };
        let call_type = field_i64(&v, "callType").unwrap_or(1);
        let msg = if id == ids.login {
            ClientMsg::Login {
                authen_token: secret("authenToken"),
                user_token: secret("userToken"),
                init_call_channel: field_i64(&v, "initCallChannel") == Some(1),
            }
        } else if id == ids.keepalive {
            ClientMsg::Keepalive
        } else if id == ids.change_call_status {
            ClientMsg::ChangeCallStatus {
                available: s("status") == "AVAILABLE",
            }
        } else if id == ids.enable_voice {
            ClientMsg::EnableVoice
        } else if id == ids.change_device {
            ClientMsg::ChangeDevice {
                device_type: field_u8(&v, "deviceType"),
                phone: s("phoneNum"),
            }
        } else if [ids.hold, ids.unhold, ids.hold_outbound, ids.unhold_outbound].contains(&id) {
            ClientMsg::Hold {
                hold: id == ids.hold || id == ids.hold_outbound,
                outbound: id == ids.hold_outbound || id == ids.unhold_outbound,
                call_id: s("callId"),
                call_type,
            }
        } else if id == ids.mute || id == ids.unmute {
            ClientMsg::Mute {
                mute: id == ids.mute,
                call_id: s("callId"),
                call_type,
            }
        } else if [ids.hangup_inbound, ids.hangup_outbound, ids.hangup_internal].contains(&id) {
            ClientMsg::Hangup {
                kind: if id == ids.hangup_inbound {
                    HangupKind::Inbound
                } else if id == ids.hangup_outbound {
                    HangupKind::Outbound
                } else {
                    HangupKind::Internal
                },
                call_id: s("callId"),
                remove_agent_id: s("removeAgentId"),
            }
        } else if id == ids.callout {
            ClientMsg::Callout {
                number: s("telephoneNumber"),
            }
        } else if id == ids.agent_search {
            ClientMsg::AgentSearch
        } else if id == ids.transfer_agent {
            ClientMsg::TransferAgent {
                call_id: s("callId"),
                new_agent_id: s("newAgentId"),
                drop_agent_id: s("dropAgentId"),
            }
        } else if id == ids.transfer_confirm {
            ClientMsg::TransferConfirm {
                call_id: s("callId"),
                drop_agent_id: s("dropAgentId"),
                new_agent_id: s("newAgentId"),
                ok: s("status") == "OK",
            }
        } else if id == ids.transfer_acd {
            ClientMsg::TransferAcd {
                call_id: s("callId"),
                acd_id: s("acdId"),
            }
        } else {
            return Ok((Decoded::Unknown(id), from));
        };
        Ok((Decoded::Msg(msg), from))
    }
}

impl ServerMsg {
    pub fn encode(&self, ids: &ObjectIds) -> String {
        let m = match self {
            ServerMsg::Refresh {
                agent_status,
                is_voice_channel,
                device_type,
            } => obj(
                ids.login,
                json!({"agentStatus": agent_status, "isVoiceChannel": i64::from(*is_voice_channel),
                       "deviceType": device_type}),
            ),
            ServerMsg::LoginChannel { channel_id } => {
                obj(ids.login_channel, json!({"channelId": channel_id}))
            }
            ServerMsg::Keepalive => obj(ids.keepalive, json!({})),
            ServerMsg::CallStatusResult { status } => {
                obj(ids.call_status_result, json!({"status": status}))
            }
            ServerMsg::AgentStatusReload { agent_status } => obj(
                ids.agent_status_reload,
                json!({"agentStatus": agent_status}),
            ),
            ServerMsg::EnableVoiceAck => obj(ids.enable_voice_ack, json!({})),
            ServerMsg::VoiceEnabled {
                result,
                device_type,
            } => obj(
                ids.voice_enabled,
                json!({"result": result, "deviceType": device_type}),
            ),
            ServerMsg::VoiceDisabled => obj(ids.voice_disabled, json!({})),
            ServerMsg::ChangeDeviceResult {
                result,
                old_device_type,
                new_device_type,
            } => obj(
                ids.change_device_result,
                json!({"result": result, "oldDeviceType": old_device_type,
                       "newDeviceType": new_device_type}),
            ),
            ServerMsg::Ring(r) => obj(
                ids.ring,
                json!({"extension": r.extension, "callId": r.call_id, "caller": r.caller,
                       "line": r.line, "queueDescription": r.queue_description,
                       "callDirection": r.call_direction}),
            ),
            ServerMsg::AgentAnswer { extension, call_id } => obj(
                ids.agent_answer,
                json!({"extension": extension, "callId": call_id}),
            ),
            ServerMsg::AgentEnd { extension, call_id } => obj(
                ids.agent_end,
                json!({"extension": extension, "callId": call_id}),
            ),
            ServerMsg::HoldResult {
                hold,
                outbound,
                status,
                call_id,
            } => {
                let id = match (hold, outbound) {
                    (true, false) => ids.hold_result,
                    (false, false) => ids.unhold_result,
                    (true, true) => ids.hold_outbound_result,
                    (false, true) => ids.unhold_outbound_result,
                };
                obj(id, json!({"status": status, "callId": call_id}))
            }
            ServerMsg::MuteResult { mute, call_id } => obj(
                if *mute {
                    ids.mute_result
                } else {
                    ids.unmute_result
                },
                json!({"callId": call_id}),
            ),
            ServerMsg::HangupResult {
                call_id,
                status,
                super_agent,
                terminated_agent,
            } => obj(
                ids.hangup_result,
                json!({"callId": call_id, "status": status, "superAgent": super_agent,
                       "terminatedAgent": terminated_agent}),
            ),
            ServerMsg::CalloutStatus(c) => obj(
                ids.callout_status,
                json!({"status": c.status, "callId": c.call_id,
                       "telephoneNumber": c.telephone_number, "line": c.line,
                       "extension": c.extension, "errorCode": c.error_code,
                       "sipCode": c.sip_code}),
            ),
            ServerMsg::CallError { status } => obj(ids.call_error, json!({"status": status})),
            ServerMsg::InternalRing { call_id, called } => obj(
                ids.internal_ring,
                json!({"callId": call_id, "called": called}),
            ),
            ServerMsg::InternalEnd { call_id } => obj(ids.internal_end, json!({"callId": call_id})),
            ServerMsg::InternalAnswer { call_id } => {
                obj(ids.internal_answer, json!({"callId": call_id}))
            }
            ServerMsg::AgentSearchResult { agents } => {
                let list: Vec<Value> = agents
                    .iter()
                    .map(|a| {
                        json!({"ipphone": a.ipphone, "username": a.username,
                               "fullName": a.full_name, "agentStatus": a.agent_status,
                               "callStatus": a.call_status})
                    })
                    .collect();
                obj(ids.agent_search_result, json!({"listAgentSearch": list}))
            }
            ServerMsg::TransferAgentResult {
                call_id,
                drop_agent,
                new_agent,
                super_agent,
                status,
            } => obj(
                ids.transfer_agent_result,
                json!({"callId": call_id, "dropAgent": drop_agent, "newAgent": new_agent,
                       "superAgent": super_agent, "status": status}),
            ),
            ServerMsg::TransferOffer {
                call_id,
                drop_agent_id,
                new_agent_id,
            } => obj(
                ids.transfer_agent,
                json!({"callId": call_id, "dropAgentId": drop_agent_id,
                       "newAgentId": new_agent_id}),
            ),
            ServerMsg::TransferConfirm { call_id, status } => obj(
                ids.transfer_confirm,
                json!({"callId": call_id, "status": status}),
            ),
            ServerMsg::TransferAcdResult { status } => {
                obj(ids.transfer_acd_result, json!({"status": status}))
            }
        };
        Value::Object(m).to_string()
    }

    /// Client side: read a platform frame.
    pub fn decode(ids: &ObjectIds, text: &str) -> Result<Decoded<ServerMsg>, FrameError> {
        let v = parse_object(text)?;
        let Some(id) = field_i64(&v, "objectId") else {
            return Ok(Decoded::NoObjectId);
        };
        let s = |k: &str| field_str(&v, k);
        let msg = if id == ids.login {
            ServerMsg::Refresh {
                agent_status: s("agentStatus"),
                is_voice_channel: field_i64(&v, "isVoiceChannel") == Some(1),
                device_type: field_u8(&v, "deviceType"),
            }
        } else if id == ids.login_channel {
            ServerMsg::LoginChannel {
                channel_id: s("channelId"),
            }
        } else if id == ids.keepalive {
            ServerMsg::Keepalive
        } else if id == ids.call_status_result {
            ServerMsg::CallStatusResult {
                status: s("status"),
            }
        } else if id == ids.agent_status_reload {
            ServerMsg::AgentStatusReload {
                agent_status: s("agentStatus"),
            }
        } else if id == ids.enable_voice_ack {
            ServerMsg::EnableVoiceAck
        } else if id == ids.voice_enabled {
            ServerMsg::VoiceEnabled {
                result: field_i64(&v, "result").unwrap_or(0),
                device_type: field_u8(&v, "deviceType"),
            }
        } else if id == ids.voice_disabled {
            ServerMsg::VoiceDisabled
        } else if id == ids.change_device_result {
            ServerMsg::ChangeDeviceResult {
                result: field_i64(&v, "result").unwrap_or(0),
                old_device_type: field_u8(&v, "oldDeviceType"),
                new_device_type: field_u8(&v, "newDeviceType"),
            }
        } else if id == ids.ring {
            ServerMsg::Ring(RingMsg {
                extension: s("extension"),
                call_id: s("callId"),
                caller: s("caller"),
                line: s("line"),
                queue_description: s("queueDescription"),
                call_direction: field_i64(&v, "callDirection").unwrap_or(1),
            })
        } else if id == ids.agent_answer {
            ServerMsg::AgentAnswer {
                extension: s("extension"),
                call_id: s("callId"),
            }
        } else if id == ids.agent_end {
            ServerMsg::AgentEnd {
                extension: s("extension"),
                call_id: s("callId"),
            }
        } else if [
            ids.hold_result,
            ids.unhold_result,
            ids.hold_outbound_result,
            ids.unhold_outbound_result,
        ]
        .contains(&id)
        {
            ServerMsg::HoldResult {
                hold: id == ids.hold_result || id == ids.hold_outbound_result,
                outbound: id == ids.hold_outbound_result || id == ids.unhold_outbound_result,
                status: s("status"),
                call_id: s("callId"),
            }
        } else if id == ids.mute_result || id == ids.unmute_result {
            ServerMsg::MuteResult {
                mute: id == ids.mute_result,
                call_id: s("callId"),
            }
        } else if id == ids.hangup_result {
            ServerMsg::HangupResult {
                call_id: s("callId"),
                status: s("status"),
                super_agent: s("superAgent"),
                terminated_agent: s("terminatedAgent"),
            }
        } else if id == ids.callout_status {
            ServerMsg::CalloutStatus(CalloutStatusMsg {
                status: s("status"),
                call_id: s("callId"),
                telephone_number: s("telephoneNumber"),
                line: s("line"),
                extension: s("extension"),
                error_code: s("errorCode"),
                sip_code: s("sipCode"),
            })
        } else if id == ids.call_error {
            ServerMsg::CallError {
                status: s("status"),
            }
        } else if id == ids.internal_ring {
            ServerMsg::InternalRing {
                call_id: s("callId"),
                called: s("called"),
            }
        } else if id == ids.internal_end {
            ServerMsg::InternalEnd {
                call_id: s("callId"),
            }
        } else if id == ids.internal_answer {
            ServerMsg::InternalAnswer {
                call_id: s("callId"),
            }
        } else if id == ids.agent_search_result {
            let agents = v
                .get("listAgentSearch")
                .and_then(Value::as_array)
                .map(|list| list.iter().map(agent_entry).collect())
                .unwrap_or_default();
            ServerMsg::AgentSearchResult { agents }
        } else if id == ids.transfer_agent_result {
            ServerMsg::TransferAgentResult {
                call_id: s("callId"),
                drop_agent: s("dropAgent"),
                new_agent: s("newAgent"),
                super_agent: s("superAgent"),
                status: s("status"),
            }
        } else if id == ids.transfer_agent {
            ServerMsg::TransferOffer {
                call_id: s("callId"),
                drop_agent_id: s("dropAgentId"),
                new_agent_id: s("newAgentId"),
            }
        } else if id == ids.transfer_confirm {
            ServerMsg::TransferConfirm {
                call_id: s("callId"),
                status: s("status"),
            }
        } else if id == ids.transfer_acd_result {
            ServerMsg::TransferAcdResult {
                status: s("status"),
            }
        } else {
            return Ok(Decoded::Unknown(id));
        };
        Ok(Decoded::Msg(msg))
    }
}

/// `listAgentSearch` entries, whatever names the platform uses.
fn agent_entry(v: &Value) -> AgentEntry {
    let first = |keys: &[&str]| {
        keys.iter()
            .map(|k| field_str(v, k))
            .find(|s| !s.is_empty())
            .unwrap_or_default()
    };
    AgentEntry {
        ipphone: first(&["ipphone", "ipPhone", "extension", "agent_id", "agentId"]),
        username: first(&["username", "userName"]),
        full_name: first(&["fullName", "full_name", "fullname", "name", "username"]),
        agent_status: first(&["agentStatus"]),
        call_status: first(&["callStatus"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> ObjectIds {
        ObjectIds::default()
    }

    fn all_client() -> Vec<ClientMsg> {
        let c = || "c1".to_string();
        vec![
            ClientMsg::Login {
                authen_token: Some(Secret::new("t3c")),
                user_token: Some(Secret::new("jwt")),
                init_call_channel: true,
            },
            ClientMsg::Keepalive,
            ClientMsg::ChangeCallStatus { available: true },
            ClientMsg::ChangeCallStatus { available: false },
            ClientMsg::EnableVoice,
            ClientMsg::ChangeDevice {
                device_type: 3,
                phone: "0912345678".into(),
            },
            ClientMsg::Hold {
                hold: true,
                outbound: false,
                call_id: c(),
                call_type: 1,
            },
            ClientMsg::Hold {
                hold: false,
                outbound: false,
                call_id: c(),
                call_type: 3,
            },
            ClientMsg::Hold {
                hold: true,
                outbound: true,
                call_id: c(),
                call_type: 2,
            },
            ClientMsg::Hold {
                hold: false,
                outbound: true,
                call_id: c(),
                call_type: 2,
            },
            ClientMsg::Mute {
                mute: true,
                call_id: c(),
                call_type: 1,
            },
            ClientMsg::Mute {
                mute: false,
                call_id: c(),
                call_type: 1,
            },
            ClientMsg::Hangup {
                kind: HangupKind::Inbound,
                call_id: c(),
                remove_agent_id: "1001".into(),
            },
            ClientMsg::Hangup {
                kind: HangupKind::Outbound,
                call_id: c(),
                remove_agent_id: "1001".into(),
            },
            ClientMsg::Hangup {
                kind: HangupKind::Internal,
                call_id: c(),
                remove_agent_id: "1002".into(),
            },
            ClientMsg::Callout {
                number: "0912345678".into(),
            },
            ClientMsg::AgentSearch,
            ClientMsg::TransferAgent {
                call_id: c(),
                new_agent_id: "1002".into(),
                drop_agent_id: "1001".into(),
            },
            ClientMsg::TransferConfirm {
                call_id: c(),
                drop_agent_id: "1001".into(),
                new_agent_id: "1002".into(),
                ok: false,
            },
            ClientMsg::TransferAcd {
                call_id: c(),
                acd_id: "q1".into(),
            },
        ]
    }

    #[test]
    fn every_client_message_round_trips_with_agent_and_extension() {
        let from = Sender {
            agent_id: "an.nguyen".into(),
            extension: "1001".into(),
        };
        for m in all_client() {
            let text = m.encode(&ids(), &from);
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["agentId"], "an.nguyen", "{text}");
            assert_eq!(v["extension"], "1001", "{text}");
            let (back, who) = ClientMsg::decode(&ids(), &text).unwrap();
            assert_eq!(back, Decoded::Msg(m.clone()), "{text}");
            assert_eq!(who, from);
        }
    }

    #[test]
    fn wire_ids_and_shapes_match_the_protocol() {
        let from = Sender::default();
        let v = |m: ClientMsg| -> Value { serde_json::from_str(&m.encode(&ids(), &from)).unwrap() };
        assert_eq!(
            v(ClientMsg::Callout {
                number: "0912".into()
            }),
            json!({"objectId": 2032, "telephoneNumber": "0912", "ticketId": "", "callerId": "",
                   "agentId": "", "extension": ""})
        );
        let login = v(ClientMsg::Login {
            authen_token: Some(Secret::new("jwt")),
            user_token: None,
            init_call_channel: false,
        });
        assert_eq!(login["objectId"], 1010003);
        assert_eq!(login["authenToken"], "jwt");
        assert!(login.get("userToken").is_none() && login.get("initCallChannel").is_none());
        let hold_out = v(ClientMsg::Hold {
            hold: true,
            outbound: true,
            call_id: "x".into(),
            call_type: 2,
        });
        assert_eq!(hold_out["objectId"], 2055);
        assert_eq!(
            v(ClientMsg::Mute {
                mute: true,
                call_id: "x".into(),
                call_type: 1
            })["objectId"],
            2018
        );
        assert_eq!(
            v(ClientMsg::Mute {
                mute: false,
                call_id: "x".into(),
                call_type: 1
            })["objectId"],
            2017
        );
        assert_eq!(
            v(ClientMsg::Keepalive),
            json!({"objectId": 11111111, "agentId": "", "extension": ""})
        );
        assert_eq!(v(ClientMsg::AgentSearch)["callStatus"], "READY");
    }

    fn all_server() -> Vec<ServerMsg> {
        let c = || "c1".to_string();
        vec![
            ServerMsg::Refresh {
                agent_status: "AVAILABLE".into(),
                is_voice_channel: true,
                device_type: 4,
            },
            ServerMsg::LoginChannel {
                channel_id: "ch".into(),
            },
            ServerMsg::Keepalive,
            ServerMsg::CallStatusResult {
                status: "OK".into(),
            },
            ServerMsg::AgentStatusReload {
                agent_status: "NO ANSWER".into(),
            },
            ServerMsg::EnableVoiceAck,
            ServerMsg::VoiceEnabled {
                result: 1,
                device_type: 1,
            },
            ServerMsg::VoiceDisabled,
            ServerMsg::ChangeDeviceResult {
                result: 0,
                old_device_type: 4,
                new_device_type: 1,
            },
            ServerMsg::Ring(RingMsg {
                extension: "1001".into(),
                call_id: c(),
                caller: "0987".into(),
                line: "19001234".into(),
                queue_description: "Sales".into(),
                call_direction: 1,
            }),
            ServerMsg::AgentAnswer {
                extension: "1001".into(),
                call_id: c(),
            },
            ServerMsg::AgentEnd {
                extension: "1001".into(),
                call_id: c(),
            },
            ServerMsg::HoldResult {
                hold: true,
                outbound: false,
                status: "OK".into(),
                call_id: c(),
            },
            ServerMsg::HoldResult {
                hold: false,
                outbound: false,
                status: "OK".into(),
                call_id: c(),
            },
            ServerMsg::HoldResult {
                hold: true,
                outbound: true,
                status: "OK".into(),
                call_id: c(),
            },
            ServerMsg::HoldResult {
                hold: false,
                outbound: true,
                status: "IPCCERR0005".into(),
                call_id: c(),
            },
            ServerMsg::MuteResult {
                mute: true,
                call_id: c(),
            },
            ServerMsg::MuteResult {
                mute: false,
                call_id: c(),
            },
            ServerMsg::HangupResult {
                call_id: c(),
                status: "OK".into(),
                super_agent: "".into(),
                terminated_agent: "1001".into(),
            },
            ServerMsg::CalloutStatus(CalloutStatusMsg {
                status: "ERROR".into(),
                call_id: c(),
                telephone_number: "0912000486".into(),
                line: "".into(),
                extension: "1001".into(),
                error_code: "IPCC_NOT_CONNECT_CUSTOMER".into(),
                sip_code: "486".into(),
            }),
            ServerMsg::CallError {
                status: "IPCCERR0009".into(),
            },
            ServerMsg::InternalRing {
                call_id: c(),
                called: "1002".into(),
            },
            ServerMsg::InternalEnd { call_id: c() },
            ServerMsg::InternalAnswer { call_id: c() },
            ServerMsg::AgentSearchResult {
                agents: vec![AgentEntry {
                    ipphone: "1002".into(),
                    username: "binh".into(),
                    full_name: "Binh Tran".into(),
                    agent_status: "AVAILABLE".into(),
                    call_status: "READY".into(),
                }],
            },
            ServerMsg::TransferAgentResult {
                call_id: c(),
                drop_agent: "1001".into(),
                new_agent: "1002".into(),
                super_agent: "".into(),
                status: "OK".into(),
            },
            ServerMsg::TransferOffer {
                call_id: c(),
                drop_agent_id: "1001".into(),
                new_agent_id: "1002".into(),
            },
            ServerMsg::TransferConfirm {
                call_id: c(),
                status: "NOK".into(),
            },
            ServerMsg::TransferAcdResult {
                status: "OK".into(),
            },
        ]
    }

    #[test]
    fn every_server_message_round_trips() {
        for m in all_server() {
            let text = m.encode(&ids());
            assert_eq!(
                ServerMsg::decode(&ids(), &text).unwrap(),
                Decoded::Msg(m.clone()),
                "{text}"
            );
        }
    }

    #[test]
    fn callout_error_codes_are_strings_on_the_wire() {
        let text = all_server()
            .into_iter()
            .find(|m| matches!(m, ServerMsg::CalloutStatus(_)))
            .unwrap()
            .encode(&ids());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["sipCode"], json!("486"));
        assert_eq!(v["errorCode"], json!("IPCC_NOT_CONNECT_CUSTOMER"));
    }

    #[test]
    fn tolerant_decoding_unknown_ids_and_frames_without_id() {
        let d = ServerMsg::decode(
            &ids(),
            r#"{"objectId":"1511241004","result":"1","oldDeviceType":"4","newDeviceType":2}"#,
        )
        .unwrap();
        assert_eq!(
            d,
            Decoded::Msg(ServerMsg::ChangeDeviceResult {
                result: 1,
                old_device_type: 4,
                new_device_type: 2
            })
        );
        assert_eq!(
            ServerMsg::decode(&ids(), r#"{"objectId":424242,"x":1}"#).unwrap(),
            Decoded::Unknown(424242)
        );
        assert_eq!(
            ServerMsg::decode(&ids(), r#"{"callId":"x"}"#).unwrap(),
            Decoded::NoObjectId
        );
        assert!(ServerMsg::decode(&ids(), "[1]").is_err());
        let (d, _) = ClientMsg::decode(&ids(), r#"{"callId":"x","callType":2}"#).unwrap();
        assert_eq!(d, Decoded::NoObjectId);
        // Numeric call ids become strings.
        let d =
            ServerMsg::decode(&ids(), r#"{"objectId":1039,"extension":1001,"callId":77}"#).unwrap();
        assert_eq!(
            d,
            Decoded::Msg(ServerMsg::AgentAnswer {
                extension: "1001".into(),
                call_id: "77".into()
            })
        );
    }

    #[test]
    fn overridden_ids_are_used_both_ways() {
        let ids = ObjectIds {
            callout: 777,
            ..ObjectIds::default()
        };
        let text = ClientMsg::Callout { number: "1".into() }.encode(&ids, &Sender::default());
        assert!(text.contains("777"));
        assert!(matches!(
            ClientMsg::decode(&ids, &text).unwrap().0,
            Decoded::Msg(ClientMsg::Callout { .. })
        ));
    }

    #[test]
    fn redact_hides_tokens() {
        let text = ClientMsg::Login {
            authen_token: Some(Secret::new("SECRET-T3C")),
            user_token: Some(Secret::new("SECRET-JWT")),
            init_call_channel: true,
        }
        .encode(&ids(), &Sender::default());
        let r = redact(&text);
        assert!(!r.contains("SECRET"), "{r}");
        assert!(r.contains("1010003"));
        assert!(!format!("{:?}", ClientMsg::decode(&ids(), &text).unwrap()).contains("SECRET"));
    }
}
