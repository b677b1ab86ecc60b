//! Protocol v1 of the control socket: one JSON object per line, each way.
//!
//! ```text
//!  server                                   client
//!    │ {"hello":{"version":1}}                 │   on connect
//!    │◀─ {"id":1,"cmd":"call","number":"tel:+84912345678"}
//!    │ {"id":1,"ok":true}  ─────────────────▶  │   queued to the engine
//!    │◀─ {"id":2,"cmd":"subscribe"}            │
//!    │ {"id":2,"ok":true,"subscribed":true} ─▶ │
//!    │ {"event":"show_callout_info","number":"+84912345678"}
//!    │ {"event":"cs_customer_accept"}  …       │   every engine Event
//! ```
//!
//! `ok` means the engine accepted the command, not that the call worked:
//! outcomes arrive as events, exactly as the VCC SDK's callbacks do. Event
//! names are the SDK callback names in snake_case (`csCallRinging` →
//! `cs_call_ringing`); what the SDK has no callback for keeps the engine's
//! own name (`dialing`, `registration`, `call_quality`, …).
//!
//! This module is pure: parsing and printing, no sockets.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use serde_json::{Map, Value, json};

use crate::app::i18n;
use crate::call::errors::{CalloutError, Lang, internal_call_notice};
use crate::engine::{
    Availability, CallEvent, CallId, Command, Device, Direction, EndReason, Event, HistoryNotice,
    Notice, TransferDetail, TransferTarget,
};
use crate::sip::target::{self, Target};

/// The version sent in the hello line. Bumped only for incompatible changes;
/// new commands, events and fields do not bump it.
pub const VERSION: u64 = 1;

/// Longest request line accepted (bytes, without the newline).
pub const MAX_LINE: usize = 16 * 1024;

/// The hello line a Unix-socket client gets.
pub fn hello() -> Value {
    json!({"hello": {"version": VERSION}})
}

/// The hello line a TCP (wallboard) client gets: it must `auth` first.
pub fn hello_tcp(read_only: bool) -> Value {
    json!({"hello": {"version": VERSION, "auth": "token", "read_only": read_only}})
}

/// Error codes a client may see in `{"error":{"code":…}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The line is not JSON.
    BadJson,
    /// JSON, but not a request object (no `cmd`, a field of the wrong type, …).
    BadRequest,
    /// `cmd` names no command.
    UnknownCmd,
    /// The number or URI cannot be dialled.
    BadNumber,
    /// A field has a value out of range (device type, DTMF digit, …).
    BadArgument,
    /// The line is longer than [`MAX_LINE`].
    TooLong,
    /// The engine's command queue stayed full.
    EngineBusy,
    /// The engine has stopped.
    EngineStopped,
    /// `"call"` names no call the console has (it ended, or never was).
    UnknownCall,
    /// The peer is another user.
    Forbidden,
    /// TCP: no token, or the wrong one.
    Unauthorized,
    /// TCP: this listener only serves `status` and `subscribe`.
    ReadOnly,
    /// `answer`, `reject`, `decline` or `end` with no call to act on.
    NoCall,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownCmd => "unknown_cmd",
            ErrorCode::BadNumber => "bad_number",
            ErrorCode::BadArgument => "bad_argument",
            ErrorCode::TooLong => "too_long",
            ErrorCode::EngineBusy => "engine_busy",
            ErrorCode::EngineStopped => "engine_stopped",
            ErrorCode::UnknownCall => "unknown_call",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::NoCall => "no_call",
        }
    }
}

/// A refused request: the code and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError {
    pub code: ErrorCode,
    pub message: String,
}

impl ProtoError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// `{"id":…, "ok": true, …extra}`.
pub fn ok(id: &Value, extra: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), id.clone());
    m.insert("ok".into(), Value::Bool(true));
    m.extend(extra);
    Value::Object(m)
}

/// `{"id":…, "error": {"code": "...", "message": "..."}}`.
pub fn error(id: &Value, e: &ProtoError) -> Value {
    json!({"id": id, "error": {"code": e.code.as_str(), "message": e.message}})
}

/// What a toggle command refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toggle {
    Hold,
    Mute,
    Availability,
}

/// One parsed request.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Forward to the engine as is.
    Engine(Command),
    /// `hold`, `mute`, `availability`: toggles; with `"on": bool` only sent
    /// when the state (as the server last saw it) differs.
    Toggle {
        what: Toggle,
        want: Option<bool>,
        /// The call (`hold`, `mute`); `None`: the selected call.
        call: Option<CallId>,
    },
    Status,
    /// Stream events; `only` keeps just these event names.
    Subscribe {
        only: Option<Vec<String>>,
    },
    Unsubscribe,
    Ping,
    /// TCP listeners: the wallboard token.
    Auth {
        token: String,
    },
}

