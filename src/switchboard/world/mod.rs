//! The simulated call center: one task owns every agent, console
//! connection, call and timer, and answers push frames the way the VCC
//! platform does (VCC-PROTOCOL.md §2, §6).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::log::EventLog;
use super::scenario::{AgentSpec, Bot, Outcome, Scenario, Timing, outcome_for};
use super::sip::{SipCmd, SipMsg, SipNote};
use crate::backends::vcc::jwt;
use crate::backends::vcc::object_id::{
    AgentEntry, CalloutStatusMsg, ClientMsg, Decoded, HangupKind, ObjectIds, RingMsg, Sender,
    ServerMsg, field_i64, redact,
};
use crate::call::vcc::normalise_mobile;
use crate::secret::Secret;

pub(crate) type ConnId = u64;

pub(crate) enum WsOut {
    Text(String),
    Close(String),
}

pub(crate) enum WorldMsg {
    Open {
        conn: ConnId,
        tx: mpsc::UnboundedSender<WsOut>,
    },
    Frame {
        conn: ConnId,
        text: String,
    },
    Gone {
        conn: ConnId,
    },
    Control(Control),
    /// From the SIP side (device-1 phones).
    Sip(SipNote),
}

/// What a test or the demo can make happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// A customer calls `agent` (or the first idle, available agent).
    Ring {
        agent: Option<String>,
        caller: Option<String>,
        line: Option<String>,
        queue: Option<String>,
    },
    /// The agent's desk phone or mobile picks up the ringing call.
    AnswerOnPhone { agent: String },
    /// The customer (or colleague) on the agent's call hangs up.
    CustomerHangup { agent: String },
    /// A supervisor ends the agent's call.
    SupervisorHangup { agent: String, supervisor: String },
    /// Colleague `from` calls `agent` internally.
    InternalRing { agent: String, from: String },
    /// Simulated colleague `from` offers one of its calls to `to`.
    TransferFromColleague { from: String, to: String },
    /// Close every push connection of `agent` (a network drop).
    DropConnections { agent: String },
    /// As `DropConnections`, but the platform does not notice at once: the
    /// dropped connection still counts as the voice holder, so the agent's
    /// next login is told it does not hold voice (until it claims it).
    DropConnectionsUnnoticed { agent: String },
    /// Send `11111111` to every connection now.
    Ping,
    /// Set every agent's status (`AVAILABLE`, `NOT AVAILABLE`, …) and tell
    /// every logged-in console at once with 1020: the whole team switched
    /// by a supervisor, and the fan-out figure of `benches/consoles.sh`.
    StatusAll { status: String },
}

/// What the HTTP side and the world share.
pub(crate) struct Shared {
    pub domain: String,
    pub key: Secret,
    pub utc_offset_min: i32,
    pub agents: Vec<AgentSpec>,
    /// `token3C` handed out by newer discovery → extension.
    pub token3c: std::sync::Mutex<HashMap<String, String>>,
    /// Refuse this many `thirdParty/login` calls (to exercise the retry).
    pub refuse_logins: AtomicU32,
    pub log: EventLog,
    /// `host:port` the switchboard listens on.
    pub addr: String,
}

impl Shared {
    /// The extension a JWT names, if it is valid and the agent exists.
    pub fn check_jwt(&self, token: &str) -> Result<String, String> {
        let claims = jwt::verify(&self.key, token, SystemTime::now(), self.utc_offset_min)
            .map_err(|e| e.to_string())?;
        if self.agents.iter().any(|a| a.ipphone == claims.ipphone) {
            Ok(claims.ipphone)
        } else {
            Err(format!("no agent with ipphone {}", claims.ipphone))
        }
    }

    pub fn agent(&self, ipphone: &str) -> Option<&AgentSpec> {
        self.agents.iter().find(|a| a.ipphone == ipphone)
    }
}

struct Agent {
    spec: AgentSpec,
    status: String,
    device: u8,
    mobile: String,
    voice: Option<ConnId>,
    call: Option<String>,
}

