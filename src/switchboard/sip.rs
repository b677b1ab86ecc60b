//! The switchboard's SIP side (VCC-PROTOCOL.md §4): a registrar for the
//! agents' device-1 phones over WebSocket (RFC 7118, subprotocol `sip`) at
//! `ws://{addr}/sip`, on the same port as REST and push, and the simulated
//! customer's end of device-1 calls: it INVITEs the agent's registration
//! with a WebRTC offer made by our own [`WebRtcSession`], speaks a tone and
//! records what the agent says.
//!
//! Why not rsipstack here: the platform side needs to send requests down
//! the WebSocket *the phone* opened (its Contact is a made-up `.invalid`
//! host), which is what Kamailio's `;alias` / flow tricks do. Over one
//! reliable connection per phone, a registrar and a UAC for a handful of
//! messages are short and fully in our hands: there are no retransmissions
//! on a reliable transport (RFC 3261 §17.1.1.2), so what remains is header
//! bookkeeping. The phone side (tongdai's `SipUa`) stays rsipstack's.
//!
//! ```text
//!  phone ──REGISTER──▶ 200 (binding; expires=0: un-REGISTER, logged)
//!  world ──Invite──▶ offer (ICE gathered) ──INVITE──▶ 100/180 ──200──▶ ACK ─▶ Answered
//!                                                    └─4xx-6xx──▶ ACK ─▶ Failed
//!  world ──Hangup──▶ BYE (or CANCEL while ringing)        phone ──BYE──▶ 200 ─▶ AgentBye
//! ```
//!
//! Passwords are not checked (VCC-PROTOCOL.md §7 does not know whether the
//! platform does); nothing secret is logged.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::log::EventLog;
use super::scenario::{Outcome, outcome_for};
use super::world::{WorldMsg, WsOut};
use crate::media::tone::ToneGen;
use crate::webrtc_media::{FRAME_SAMPLES, SAMPLE_RATE, WebRtcOptions, WebRtcSession};

pub(crate) type SipConnId = u64;

/// What the customer's end hears, per agent (the latest device-1 call).
pub type Heard = Arc<Mutex<HashMap<String, Vec<i16>>>>;

/// The simulated customer's voice on device-1 calls.
pub const CUSTOMER_TONE_HZ: f64 = 440.0;
/// At most this much of what the agent says is kept per agent.
const HEARD_MAX: usize = SAMPLE_RATE as usize * 30;
/// Registration lifetime granted at most.
const MAX_EXPIRES: u32 = 3600;

/// The world asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SipCmd {
    /// Ring `agent`'s latest registration with a call from `caller`.
    Invite {
        call_id: String,
        agent: String,
        caller: String,
    },
    /// End the SIP leg of `call_id`: BYE when up, CANCEL while ringing.
    Hangup { call_id: String },
}

/// What the SIP side tells the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SipNote {
    /// `agent` has (or no longer has) a device-1 registration.
    Registered { agent: String, registered: bool },
    /// The agent's phone answered (200, ACK sent).
    Answered { call_id: String },
    /// The agent's phone refused or could not be reached.
    Failed { call_id: String, code: u16 },
    /// The agent hung up (BYE).
    AgentBye { call_id: String },
}

pub(crate) enum SipMsg {
    Open {
        conn: SipConnId,
        tx: mpsc::UnboundedSender<WsOut>,
    },
    Frame {
        conn: SipConnId,
        text: String,
    },
    Gone {
        conn: SipConnId,
    },
    Cmd(SipCmd),
    Offer {
        call_id: String,
        made: Result<(WebRtcSession, String), String>,
    },
}

// ---- a small SIP message model (RFC 3261 §7) ----------------------------

#[derive(Debug, Clone)]
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn full_name(name: &str) -> String {
    let n = name.trim();
    let long = match n.to_ascii_lowercase().as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "c" => "content-type",
        "l" => "content-length",
        "k" => "supported",
        _ => return n.to_ascii_lowercase(),
    };
    long.to_string()
}