impl Op {
    /// Does this request change anything (refused on a read-only listener)?
    pub fn is_control(&self) -> bool {
        matches!(self, Op::Engine(_) | Op::Toggle { .. })
    }

    /// For logs: never the request itself (an `auth` line holds a token).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Engine(_) => "engine",
            Op::Toggle { .. } => "toggle",
            Op::Status => "status",
            Op::Subscribe { .. } => "subscribe",
            Op::Unsubscribe => "unsubscribe",
            Op::Ping => "ping",
            Op::Auth { .. } => "auth",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Echoed in the answer; any JSON value (null when absent).
    pub id: Value,
    pub op: Op,
}

/// The commands a client may send, for `help` texts and the README.
pub const COMMANDS: &[&str] = &[
    "call",
    "answer",
    "reject",
    "decline",
    "end",
    "hold",
    "mute",
    "dtmf",
    "availability",
    "claim_voice",
    "device",
    "transfer",
    "transfer_agents",
    "transfer_answer",
    "swap",
    "consult",
    "complete_transfer",
    "merge",
    "end_conference",
    "shutdown",
    "status",
    "subscribe",
    "unsubscribe",
    "ping",
    "auth",
];

/// Parse one request line. On failure the id (when one could be read) comes
/// back with the error, so the client can match it.
pub fn parse_request(line: &str) -> Result<Request, (Value, ProtoError)> {
    let v: Value = serde_json::from_str(line).map_err(|e| {
        (
            Value::Null,
            ProtoError::new(ErrorCode::BadJson, format!("not JSON: {e}")),
        )
    })?;
    let Value::Object(obj) = v else {
        return Err((
            Value::Null,
            ProtoError::new(
                ErrorCode::BadRequest,
                "a request is a JSON object like {\"id\":1,\"cmd\":\"status\"}",
            ),
        ));
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    match parse_op(&obj) {
        Ok(op) => Ok(Request { id, op }),
        Err(e) => Err((id, e)),
    }
}

fn bad(msg: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::BadRequest, msg)
}

fn str_field<'a>(obj: &'a Map<String, Value>, cmd: &str, key: &str) -> Result<&'a str, ProtoError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Number(_)) => Err(bad(format!(
            "`{cmd}` needs \"{key}\" as a string (quote it: numbers lose leading zeros)"
        ))),
        Some(_) => Err(bad(format!("`{cmd}` needs \"{key}\" as a string"))),
        None => Err(bad(format!("`{cmd}` needs \"{key}\""))),
    }
}

fn opt_bool(obj: &Map<String, Value>, cmd: &str, key: &str) -> Result<Option<bool>, ProtoError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(format!("`{cmd}`: \"{key}\" is true or false"))),
    }
}

/// The optional `"call": "c1"` of a call-scoped command.
fn opt_call(obj: &Map<String, Value>, cmd: &str) -> Result<Option<CallId>, ProtoError> {
    match obj.get("call") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|e: String| ProtoError::new(ErrorCode::BadArgument, format!("`{cmd}`: {e}"))),
        Some(_) => Err(bad(format!(
            "`{cmd}`: \"call\" is a call id string such as \"c1\" (see `status`)"
        ))),
    }
}