struct Conn {
    tx: mpsc::UnboundedSender<WsOut>,
    agent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Inbound,
    Outbound,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CState {
    Starting,
    Ringing,
    Talking,
}

struct Call {
    id: String,
    agent: String,
    kind: Kind,
    customer: String,
    line: String,
    queue: String,
    state: CState,
    held: bool,
    muted: bool,
    /// The extension the platform named for this call (`removeAgentId`).
    leg_ext: String,
    outcome: Outcome,
    /// A transfer offered to this agent, waiting for an answer.
    transfer_to: Option<String>,
    /// The agent's device-1 phone has (or is being rung for) a SIP leg.
    sip_leg: bool,
}

enum Timer {
    CustomerRinging(String),
    CustomerAnswers(String),
    CalloutFails(String),
    CustomerHangsUp(String),
    CallerGivesUp(String),
    DeskAnswer(String),
    OfferExpired(String),
    BotReply(String),
    Ping,
    AutoRing,
}

pub(crate) struct World {
    shared: Arc<Shared>,
    ids: ObjectIds,
    timing: Timing,
    scenario: Scenario,
    agents: BTreeMap<String, Agent>,
    conns: HashMap<ConnId, Conn>,
    calls: HashMap<String, Call>,
    timers: Vec<(Instant, Timer)>,
    next_call: u64,
    turn: usize,
    sip: mpsc::UnboundedSender<SipMsg>,
    /// Agents with a device-1 SIP registration.
    sip_registered: std::collections::HashSet<String>,
    /// Dropped connections whose going the platform has not noticed: they
    /// keep the voice channel they held.
    unnoticed: std::collections::HashSet<ConnId>,
}

fn status_word(available: bool) -> String {
    if available {
        "AVAILABLE".into()
    } else {
        "NOT AVAILABLE".into()
    }
}

impl World {
    pub(crate) fn new(
        shared: Arc<Shared>,
        scenario: Scenario,
        timing: Timing,
        sip: mpsc::UnboundedSender<SipMsg>,
    ) -> World {
        let agents = scenario
            .agents
            .iter()
            .map(|s| {
                (
                    s.ipphone.clone(),
                    Agent {
                        spec: s.clone(),
                        status: status_word(s.available),
                        device: s.device,
                        mobile: s.mobile.clone(),
                        voice: None,
                        call: None,
                    },
                )
            })
            .collect();
        World {
            shared,
            ids: ObjectIds::default(),
            timing,
            scenario,
            agents,
            conns: HashMap::new(),
            calls: HashMap::new(),
            timers: Vec::new(),
            next_call: 1,
            turn: 0,
            sip,
            sip_registered: Default::default(),
            unnoticed: Default::default(),
        }
    }

    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<WorldMsg>,
        cancel: CancellationToken,
    ) {
        let now = Instant::now();
        self.timers
            .push((now + self.timing.ping_interval, Timer::Ping));
        if let Some(every) = self.timing.auto_ring {
            // The first customer comes soon after start, so a newcomer
            // sees a ring (and its popup) within seconds of `tongdai demo`.
            let first = every.min(Duration::from_secs(10));
            self.timers.push((now + first, Timer::AutoRing));
        }
        loop {
            let next = self.timers.iter().map(|t| t.0).min();
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                m = rx.recv() => match m {
                    None => break,
                    Some(m) => self.handle(m),
                },
                _ = sleep => self.fire(Instant::now()),
            }
        }
        for c in self.conns.values() {
            let _ =
                c.tx.send(WsOut::Close("the switchboard is shutting down".into()));
        }
    }

    fn log(&self) -> &EventLog {
        &self.shared.log
    }

    fn after(&mut self, d: Duration, t: Timer) {
        self.timers.push((Instant::now() + d, t));
    }

    fn new_call_id(&mut self, prefix: &str) -> String {
        let n = self.next_call;
        self.next_call += 1;
        format!("{prefix}-{n}")
    }

    fn pick<'a>(&mut self, list: &'a [String], fallback: &'a str) -> &'a str {
        self.turn += 1;
        if list.is_empty() {
            fallback
        } else {
            &list[self.turn % list.len()]
        }
    }

    // ---- wire -------------------------------------------------------------

    fn out(&self, conn: ConnId, msg: ServerMsg) {
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
    fn to_voice(&self, agent: &str, msg: ServerMsg) {
        if let Some(conn) = self.agents.get(agent).and_then(|a| a.voice) {
            self.out(conn, msg);
        }
    }

    fn handle(&mut self, m: WorldMsg) {
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

    fn frame(&mut self, conn: ConnId, text: &str) {
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

    fn login(
        &mut self,
        conn: ConnId,
        authen: Option<Secret>,
        user: Option<Secret>,
        init_call_channel: bool,
        from: &Sender,
    ) {
        let who = match self.authenticate(authen.as_ref(), user.as_ref()) {
            Ok(ip) => ip,
            Err(reason) => {
                self.log().note(
                    "login_refused",
                    None,
                    json!({"conn": conn, "reason": reason}),
                );
                if let Some(c) = self.conns.get(&conn) {
                    let _ = c.tx.send(WsOut::Close(format!("login refused: {reason}")));
                }
                return;
            }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.agent = Some(who.clone());
        }
        let Some(a) = self.agents.get_mut(&who) else {
            return;
        };
        // The voice channel goes to a new login only when nobody holds it.
        let granted = if a.voice.is_none() {
            a.voice = Some(conn);
            true
        } else {
            false
        };
        let (status, device, is_voice) = (a.status.clone(), a.device, a.voice == Some(conn));
        self.log().note(
            "login",
            Some(&who),
            json!({"conn": conn, "voice": is_voice, "device": device,
                   "newer": init_call_channel || user.is_some(), "agentId": from.agent_id}),
        );
        if granted {
            self.log()
                .note("voice_granted", Some(&who), json!({"conn": conn}));
        }
        self.out(
            conn,
            ServerMsg::Refresh {
                agent_status: status,
                is_voice_channel: is_voice,
                device_type: device,
            },
        );
        self.out(
            conn,
            ServerMsg::LoginChannel {
                channel_id: format!("ch-{conn}"),
            },
        );
    }

    fn authenticate(
        &self,
        authen: Option<&Secret>,
        user: Option<&Secret>,
    ) -> Result<String, String> {
        let Some(a) = authen else {
            return Err("no authenToken".into());
        };
        let by_3c = self
            .shared
            .token3c
            .lock()
            .ok()
            .and_then(|m| m.get(a.expose()).cloned());
        let ip = match by_3c {
            Some(ip) => ip,
            None => self.shared.check_jwt(a.expose())?,
        };
        if let Some(u) = user {
            let uip = self.shared.check_jwt(u.expose())?;
            if uip != ip {
                return Err("userToken and authenToken name different agents".into());
            }
        }
        Ok(ip)
    }

    fn enable_voice(&mut self, conn: ConnId, ip: &str) {
        self.out(conn, ServerMsg::EnableVoiceAck);
        let Some(a) = self.agents.get_mut(ip) else {
            return;
        };
        let prev = a.voice.replace(conn);
        let device = a.device;
        if let Some(p) = prev
            && p != conn
        {
            self.out(p, ServerMsg::VoiceDisabled);
            self.log()
                .note("voice_moved", Some(ip), json!({"from": p, "to": conn}));
        } else if prev.is_none() {
            self.log()
                .note("voice_granted", Some(ip), json!({"conn": conn}));
        }
        self.out(
            conn,
            ServerMsg::VoiceEnabled {
                result: 1,
                device_type: device,
            },
        );
    }

    fn change_device(&mut self, conn: ConnId, ip: &str, new: u8, phone: &str) {
        let Some(a) = self.agents.get_mut(ip) else {
            return;
        };
        let old = a.device;
        let mobile = if phone.is_empty() {
            Some(a.mobile.clone()).filter(|m| !m.is_empty())
        } else {
            normalise_mobile(phone)
        };
        let ok = a.spec.allowed_devices.contains(&new)
            && a.call.is_none()
            && (new != 3 || mobile.is_some());
        if ok {
            a.device = new;
            if new == 3
                && let Some(m) = mobile
            {
                a.mobile = m;
            }
        }
        self.log().note(
            "device_change",
            Some(ip),
            json!({"from": old, "to": new, "result": i64::from(ok), "conn": conn}),
        );
        self.out(
            conn,
            ServerMsg::ChangeDeviceResult {
                result: i64::from(ok),
                old_device_type: old,
                new_device_type: new,
            },
        );
    }

    fn own_call(&self, ip: &str, call_id: &str) -> Option<&Call> {
        self.calls.get(call_id).filter(|c| c.agent == ip)
    }

    fn hold(&mut self, conn: ConnId, ip: &str, hold: bool, outbound: bool, call_id: &str) {
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

    fn mute(&mut self, conn: ConnId, ip: &str, mute: bool, call_id: &str) {
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

    fn hangup(&mut self, conn: ConnId, ip: &str, kind: HangupKind, call_id: &str, remove: &str) {
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
    fn end_call(&mut self, call_id: &str, cause: &str) {
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

    fn callout(&mut self, conn: ConnId, ip: &str, number: &str) {
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

    fn transfer_agent(&mut self, conn: ConnId, ip: &str, call_id: &str, to: &str, drop: &str) {
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

    fn complete_transfer(&mut self, call_id: &str, ok: bool) {
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

    // ---- the device-1 SIP leg ---------------------------------------------------

    fn sip_cmd(&self, c: SipCmd) {
        let _ = self.sip.send(SipMsg::Cmd(c));
    }

    fn end_sip_leg(&self, c: &Call) {
        if c.sip_leg {
            self.sip_cmd(SipCmd::Hangup {
                call_id: c.id.clone(),
            });
        }
    }

    fn sip_note(&mut self, n: SipNote) {
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

    // ---- controls and timers -------------------------------------------------

    fn control(&mut self, c: Control) {
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

    fn drop_connections(&mut self, agent: &str, unnoticed: bool) {
        for (&id, c) in &self.conns {
            if c.agent.as_deref() == Some(agent) {
                if unnoticed {
                    self.unnoticed.insert(id);
                }
                let _ = c.tx.send(WsOut::Close("dropped by the switchboard".into()));
            }
        }
    }

    fn ring(
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

    fn desk_answer(&mut self, call_id: &str) {
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

    fn fire(&mut self, now: Instant) {
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.timers)
            .into_iter()
            .partition(|t| t.0 <= now);
        self.timers = rest;
        for (_, t) in due {
            self.timer(t);
        }
    }

    fn callout_msg(&self, c: &Call, status: &str, code: &str, sip: &str) -> ServerMsg {
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

    fn timer(&mut self, t: Timer) {
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