impl Message {
    fn parse(text: &str) -> Option<Message> {
        let (head, body) = match text.find("\r\n\r\n") {
            Some(i) => (&text[..i], &text[i + 4..]),
            None => (text.trim_end(), ""),
        };
        let mut lines = head.split("\r\n");
        let start = lines.next()?.trim().to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
        for l in lines {
            if l.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(l.trim());
                }
                continue;
            }
            let (k, v) = l.split_once(':')?;
            headers.push((full_name(k), v.trim().to_string()));
        }
        Some(Message {
            start,
            headers,
            body: body.to_string(),
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `Some(method)` for a request.
    fn method(&self) -> Option<&str> {
        if self.start.starts_with("SIP/") {
            None
        } else {
            self.start.split_whitespace().next()
        }
    }

    fn status(&self) -> Option<u16> {
        if !self.start.starts_with("SIP/") {
            return None;
        }
        self.start.split_whitespace().nth(1)?.parse().ok()
    }

    fn cseq_method(&self) -> String {
        self.get("cseq")
            .and_then(|c| c.split_whitespace().nth(1))
            .unwrap_or("")
            .to_ascii_uppercase()
    }
}

/// `;name=value` of a header value (outside the `<…>`).
fn param(value: &str, name: &str) -> Option<String> {
    let after = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value,
    };
    after.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// The URI of a name-addr (`"x" <sip:a@b>;tag=1` → `sip:a@b`).
fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if b > a => value[a + 1..b].to_string(),
        _ => value.split(';').next().unwrap_or(value).trim().to_string(),
    }
}

/// The user part of a URI (`sip:1003@host` → `1003`).
fn user_of(uri: &str) -> String {
    let u = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .unwrap_or(uri);
    u.split(['@', ';']).next().unwrap_or("").to_string()
}

fn token(n: usize) -> String {
    use rand::Rng;
    const ABC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ABC[rng.random_range(0..ABC.len())] as char)
        .collect()
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        180 => "Ringing",
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        _ => "Unknown",
    }
}