fn parse_op(obj: &Map<String, Value>) -> Result<Op, ProtoError> {
    let cmd = match obj.get("cmd") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(bad("\"cmd\" is a string")),
        None => return Err(bad("the request has no \"cmd\"")),
    };
    let engine = |c: Command| Ok(Op::Engine(c));
    let call = opt_call(obj, cmd)?;
    match cmd {
        "call" | "dial" | "callout" => {
            let n = str_field(obj, cmd, "number")?;
            engine(Command::CallOut(normalize_number(n)?))
        }
        "answer" | "accept" => engine(Command::Accept { call }),
        "reject" => engine(Command::Reject {
            call,
            decline: false,
        }),
        "decline" => engine(Command::Reject {
            call,
            decline: true,
        }),
        "end" | "hangup" => engine(Command::End { call }),
        "hold" => Ok(Op::Toggle {
            what: Toggle::Hold,
            want: opt_bool(obj, cmd, "on")?,
            call,
        }),
        "mute" => Ok(Op::Toggle {
            what: Toggle::Mute,
            want: opt_bool(obj, cmd, "on")?,
            call,
        }),
        "availability" => Ok(Op::Toggle {
            what: Toggle::Availability,
            want: opt_bool(obj, cmd, "on")?,
            call: None,
        }),
        "dtmf" => {
            let d = str_field(obj, cmd, "digit")?;
            let mut chars = d.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if is_dtmf(c) => engine(Command::SendDtmf {
                    call,
                    digit: c.to_ascii_uppercase(),
                }),
                _ => Err(ProtoError::new(
                    ErrorCode::BadArgument,
                    format!("`dtmf`: \"digit\" is one of 0-9 * # A-D, not {d:?}"),
                )),
            }
        }
        "claim_voice" => engine(Command::ClaimVoice),
        "device" => {
            let t = match obj.get("type") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            let t = match t {
                Some(t @ 1..=4) => t as u8,
                _ => {
                    return Err(ProtoError::new(
                        ErrorCode::BadArgument,
                        "`device`: \"type\" is 1 (this console), 2 (IP phone), 3 (mobile, with \"phone\") or 4 (desk phone)",
                    ));
                }
            };
            let phone = match obj.get("phone") {
                Some(Value::String(s)) => normalize_number(s)?,
                None | Some(Value::Null) if t != 3 => String::new(),
                _ => {
                    return Err(bad(
                        "`device` type 3 needs \"phone\": the mobile number, as a string",
                    ));
                }
            };
            engine(Command::ChangeDevice(Device::from_code(t, &phone)))
        }
        "transfer" => {
            let target = if obj.contains_key("agent") {
                TransferTarget::Agent(str_field(obj, cmd, "agent")?.trim().to_string())
            } else if obj.contains_key("queue") {
                TransferTarget::Queue(str_field(obj, cmd, "queue")?.trim().to_string())
            } else if obj.contains_key("number") {
                TransferTarget::Number(normalize_number(str_field(obj, cmd, "number")?)?)
            } else {
                return Err(bad("`transfer` needs \"agent\", \"queue\" or \"number\""));
            };
            engine(Command::Transfer { call, target })
        }
        "transfer_agents" => engine(Command::ListTransferAgents),
        "transfer_answer" => match opt_bool(obj, cmd, "accept")? {
            Some(b) => engine(Command::AnswerTransferOffer(b)),
            None => Err(bad("`transfer_answer` needs \"accept\": true or false")),
        },
        "swap" => engine(Command::Swap { call }),
        "consult" => {
            let n = str_field(obj, cmd, "number")?;
            engine(Command::Consult(normalize_number(n)?))
        }
        "complete_transfer" => engine(Command::CompleteTransfer),
        "merge" => engine(Command::Merge),
        "end_conference" => engine(Command::EndConference),
        "shutdown" => engine(Command::Shutdown),
        "status" => Ok(Op::Status),
        "subscribe" => {
            let only = match obj.get("events") {
                None | Some(Value::Null) => None,
                Some(Value::Array(a)) => {
                    let names: Option<Vec<String>> =
                        a.iter().map(|v| v.as_str().map(str::to_string)).collect();
                    match names {
                        Some(n) => Some(n),
                        None => return Err(bad("`subscribe`: \"events\" is a list of names")),
                    }
                }
                Some(_) => return Err(bad("`subscribe`: \"events\" is a list of names")),
            };
            Ok(Op::Subscribe { only })
        }
        "unsubscribe" => Ok(Op::Unsubscribe),
        "ping" => Ok(Op::Ping),
        "auth" => Ok(Op::Auth {
            token: str_field(obj, cmd, "token")?.to_string(),
        }),
        other => Err(ProtoError::new(
            ErrorCode::UnknownCmd,
            format!(
                "unknown command {other:?}; commands: {}",
                COMMANDS.join(", ")
            ),
        )),
    }
}

fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || matches!(c.to_ascii_uppercase(), '*' | '#' | 'A' | 'B' | 'C' | 'D')
}

/// Accept a number as a desktop or CRM hands it over.
///
/// Every text goes through the shared check of `sip::target` first (no
/// control characters, no whitespace or URI headers in a `sip:` address,
/// the RFC 3261 §25.1 grammar): the socket lets through exactly what the
/// dial line does, and the refusal says why.
/// - `tel:` URIs (RFC 3966): percent-escapes decoded, parameters after `;`
///   dropped, visual separators (`-`, `.`, `(`, `)`, spaces) removed.
/// - `sip:` / `sips:` URIs whose user part is a telephone number become that
///   number (dialled through the console's own account: the host is not
///   used); other SIP URIs are passed on unchanged (a plain SIP account dials
///   them; VCC says it cannot).
/// - anything else must be a number (digits, `*`, `#`, a leading `+`).
pub fn normalize_number(input: &str) -> Result<String, ProtoError> {
    let lower = input.trim_start().get(..4).map(str::to_ascii_lowercase);
    // A `tel:` number is decoded before the check, so `%0D%0A` is refused
    // as the CR LF it stands for.
    let text = if lower.as_deref() == Some("tel:") {
        percent_decode(input)
    } else {
        input.to_string()
    };
    let target = target::parse(&text).map_err(|e| {
        ProtoError::new(
            ErrorCode::BadNumber,
            format!(
                "{input:?} cannot be dialled: {}",
                i18n::target_error(Lang::En, &e)
            ),
        )
    })?;
    Ok(match target {
        Target::Number(n) => n,
        Target::Uri(uri) => {
            let after = &uri[uri.find(':').map(|i| i + 1).unwrap_or(0)..];
            let user = match after.rsplit_once('@') {
                Some((user, _)) => user.split(';').next().unwrap_or(""),
                None => "",
            };
            let user: String = percent_decode(user)
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                .collect();
            if looks_like_phone(&user) { user } else { uri }
        }
    })
}