/// A response to `req` (RFC 3261 §8.2.6: Via, From, To, Call-ID, CSeq copied).
fn response(req: &Message, code: u16, to_tag: Option<&str>, extra: &[(&str, String)]) -> String {
    let mut s = format!("SIP/2.0 {code} {}\r\n", reason_phrase(code));
    for v in req.all("via") {
        s.push_str(&format!("Via: {v}\r\n"));
    }
    if let Some(f) = req.get("from") {
        s.push_str(&format!("From: {f}\r\n"));
    }
    if let Some(t) = req.get("to") {
        match to_tag {
            Some(tag) if param(t, "tag").is_none() => s.push_str(&format!("To: {t};tag={tag}\r\n")),
            _ => s.push_str(&format!("To: {t}\r\n")),
        }
    }
    for h in ["call-id", "cseq"] {
        if let Some(v) = req.get(h) {
            let name = if h == "call-id" { "Call-ID" } else { "CSeq" };
            s.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    for (k, v) in extra {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("Server: tongdai-switchboard\r\nContent-Length: 0\r\n\r\n");
    s
}

// ---- the hub ---------------------------------------------------------------

struct Binding {
    conn: SipConnId,
    contact: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DState {
    /// Making the WebRTC offer.
    Offering,
    /// INVITE sent, no final response yet.
    Inviting,
    Up,
}

struct Dialog {
    call_id: String,
    agent: String,
    conn: SipConnId,
    sip_call_id: String,
    local_tag: String,
    remote_tag: Option<String>,
    /// Request-URI for in-dialog requests (the phone's Contact).
    target: String,
    caller: String,
    /// The INVITE's Via (CANCEL and non-2xx ACK reuse it: RFC 3261 §9.1, §17.1.1.3).
    invite_via: String,
    to_uri: String,
    cseq: u32,
    state: DState,
    session: Option<WebRtcSession>,
    media: Option<CancellationToken>,
    /// The world asked to hang up before the offer was ready.
    hangup_pending: bool,
}

pub(crate) struct Hub {
    log: EventLog,
    /// `host:port` the switchboard listens on.
    addr: String,
    host: String,
    bind_ip: IpAddr,
    world: mpsc::UnboundedSender<WorldMsg>,
    me: mpsc::UnboundedSender<SipMsg>,
    conns: HashMap<SipConnId, mpsc::UnboundedSender<WsOut>>,
    /// agent → bindings, oldest first.
    bindings: HashMap<String, Vec<Binding>>,
    /// world call id → dialog.
    dialogs: HashMap<String, Dialog>,
    heard: Heard,
}

impl Hub {
    pub(crate) fn new(
        log: EventLog,
        addr: String,
        bind_ip: IpAddr,
        world: mpsc::UnboundedSender<WorldMsg>,
        me: mpsc::UnboundedSender<SipMsg>,
        heard: Heard,
    ) -> Hub {
        let host = addr
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or(addr.clone());
        Hub {
            log,
            addr,
            host,
            bind_ip,
            world,
            me,
            conns: HashMap::new(),
            bindings: HashMap::new(),
            dialogs: HashMap::new(),
            heard,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<SipMsg>,
        cancel: CancellationToken,
    ) {
        loop {
            let m = tokio::select! {
                _ = cancel.cancelled() => break,
                m = rx.recv() => m,
            };
            match m {
                None => break,
                Some(m) => self.handle(m),
            }
        }
        for d in self.dialogs.values() {
            if let Some(c) = &d.media {
                c.cancel();
            }
        }
        for tx in self.conns.values() {
            let _ = tx.send(WsOut::Close("the switchboard is shutting down".into()));
        }
    }

    fn note(&self, what: &str, agent: Option<&str>, detail: serde_json::Value) {
        self.log.note(what, agent, detail);
    }

    fn tell_world(&self, n: SipNote) {
        let _ = self.world.send(WorldMsg::Sip(n));
    }

    fn send(&self, conn: SipConnId, text: String) {
        if let Some(tx) = self.conns.get(&conn) {
            let _ = tx.send(WsOut::Text(text));
        }
    }

    fn handle(&mut self, m: SipMsg) {
        match m {
            SipMsg::Open { conn, tx } => {
                self.conns.insert(conn, tx);
                self.note("sip_connect", None, json!({"sip_conn": conn}));
            }
            SipMsg::Gone { conn } => self.gone(conn),
            SipMsg::Frame { conn, text } => match Message::parse(&text) {
                Some(msg) => self.message(conn, msg),
                None => self.note("sip_bad_message", None, json!({"sip_conn": conn})),
            },
            SipMsg::Cmd(SipCmd::Invite {
                call_id,
                agent,
                caller,
            }) => self.invite(call_id, agent, caller),
            SipMsg::Cmd(SipCmd::Hangup { call_id }) => self.hangup(&call_id),
            SipMsg::Offer { call_id, made } => self.offer_ready(call_id, made),
        }
    }

    fn gone(&mut self, conn: SipConnId) {
        self.conns.remove(&conn);
        let mut lost = Vec::new();
        for (agent, list) in self.bindings.iter_mut() {
            let before = list.len();
            list.retain(|b| b.conn != conn);
            if before > 0 && list.is_empty() {
                lost.push(agent.clone());
            }
        }
        self.bindings.retain(|_, l| !l.is_empty());
        self.note("sip_disconnect", None, json!({"sip_conn": conn}));
        for agent in lost {
            self.note(
                "sip_binding_lost",
                Some(&agent),
                json!({"sip_conn": conn, "reason": "the WebSocket closed"}),
            );
            self.tell_world(SipNote::Registered {
                agent,
                registered: false,
            });
        }
        let dead: Vec<String> = self
            .dialogs
            .values()
            .filter(|d| d.conn == conn)
            .map(|d| d.call_id.clone())
            .collect();
        for id in dead {
            if let Some(d) = self.dialogs.remove(&id) {
                if let Some(c) = &d.media {
                    c.cancel();
                }
                if d.state == DState::Up {
                    self.tell_world(SipNote::AgentBye { call_id: id });
                } else {
                    self.tell_world(SipNote::Failed {
                        call_id: id,
                        code: 480,
                    });
                }
            }
        }
    }

    fn message(&mut self, conn: SipConnId, msg: Message) {
        match msg.method().map(str::to_ascii_uppercase) {
            Some(m) => self.request(conn, &m, msg),
            None => self.response(conn, msg),
        }
    }

    // ---- requests from the phones ----------------------------------------

    fn request(&mut self, conn: SipConnId, method: &str, req: Message) {
        match method {
            "REGISTER" => self.register(conn, req),
            "BYE" => self.bye_from_phone(conn, req),
            "INFO" => {
                let digit = req.body.lines().find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("signal")
                        .then(|| v.trim().to_string())
                });
                let call = self
                    .call_of(&req)
                    .map(|d| (d.call_id.clone(), d.agent.clone()));
                let agent = call.as_ref().map(|c| c.1.clone());
                self.note(
                    "sip_dtmf",
                    agent.as_deref(),
                    json!({"call_id": call.map(|c| c.0), "digit": digit}),
                );
                self.send(conn, response(&req, 200, None, &[]));
            }
            "OPTIONS" => self.send(conn, response(&req, 200, None, &[])),
            "ACK" => {}
            "INVITE" => {
                // Internal calls from a console (1–7 digits): nobody here
                // takes them in SIP yet; say so the way a PBX does (480).
                // The call-out number plan's failing rows apply, so a test
                // can make one fail its way: `487` rings, then ends in a 487
                // the console never asked for, as when a proxy's timer C
                // CANCELs the ringing branch (RFC 3261 §16.8).
                let to = user_of(&req.get("to").map(uri_of).unwrap_or_default());
                let from = req.get("from").map(|f| user_of(&uri_of(f)));
                let (result, rings) = match outcome_for(&to) {
                    Outcome::Fails {
                        sip_code, rings, ..
                    } => match sip_code.parse::<u16>() {
                        Ok(c) if (400..700).contains(&c) => (c, rings),
                        _ => (480, false),
                    },
                    _ => (480, false),
                };
                self.note(
                    "sip_internal_call",
                    from.as_deref(),
                    json!({"to": to, "result": result}),
                );
                let tag = token(10);
                if rings {
                    self.send(conn, response(&req, 180, Some(&tag), &[]));
                }
                self.send(conn, response(&req, result, Some(&tag), &[]));
            }
            "CANCEL" => self.send(conn, response(&req, 481, None, &[])),
            _ => self.send(
                conn,
                response(
                    &req,
                    405,
                    None,
                    &[(
                        "Allow",
                        "REGISTER, INVITE, ACK, BYE, CANCEL, INFO, OPTIONS".into(),
                    )],
                ),
            ),
        }
    }

    fn register(&mut self, conn: SipConnId, req: Message) {
        let to = req.get("to").map(uri_of).unwrap_or_default();
        let agent = user_of(&to);
        let contact_h = req.get("contact").unwrap_or("").to_string();
        let contact = uri_of(&contact_h);
        let expires = param(&contact_h, "expires")
            .or_else(|| req.get("expires").map(str::to_string))
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(600)
            .min(MAX_EXPIRES);
        let tag = token(10);
        if agent.is_empty() {
            return self.send(conn, response(&req, 404, Some(&tag), &[]));
        }
        let list = self.bindings.entry(agent.clone()).or_default();
        let had = !list.is_empty();
        if expires == 0 || contact_h.trim() == "*" {
            list.retain(|b| !(contact_h.trim() == "*" || b.contact == contact));
            let left = list.len();
            if left == 0 {
                self.bindings.remove(&agent);
            }
            self.note(
                "sip_unregister",
                Some(&agent),
                json!({"sip_conn": conn, "contact": contact, "bindings_left": left}),
            );
            self.send(conn, response(&req, 200, Some(&tag), &[]));
            if had && left == 0 {
                self.tell_world(SipNote::Registered {
                    agent,
                    registered: false,
                });
            }
            return;
        }
        let fresh = !list.iter().any(|b| b.contact == contact);
        list.retain(|b| b.contact != contact);
        list.push(Binding {
            conn,
            contact: contact.clone(),
        });
        if fresh {
            self.note(
                "sip_register",
                Some(&agent),
                json!({"sip_conn": conn, "contact": contact, "expires": expires}),
            );
        }
        self.send(
            conn,
            response(
                &req,
                200,
                Some(&tag),
                &[
                    ("Contact", format!("<{contact}>;expires={expires}")),
                    ("Expires", expires.to_string()),
                ],
            ),
        );
        if !had {
            self.tell_world(SipNote::Registered {
                agent,
                registered: true,
            });
        }
    }

    fn call_of(&self, msg: &Message) -> Option<&Dialog> {
        let cid = msg.get("call-id")?;
        self.dialogs.values().find(|d| d.sip_call_id == cid)
    }

    fn bye_from_phone(&mut self, conn: SipConnId, req: Message) {
        let id = self.call_of(&req).map(|d| d.call_id.clone());
        let Some(id) = id else {
            return self.send(conn, response(&req, 481, None, &[]));
        };
        self.send(conn, response(&req, 200, None, &[]));
        if let Some(d) = self.dialogs.remove(&id) {
            if let Some(c) = &d.media {
                c.cancel();
            }
            self.note(
                "sip_bye",
                Some(&d.agent),
                json!({"call_id": id, "from": "agent"}),
            );
        }
        self.tell_world(SipNote::AgentBye { call_id: id });
    }

    // ---- our calls to the phones -------------------------------------------

    fn invite(&mut self, call_id: String, agent: String, caller: String) {
        let Some(b) = self.bindings.get(&agent).and_then(|l| l.last()) else {
            self.note(
                "sip_invite_failed",
                Some(&agent),
                json!({"call_id": call_id, "reason": "not registered"}),
            );
            return self.tell_world(SipNote::Failed { call_id, code: 480 });
        };
        let d = Dialog {
            call_id: call_id.clone(),
            agent: agent.clone(),
            conn: b.conn,
            sip_call_id: format!("{}@switchboard", token(16)),
            local_tag: token(10),
            remote_tag: None,
            target: b.contact.clone(),
            caller,
            invite_via: format!(
                "SIP/2.0/WS {}.invalid;branch=z9hG4bK{}",
                token(8),
                token(16)
            ),
            to_uri: format!("sip:{agent}@{}", self.host),
            cseq: 1,
            state: DState::Offering,
            session: None,
            media: None,
            hangup_pending: false,
        };
        self.dialogs.insert(call_id.clone(), d);
        let opts = WebRtcOptions {
            bind_ip: self.bind_ip,
            include_loopback: true,
            ..WebRtcOptions::default()
        };
        let me = self.me.clone();
        tokio::spawn(async move {
            let made = WebRtcSession::offer(opts).await.map_err(|e| e.to_string());
            let _ = me.send(SipMsg::Offer { call_id, made });
        });
    }

    fn offer_ready(&mut self, call_id: String, made: Result<(WebRtcSession, String), String>) {
        let Some(d) = self.dialogs.get_mut(&call_id) else {
            return;
        };
        if d.hangup_pending {
            self.dialogs.remove(&call_id);
            return;
        }
        let (session, sdp) = match made {
            Ok(x) => x,
            Err(e) => {
                let agent = d.agent.clone();
                self.dialogs.remove(&call_id);
                self.note(
                    "sip_invite_failed",
                    Some(&agent),
                    json!({"call_id": call_id, "reason": e}),
                );
                return self.tell_world(SipNote::Failed { call_id, code: 500 });
            }
        };
        d.session = Some(session);
        d.state = DState::Inviting;
        let text = format!(
            "INVITE {target} SIP/2.0\r\n\
             Via: {via}\r\n\
             Max-Forwards: 70\r\n\
             From: \"{caller}\" <sip:{caller}@{host}>;tag={tag}\r\n\
             To: <{to}>\r\n\
             Call-ID: {cid}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:switchboard@{addr};transport=ws>\r\n\
             Allow: INVITE, ACK, CANCEL, BYE, INFO, OPTIONS\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {len}\r\n\r\n{sdp}",
            target = d.target,
            via = d.invite_via,
            caller = d.caller,
            host = self.host,
            tag = d.local_tag,
            to = d.to_uri,
            cid = d.sip_call_id,
            addr = self.addr,
            len = sdp.len(),
        );
        let (conn, agent, caller) = (d.conn, d.agent.clone(), d.caller.clone());
        self.note(
            "sip_invite",
            Some(&agent),
            json!({"call_id": call_id, "caller": caller, "webrtc": true}),
        );
        self.send(conn, text);
    }

    /// An in-dialog request from us (BYE, ACK for a 2xx).
    fn in_dialog(d: &Dialog, method: &str, cseq: u32) -> String {
        format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/WS {host}.invalid;branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 70\r\n\
             From: \"{caller}\" <sip:{caller}@{domain}>;tag={tag}\r\n\
             To: <{to}>{rtag}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} {method}\r\n\
             Content-Length: 0\r\n\r\n",
            target = d.target,
            host = token(8),
            branch = token(16),
            caller = d.caller,
            domain = d.to_uri.rsplit_once('@').map(|(_, h)| h).unwrap_or(""),
            tag = d.local_tag,
            to = d.to_uri,
            rtag = d
                .remote_tag
                .as_ref()
                .map(|t| format!(";tag={t}"))
                .unwrap_or_default(),
            cid = d.sip_call_id,
        )
    }

    /// CANCEL or the ACK of a non-2xx: same Via branch as the INVITE.
    fn same_transaction(d: &Dialog, method: &str, to_tag: Option<&str>) -> String {
        format!(
            "{method} {target} SIP/2.0\r\n\
             Via: {via}\r\n\
             Max-Forwards: 70\r\n\
             From: \"{caller}\" <sip:{caller}@{domain}>;tag={tag}\r\n\
             To: <{to}>{rtag}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: 1 {method}\r\n\
             Content-Length: 0\r\n\r\n",
            target = d.target,
            via = d.invite_via,
            caller = d.caller,
            domain = d.to_uri.rsplit_once('@').map(|(_, h)| h).unwrap_or(""),
            tag = d.local_tag,
            to = d.to_uri,
            rtag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default(),
            cid = d.sip_call_id,
        )
    }

    fn response(&mut self, conn: SipConnId, resp: Message) {
        let Some(code) = resp.status() else { return };
        let method = resp.cseq_method();
        let id = self.call_of(&resp).map(|d| d.call_id.clone());
        let Some(id) = id else { return };
        if method != "INVITE" {
            // 200 to our BYE or CANCEL: nothing more to do.
            return;
        }
        let to_tag = resp.get("to").and_then(|t| param(t, "tag"));
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if code < 200 {
            if code == 180 || code == 183 {
                let agent = d.agent.clone();
                self.note(
                    "sip_ringing",
                    Some(&agent),
                    json!({"call_id": id, "code": code}),
                );
            }
            return;
        }
        if d.state != DState::Inviting {
            // A retransmitted 200: ACK it again.
            if (200..300).contains(&code) && d.state == DState::Up {
                let ack = Self::in_dialog(d, "ACK", 1);
                self.send(conn, ack);
            }
            return;
        }
        if (200..300).contains(&code) {
            d.remote_tag = to_tag;
            if let Some(c) = resp.get("contact") {
                d.target = uri_of(c);
            }
            d.state = DState::Up;
            let ack = Self::in_dialog(d, "ACK", 1);
            let agent = d.agent.clone();
            let session = d.session.take();
            let cancel = CancellationToken::new();
            d.media = Some(cancel.clone());
            self.send(conn, ack);
            self.note("sip_answered", Some(&agent), json!({"call_id": id}));
            if let Some(s) = session {
                if let Ok(mut h) = self.heard.lock() {
                    h.insert(agent.clone(), Vec::new());
                }
                tokio::spawn(customer_media(
                    s,
                    resp.body.clone(),
                    agent,
                    self.heard.clone(),
                    cancel,
                    self.log.clone(),
                ));
            }
            self.tell_world(SipNote::Answered { call_id: id });
        } else {
            let ack = Self::same_transaction(d, "ACK", to_tag.as_deref());
            let agent = d.agent.clone();
            self.dialogs.remove(&id);
            self.send(conn, ack);
            self.note(
                "sip_invite_failed",
                Some(&agent),
                json!({"call_id": id, "code": code}),
            );
            self.tell_world(SipNote::Failed { call_id: id, code });
        }
    }

    fn hangup(&mut self, call_id: &str) {
        let Some(d) = self.dialogs.get_mut(call_id) else {
            return;
        };
        match d.state {
            DState::Offering => {
                d.hangup_pending = true;
            }
            DState::Inviting => {
                // CANCEL; the phone answers 487 and the INVITE's final
                // response comes back through `response`, which ACKs it.
                let text = Self::same_transaction(d, "CANCEL", None);
                let (conn, agent) = (d.conn, d.agent.clone());
                self.send(conn, text);
                self.note("sip_cancel", Some(&agent), json!({"call_id": call_id}));
            }
            DState::Up => {
                d.cseq += 1;
                let text = Self::in_dialog(d, "BYE", d.cseq);
                let (conn, agent) = (d.conn, d.agent.clone());
                if let Some(c) = &d.media {
                    c.cancel();
                }
                self.dialogs.remove(call_id);
                self.send(conn, text);
                self.note(
                    "sip_bye",
                    Some(&agent),
                    json!({"call_id": call_id, "from": "switchboard"}),
                );
            }
        }
    }
}

/// The simulated customer's media: apply the phone's answer, speak a tone
/// (paced, 20 ms frames) and keep what arrives.
async fn customer_media(
    mut session: WebRtcSession,
    answer: String,
    agent: String,
    heard: Heard,
    cancel: CancellationToken,
    log: EventLog,
) {
    if let Err(e) = session.apply_answer(&answer).await {
        log.note(
            "sip_media_failed",
            Some(&agent),
            json!({"reason": e.to_string()}),
        );
        return;
    }
    let Some(io) = session.take_io() else {
        return;
    };
    let to_peer = io.to_peer;
    let mut from_peer = io.from_peer;
    let mut events = io.events;
    let mut tone = ToneGen::sine(&[CUSTOMER_TONE_HZ], 0.3, SAMPLE_RATE);
    let mut frame = vec![0i16; FRAME_SAMPLES];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut first = true;
    let mut events_open = true;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {
                tone.fill(&mut frame);
                if let Err(mpsc::error::TrySendError::Closed(_)) = to_peer.try_send(frame.clone()) {
                    break;
                }
            }
            f = from_peer.recv() => match f {
                Some(f) => {
                    if first {
                        first = false;
                        log.note("sip_first_audio", Some(&agent), json!({}));
                    }
                    if let Ok(mut h) = heard.lock() {
                        let v = h.entry(agent.clone()).or_default();
                        v.extend_from_slice(&f);
                        if v.len() > HEARD_MAX {
                            let cut = v.len() - HEARD_MAX;
                            v.drain(..cut);
                        }
                    }
                }
                None => break,
            },
            e = events.recv(), if events_open => match e {
                Some(e) => tracing::debug!(?e, "switchboard: customer media"),
                None => events_open = false,
            },
        }
    }
    session.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_answers_a_register() {
        let text = "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bK1\r\n\
                    From: <sip:1003@127.0.0.1>;tag=x\r\nTo: <sip:1003@127.0.0.1>\r\n\
                    Call-ID: c1\r\nCSeq: 2 REGISTER\r\n\
                    m: <sip:1003@abc.invalid;transport=ws>;expires=0\r\nContent-Length: 0\r\n\r\n";
        let m = Message::parse(text).expect("parses");
        assert_eq!(m.method(), Some("REGISTER"));
        assert_eq!(
            uri_of(m.get("contact").expect("contact")),
            "sip:1003@abc.invalid;transport=ws"
        );
        assert_eq!(
            param(m.get("contact").expect("contact"), "expires").as_deref(),
            Some("0")
        );
        assert_eq!(user_of(&uri_of(m.get("to").expect("to"))), "1003");
        let r = response(&m, 200, Some("t1"), &[]);
        assert!(r.starts_with("SIP/2.0 200 OK\r\n"), "{r}");
        assert!(r.contains("To: <sip:1003@127.0.0.1>;tag=t1\r\n"), "{r}");
        assert!(r.contains("CSeq: 2 REGISTER\r\n"), "{r}");
        let back = Message::parse(&r).expect("parses");
        assert_eq!(back.status(), Some(200));
        assert_eq!(back.cseq_method(), "REGISTER");
    }
}