fn looks_like_phone(s: &str) -> bool {
    !s.is_empty()
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || matches!(c, '*' | '#') || (c == '+' && i == 0))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The VCC callback name of an event, snake_case.
pub fn event_name(e: &Event) -> &'static str {
    match e {
        Event::Ready => "cs_init_complete",
        Event::InitFailed(_) => "cs_init_error",
        Event::VoiceChannel(_) => "cs_show_enable_voice",
        Event::Availability(_) => "cs_show_call_status",
        Event::Call { event, .. } => call_event_name(event),
        Event::DeviceType(_) => "cs_show_device_type",
        Event::Reconnecting { .. } => "cs_notify_reconnecting",
        Event::Reconnected => "reconnected",
        Event::Disconnected => "cs_ondisconnected",
        Event::TransferAgents(_) => "transfer_agents",
        Event::TransferOffered { .. } => "transfer_offered",
        Event::TransferResult { .. } => "transfer_result",
        Event::Registration(_) => "registration",
        Event::AudioLevel { .. } => "audio_level",
        Event::Notice(_) => "notice",
        Event::ShutdownComplete => "shutdown_complete",
    }
}

fn call_event_name(e: &CallEvent) -> &'static str {
    match e {
        CallEvent::CalloutStarted(_) => "show_callout_info",
        CallEvent::CalloutFailed { .. } => "show_callout_error",
        CallEvent::CustomerAnswered => "cs_customer_accept",
        CallEvent::Ringing(_) => "cs_call_ringing",
        CallEvent::Dialing(_) => "dialing",
        CallEvent::Accepted => "cs_accept_call",
        CallEvent::Ended(_) => "cs_end_call",
        CallEvent::Held(true) => "cs_hold_call",
        CallEvent::Held(false) => "cs_un_hold_call",
        CallEvent::Muted(true) => "cs_mute_call",
        CallEvent::Muted(false) => "cs_un_mute_call",
        CallEvent::PlatformId(_) => "cs_current_call_id",
        CallEvent::TransferResult { .. } => "transfer_result",
        CallEvent::Quality(_) => "call_quality",
        CallEvent::DtmfReceived(_) => "dtmf_received",
        CallEvent::ConsultFor(_) => "consult",
        CallEvent::PartyChanged { .. } => "party_changed",
    }
}

/// Availability as the wire spells it.
pub fn availability_str(a: Availability) -> &'static str {
    match a {
        Availability::On => "on",
        Availability::Off => "off",
        Availability::NoAnswer => "no_answer",
    }
}

pub fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
        Direction::Internal => "internal",
    }
}

/// `{"type": 3, "name": "mobile", "phone": "…"}`.
pub fn device_json(d: &Device) -> Value {
    let name = match d {
        Device::Console => "console",
        Device::IpPhone => "ip_phone",
        Device::Mobile { .. } => "mobile",
        Device::AlwaysOnIpPhone => "desk_phone",
        Device::Other { .. } => "other",
    };
    let mut v = json!({"type": d.code(), "name": name});
    if let Device::Mobile { number } = d {
        v["phone"] = Value::String(number.clone());
    }
    v
}

/// `{"reason": "rejected", "code": 486}` and friends.
pub fn end_reason_json(r: &EndReason) -> Map<String, Value> {
    match serde_json::to_value(r) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The call-out error sentence in both languages.
pub fn callout_text(error_code: Option<&str>, sip_code: Option<u16>) -> Value {
    let row = CalloutError::classify(error_code, sip_code);
    json!({"en": row.text(Lang::En), "vi": row.text(Lang::Vi)})
}

/// `show_callout_error`'s `text` for a failed internal call: the screen's
/// notice, "Internal call to 1001: the extension is busy (SIP 486)".
fn internal_call_text(number: &str, sip_code: Option<u16>) -> Value {
    json!({"en": internal_call_notice(number, sip_code, Lang::En),
           "vi": internal_call_notice(number, sip_code, Lang::Vi)})
}

fn notice_json(n: &Notice) -> Map<String, Value> {
    let mut m = Map::new();
    // Every notice carries its words in both languages (the console's
    // catalogue); `detail` stays the English text for older scripts.
    m.insert(
        "text".into(),
        json!({"en": i18n::notice(Lang::En, n), "vi": i18n::notice(Lang::Vi, n)}),
    );
    let english = |l: Lang| i18n::notice(l, n);
    let (kind, detail): (&str, Option<String>) = match n {
        Notice::IpccError(code) => ("ipcc_error", Some(code.clone())),
        Notice::AvailabilityRefused => ("availability_refused", None),
        Notice::DeviceChangeRefused => ("device_change_refused", None),
        Notice::NotNow(why) => {
            if let Ok(v) = serde_json::to_value(why) {
                m.insert("why".into(), v);
            }
            ("not_now", Some(i18n::not_now(Lang::En, *why).to_string()))
        }
        Notice::BadNumber(t) => ("bad_number", Some(t.clone())),
        Notice::InsecureTls => ("insecure_tls", None),
        Notice::Server(t) => ("server", Some(t.clone())),
        Notice::Info(i) => {
            if let Ok(Value::Object(im)) = serde_json::to_value(i) {
                m.extend(im);
            }
            ("info", Some(english(Lang::En)))
        }
        Notice::History(h) => match h {
            HistoryNotice::Recovered { moved_to } => ("history_recovered", Some(moved_to.clone())),
            HistoryNotice::Locked => ("history_locked", None),
            HistoryNotice::Full => ("history_full", None),
            HistoryNotice::Unlocked => ("history_unlocked", None),
            HistoryNotice::Off { reason } => ("history_off", Some(reason.clone())),
        },
        Notice::UnknownCall(id) => {
            m.insert("call".into(), json!(id));
            ("unknown_call", Some(english(Lang::En)))
        }
    };
    m.insert("notice".into(), Value::String(kind.into()));
    if let Some(d) = detail {
        m.insert("detail".into(), Value::String(d));
    }
    m
}

/// One event as its wire line: `{"event": "<name>", …fields}`; an event
/// about one call also has `"call": "<id>"`.
pub fn event_json(e: &Event) -> Value {
    let mut m = Map::new();
    m.insert("event".into(), Value::String(event_name(e).into()));
    let mut put = |k: &str, v: Value| {
        m.insert(k.into(), v);
    };
    match e {
        Event::Ready | Event::Reconnected | Event::Disconnected | Event::ShutdownComplete => {}
        Event::InitFailed(f) => {
            put("reason", json!(i18n::init_failed(Lang::En, f)));
            put("step", json!(f.step));
            put("detail", json!(f.detail));
        }
        Event::VoiceChannel(b) => put("enabled", json!(b)),
        Event::Availability(a) => put("status", json!(availability_str(*a))),
        Event::Call { call, event } => {
            put("call", json!(call));
            call_event_fields(event, &mut put);
        }
        Event::DeviceType(d) => {
            if let Value::Object(dm) = device_json(d) {
                for (k, v) in dm {
                    put(&k, v);
                }
            }
        }
        Event::Reconnecting { attempt, max } => {
            put("attempt", json!(attempt));
            put("max", json!(max));
        }
        Event::TransferAgents(list) => put("agents", json!(list)),
        Event::TransferOffered {
            call_id,
            from_agent,
        } => {
            put("call_id", json!(call_id));
            put("from_agent", json!(from_agent));
        }
        Event::TransferResult { ok, detail } => transfer_fields(*ok, detail, &mut put),
        Event::Registration(state) => {
            if let Ok(Value::Object(sm)) = serde_json::to_value(state) {
                for (k, v) in sm {
                    put(&k, v);
                }
            }
        }
        Event::AudioLevel { mic, speaker } => {
            put("mic", json!(round3(*mic)));
            put("speaker", json!(round3(*speaker)));
        }
        Event::Notice(n) => {
            for (k, v) in notice_json(n) {
                put(&k, v);
            }
        }
    }
    Value::Object(m)
}

/// `transfer_result`'s fields, the same whether about one of our calls
/// or about an offer made to us.
fn transfer_fields(ok: bool, detail: &TransferDetail, put: &mut impl FnMut(&str, Value)) {
    put("ok", json!(ok));
    put("detail", json!(i18n::transfer_result(Lang::En, ok, detail)));
    put(
        "text",
        json!({"en": i18n::transfer_result(Lang::En, ok, detail),
               "vi": i18n::transfer_result(Lang::Vi, ok, detail)}),
    );
    put("result", json!(detail));
}

/// The fields of a call event (the same as before calls had names).
fn call_event_fields(e: &CallEvent, put: &mut impl FnMut(&str, Value)) {
    match e {
        CallEvent::CustomerAnswered | CallEvent::Accepted => {}
        CallEvent::CalloutStarted(n) | CallEvent::Dialing(n) => put("number", json!(n)),
        CallEvent::CalloutFailed {
            error_code,
            sip_code,
            internal,
        } => {
            put("error_code", json!(error_code));
            put("sip_code", json!(sip_code));
            put("internal", json!(internal));
            let text = match internal {
                // Worded as the screen words it: a colleague's extension.
                Some(number) if error_code.is_none() => internal_call_text(number, *sip_code),
                _ => callout_text(error_code.as_deref(), *sip_code),
            };
            put("text", text);
        }
        CallEvent::Ringing(r) => {
            put("phone", json!(r.phone));
            put("display_name", json!(r.display_name));
            put("line", json!(r.line));
            put("queue", json!(r.queue));
            put("direction", json!(direction_str(r.direction)));
            put("agent_leg", json!(r.agent_leg));
        }
        CallEvent::Ended(r) => {
            for (k, v) in end_reason_json(r) {
                put(&k, v);
            }
        }
        CallEvent::Held(b) => put("held", json!(b)),
        CallEvent::Muted(b) => put("muted", json!(b)),
        CallEvent::PlatformId(id) => put("call_id", json!(id)),
        CallEvent::TransferResult { ok, detail } => transfer_fields(*ok, detail, put),
        CallEvent::Quality(q) => {
            put("jitter_ms", json!(round3(q.jitter_ms)));
            put("loss_pct", json!(round3(q.loss_pct)));
            put("rtt_ms", json!(round3(q.rtt_ms)));
            put("mos", json!(round3(q.mos)));
        }
        CallEvent::DtmfReceived(c) => put("digit", json!(c.to_string())),
        CallEvent::ConsultFor(parent) => put("for_call", json!(parent.to_string())),
        CallEvent::PartyChanged { number, name } => {
            put("number", json!(number));
            put("display_name", json!(name));
        }
    }
}

/// f32 → a short decimal (0.1f32 prints as 0.10000000149 otherwise).
pub fn round3(x: f32) -> f64 {
    ((x as f64) * 1000.0).round() / 1000.0
}

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::engine::RingInfo;

    fn op(line: &str) -> Op {
        parse_request(line).expect("parses").op
    }

    fn err(line: &str) -> (Value, ErrorCode) {
        let (id, e) = parse_request(line).expect_err("refused");
        (id, e.code)
    }

    #[test]
    fn requests_map_onto_engine_commands() {
        assert_eq!(
            op(r#"{"id":1,"cmd":"call","number":"0912345678"}"#),
            Op::Engine(Command::CallOut("0912345678".into()))
        );
        assert_eq!(
            op(r#"{"cmd":"answer"}"#),
            Op::Engine(Command::Accept { call: None })
        );
        assert_eq!(
            op(r#"{"cmd":"decline"}"#),
            Op::Engine(Command::Reject {
                call: None,
                decline: true
            })
        );
        assert_eq!(
            op(r#"{"cmd":"hold","on":true}"#),
            Op::Toggle {
                what: Toggle::Hold,
                want: Some(true),
                call: None,
            }
        );
        assert_eq!(
            op(r##"{"cmd":"dtmf","digit":"#"}"##),
            Op::Engine(Command::SendDtmf {
                call: None,
                digit: '#'
            })
        );
        assert_eq!(
            op(r#"{"cmd":"device","type":3,"phone":"+84 912 000 111"}"#),
            Op::Engine(Command::ChangeDevice(Device::Mobile {
                number: "+84912000111".into()
            }))
        );
        assert_eq!(
            op(r#"{"cmd":"device","type":4}"#),
            Op::Engine(Command::ChangeDevice(Device::AlwaysOnIpPhone))
        );
        assert_eq!(
            op(r#"{"cmd":"transfer","queue":"q-sales"}"#),
            Op::Engine(Command::Transfer {
                call: None,
                target: TransferTarget::Queue("q-sales".into())
            })
        );
        assert_eq!(
            op(r#"{"cmd":"transfer_answer","accept":false}"#),
            Op::Engine(Command::AnswerTransferOffer(false))
        );
        assert_eq!(
            op(r#"{"cmd":"subscribe","events":["cs_end_call"]}"#),
            Op::Subscribe {
                only: Some(vec!["cs_end_call".into()])
            }
        );
    }

    #[test]
    fn bad_requests_keep_their_id() {
        assert_eq!(err("{nope"), (Value::Null, ErrorCode::BadJson));
        assert_eq!(err("[1,2]"), (Value::Null, ErrorCode::BadRequest));
        assert_eq!(err(r#"{"id":7}"#), (json!(7), ErrorCode::BadRequest));
        assert_eq!(
            err(r#"{"id":"x","cmd":"fly"}"#),
            (json!("x"), ErrorCode::UnknownCmd)
        );
        assert_eq!(
            err(r#"{"id":2,"cmd":"call","number":912345678}"#),
            (json!(2), ErrorCode::BadRequest)
        );
        assert_eq!(
            err(r#"{"id":3,"cmd":"device","type":5}"#),
            (json!(3), ErrorCode::BadArgument)
        );
        assert_eq!(
            err(r#"{"id":4,"cmd":"device","type":3}"#),
            (json!(4), ErrorCode::BadRequest)
        );
        assert_eq!(
            err(r#"{"id":5,"cmd":"dtmf","digit":"12"}"#),
            (json!(5), ErrorCode::BadArgument)
        );
        assert_eq!(
            err(r#"{"id":6,"cmd":"call","number":"tel:"}"#),
            (json!(6), ErrorCode::BadNumber)
        );
    }

    #[test]
    fn tel_and_sip_uris_become_numbers() {
        let n = |s: &str| normalize_number(s).expect("number");
        assert_eq!(n("tel:+84-912-345-678"), "+84912345678");
        assert_eq!(n("TEL:0912345678;phone-context=example.com"), "0912345678");
        assert_eq!(n("tel:%2B84912345678"), "+84912345678");
        assert_eq!(n("sip:0912345678@pbx.example.com;user=phone"), "0912345678");
        assert_eq!(n("sips:+84912345678@pbx.example.com"), "+84912345678");
        assert_eq!(n("sip:alice@example.com"), "sip:alice@example.com");
        assert_eq!(n(" 0912 345 678 "), "0912345678");
        assert!(normalize_number("sip:").is_err());
        assert!(normalize_number("  ").is_err());
    }

    #[test]
    fn a_percent_escape_at_the_very_end_is_decoded_and_a_cut_one_refused() {
        let n = |s: &str| normalize_number(s).expect("number");
        // The last two characters of the text are the escape's digits.
        assert_eq!(n("tel:0912345%37%38"), "091234578");
        assert_eq!(n("sip:0912345%37%38@pbx.example.com"), "091234578");
        assert_eq!(percent_decode("%41"), "A");
        assert_eq!(percent_decode("a%41"), "aA");
        // An escape cut short by the end stays as it was, and is refused.
        assert_eq!(percent_decode("0912%3"), "0912%3");
        assert_eq!(percent_decode("0912%"), "0912%");
        assert!(normalize_number("tel:0912345678%3").is_err());
        assert!(normalize_number("tel:0912345678%").is_err());
        assert!(normalize_number("sip:0912%3@pbx.example.com").is_err());
    }

    #[test]
    fn header_injection_through_call_and_transfer_is_refused_with_a_reason() {
        for (line, why) in [
            (
                r#"{"id":1,"cmd":"call","number":"sip:evil@host\r\nX-Injected: yes"}"#,
                "U+000D",
            ),
            (
                r#"{"id":1,"cmd":"call","number":"sip:a@b>;tag=1\r\nVia: SIP/2.0/UDP x"}"#,
                "U+000D",
            ),
            (
                r#"{"id":1,"cmd":"call","number":"sip:a@b\r\n\r\n"}"#,
                "U+000D",
            ),
            (r#"{"id":1,"cmd":"call","number":"sip:a@b c"}"#, "space"),
            (
                r#"{"id":1,"cmd":"call","number":"sip:a@b?X-Injected=yes"}"#,
                "URI headers",
            ),
            (
                r#"{"id":1,"cmd":"call","number":"tel:0912%0D%0AVia:x"}"#,
                "U+000D",
            ),
            (
                r#"{"id":1,"cmd":"transfer","number":"sip:a@b\nVia: x"}"#,
                "U+000A",
            ),
            (r#"{"id":1,"cmd":"call","number":"alice"}"#, "'a'"),
        ] {
            let (id, e) = parse_request(line).expect_err(line);
            assert_eq!(id, json!(1));
            assert_eq!(e.code, ErrorCode::BadNumber, "{line}");
            assert!(e.message.contains(why), "{line}: {}", e.message);
        }
    }

    /// A failed call to a colleague is worded as the screen words it, not
    /// as a customer's ("The customer is busy").
    #[test]
    fn a_failed_internal_call_is_worded_as_one() {
        let e = event_json(&Event::Call {
            call: CallId(3),
            event: CallEvent::CalloutFailed {
                error_code: None,
                sip_code: Some(486),
                internal: Some("1001".into()),
            },
        });
        assert_eq!(e["event"], "show_callout_error");
        assert_eq!(e["internal"], "1001");
        assert_eq!(e["sip_code"], 486);
        assert_eq!(
            e["text"]["en"],
            "Internal call to 1001: the extension is busy (SIP 486)"
        );
        assert_eq!(
            e["text"]["vi"],
            "Gọi nội bộ 1001: máy nhánh đang bận (SIP 486)"
        );
        // The platform's own error code keeps its row.
        let e = event_json(&Event::Call {
            call: CallId(3),
            event: CallEvent::CalloutFailed {
                error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
                sip_code: Some(486),
                internal: Some("1001".into()),
            },
        });
        assert_eq!(e["text"]["en"], "The customer is busy");
    }

    #[test]
    fn events_carry_sdk_names_and_fields() {
        let e = event_json(&Event::Call {
            call: CallId(1),
            event: CallEvent::CalloutFailed {
                error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
                sip_code: Some(486),
                internal: None,
            },
        });
        assert_eq!(e["event"], "show_callout_error");
        assert_eq!(e["sip_code"], 486);
        assert_eq!(e["internal"], Value::Null);
        assert_eq!(e["text"]["en"], "The customer is busy");
        assert_eq!(e["text"]["vi"], "Khách hàng đang bận");
        let e = event_json(&Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::Rejected { code: 603 }),
        });
        assert_eq!(
            e,
            json!({"event":"cs_end_call","call":"c1","reason":"rejected","code":603})
        );
        let e = event_json(&Event::Call {
            call: CallId(1),
            event: CallEvent::Ringing(RingInfo {
                phone: "0987654321".into(),
                display_name: None,
                line: Some("19001234".into()),
                queue: Some("Sales".into()),
                direction: Direction::Inbound,
                agent_leg: false,
            }),
        });
        assert_eq!(e["event"], "cs_call_ringing");
        assert_eq!(e["line"], "19001234");
        assert_eq!(e["direction"], "inbound");
        let e = event_json(&Event::DeviceType(Device::Mobile {
            number: "0912000111".into(),
        }));
        assert_eq!(
            e,
            json!({"event":"cs_show_device_type","type":3,"name":"mobile","phone":"0912000111"})
        );
        assert_eq!(
            event_json(&Event::Call {
                call: CallId(1),
                event: CallEvent::Held(false)
            })["event"],
            "cs_un_hold_call"
        );
        let e = event_json(&Event::Notice(Notice::IpccError("IPCCERR0014".into())));
        assert_eq!(e["notice"], "ipcc_error");
        assert_eq!(e["text"]["en"], "not in a call (IPCCERR0014)");
    }

    /// Issue 16: the two-call commands and what they print.
    #[test]
    fn swap_consult_complete_and_merge() {
        assert_eq!(
            op(r#"{"cmd":"swap","call":"c1"}"#),
            Op::Engine(Command::Swap {
                call: Some(CallId(1))
            })
        );
        assert_eq!(
            op(r#"{"cmd":"swap"}"#),
            Op::Engine(Command::Swap { call: None })
        );
        assert_eq!(
            op(r#"{"cmd":"consult","number":"tel:1003"}"#),
            Op::Engine(Command::Consult("1003".into()))
        );
        assert_eq!(err(r#"{"id":2,"cmd":"consult"}"#).1, ErrorCode::BadRequest);
        assert_eq!(
            err(r#"{"cmd":"consult","number":"sip:a@b\r\nVia: x"}"#).1,
            ErrorCode::BadNumber
        );
        assert_eq!(
            op(r#"{"cmd":"complete_transfer"}"#),
            Op::Engine(Command::CompleteTransfer)
        );
        assert_eq!(op(r#"{"cmd":"merge"}"#), Op::Engine(Command::Merge));
        assert_eq!(
            op(r#"{"cmd":"end_conference"}"#),
            Op::Engine(Command::EndConference)
        );
        let e = event_json(&Event::call(CallId(2), CallEvent::ConsultFor(CallId(1))));
        assert_eq!(
            e,
            json!({"event": "consult", "call": "c2", "for_call": "c1"})
        );
        let e = event_json(&Event::call(
            CallId(1),
            CallEvent::PartyChanged {
                number: "1002".into(),
                name: None,
            },
        ));
        assert_eq!(
            e,
            json!({"event": "party_changed", "call": "c1", "number": "1002", "display_name": null})
        );
        let n = event_json(&Event::Notice(Notice::Info(
            crate::engine::Info::BusyThirdCall {
                number: "0911".into(),
            },
        )));
        assert_eq!(
            (&n["notice"], &n["info"], &n["number"]),
            (&json!("info"), &json!("busy_third_call"), &json!("0911")),
            "{n}"
        );
    }
}
