//! The client side, for `tongdai ctl …`: find the console's socket, send one
//! request, or stream events. Blocking std I/O: a CLI verb needs no runtime.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::protocol::VERSION;

/// How long a request waits for its answer.
pub const REPLY_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no directory for control sockets: set XDG_RUNTIME_DIR, or pass --socket")]
    NoSocketDir,
    #[error(
        "no tongdai console is running (no control socket in {}); start one with `tongdai` or `tongdai --headless`, or pass --socket",
        dir.display()
    )]
    NoConsole { dir: PathBuf },
    #[error(
        "several tongdai consoles are running; pick one with --socket:\n{}",
        list(sockets)
    )]
    Several { sockets: Vec<PathBuf> },
    #[error("no control socket at {}", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is left over from a console that is no longer running", path.display())]
    Stale { path: PathBuf },
    #[error("cannot connect to {}: {source}", path.display())]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the console refused: {message} ({code})")]
    Refused { code: String, message: String },
    #[error("the request is not JSON: {reason}")]
    BadRequest { reason: String },
    #[error("the console speaks control protocol version {version}; this tongdai speaks {VERSION}")]
    UnsupportedVersion { version: u64 },
    #[error("the console did not greet as a tongdai control socket (got {line:?})")]
    BadHello { line: String },
    #[error("the console sent a line that is not JSON: {line:?}")]
    BadReply { line: String },
    #[error("the console closed the connection")]
    Closed,
    #[error("no answer from the console within {0:?}")]
    Timeout(Duration),
    #[error("control socket I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the events out: {0}")]
    Output(std::io::Error),
    #[error("unknown verb {verb:?}; verbs: {}", VERBS.join(", "))]
    UnknownVerb { verb: String },
    #[error("`{verb}` needs {what}")]
    MissingArgument { verb: String, what: &'static str },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("  {}", p.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The control sockets with a console behind them, in `dir`.
pub fn live_sockets(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_socket()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
        .filter(|p| super::is_live(p))
        .collect();
    out.sort();
    out
}

/// The socket to talk to: `explicit` (`--socket`), else the only live one in
/// [`super::socket_dir`].
pub fn find_socket(explicit: Option<&Path>) -> Result<PathBuf, ClientError> {
    if let Some(p) = explicit {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(ClientError::NotFound {
                path: p.to_path_buf(),
            });
        }
        return Ok(p.to_path_buf());
    }
    let dir = super::socket_dir().ok_or(ClientError::NoSocketDir)?;
    find_socket_in(&dir)
}

/// As [`find_socket`] with no `--socket`, looking in `dir`.
pub fn find_socket_in(dir: &Path) -> Result<PathBuf, ClientError> {
    let mut live = live_sockets(dir);
    match live.len() {
        0 => Err(ClientError::NoConsole {
            dir: dir.to_path_buf(),
        }),
        1 => Ok(live.remove(0)),
        _ => Err(ClientError::Several { sockets: live }),
    }
}

/// One session with a console.
pub struct Connection {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    hello: Value,
    next_id: u64,
    /// Events read while waiting for an answer.
    pending: VecDeque<Value>,
}

impl Connection {
    /// Connect and read the hello line.
    pub fn open(path: &Path) -> Result<Connection, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ClientError::NotFound {
                path: path.to_path_buf(),
            },
            std::io::ErrorKind::ConnectionRefused => ClientError::Stale {
                path: path.to_path_buf(),
            },
            _ => ClientError::Connect {
                path: path.to_path_buf(),
                source,
            },
        })?;
        stream.set_read_timeout(Some(REPLY_WAIT))?;
        let writer = stream.try_clone()?;
        let mut c = Connection {
            reader: BufReader::new(stream),
            writer,
            hello: Value::Null,
            next_id: 1,
            pending: VecDeque::new(),
        };
        let first = c.read_line()?.ok_or(ClientError::Closed)?;
        if let Some(e) = first.get("error") {
            return Err(refused(e));
        }
        let version = first
            .get("hello")
            .and_then(|h| h.get("version"))
            .and_then(Value::as_u64)
            .ok_or_else(|| ClientError::BadHello {
                line: first.to_string(),
            })?;
        if version != VERSION {
            return Err(ClientError::UnsupportedVersion { version });
        }
        c.hello = first;
        Ok(c)
    }

    pub fn hello(&self) -> &Value {
        &self.hello
    }

    /// `None`: wait for ever (event streams).
    pub fn set_timeout(&self, t: Option<Duration>) -> Result<(), ClientError> {
        Ok(self.writer.set_read_timeout(t)?)
    }

    /// Send a raw line (tests send malformed ones on purpose).
    pub fn send_line(&mut self, line: &str) -> Result<(), ClientError> {
        self.writer.write_all(line.as_bytes())?;
        self.writer.write_all(b"\n")?;
        self.writer.flush()?;
        Ok(())
    }

    /// Send a request (an `id` is added when missing) and return its answer,
    /// `{"ok":true,…}` or `{"error":…}` as the console wrote it. Events that
    /// arrive meanwhile are kept for [`Connection::next_message`].
    pub fn request(&mut self, mut req: Value) -> Result<Value, ClientError> {
        let Value::Object(obj) = &mut req else {
            return Err(ClientError::BadRequest {
                reason: "a request is a JSON object".into(),
            });
        };
        let id = obj
            .entry("id")
            .or_insert_with(|| json!(format!("ctl-{}", self.next_id)))
            .clone();
        self.next_id += 1;
        self.send_line(&req.to_string())?;
        loop {
            let msg = self.read_line()?.ok_or(ClientError::Closed)?;
            let is_answer = msg.get("ok").is_some() || msg.get("error").is_some();
            if is_answer && msg.get("id") == Some(&id) {
                return Ok(msg);
            }
            if is_answer && msg.get("id") == Some(&Value::Null) {
                // An error the console could not tie to a request.
                return Ok(msg);
            }
            self.pending.push_back(msg);
        }
    }

    /// The next line from the console (events first, as they came);
    /// `None` when it closed the connection.
    pub fn next_message(&mut self) -> Result<Option<Value>, ClientError> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(Some(m));
        }
        self.read_line()
    }

    fn read_line(&mut self) -> Result<Option<Value>, ClientError> {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                        ClientError::Timeout(REPLY_WAIT)
                    }
                    _ => ClientError::Io(e),
                })?;
            if n == 0 {
                return Ok(None);
            }
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            return serde_json::from_str(t)
                .map(Some)
                .map_err(|_| ClientError::BadReply {
                    line: t.to_string(),
                });
        }
    }
}

fn refused(e: &Value) -> ClientError {
    ClientError::Refused {
        code: e
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_string(),
        message: e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    }
}

/// `{"error":…}` answers as [`ClientError::Refused`]; `ok` answers as they are.
pub fn check(response: Value) -> Result<Value, ClientError> {
    match response.get("error") {
        Some(e) => Err(refused(e)),
        None => Ok(response),
    }
}

/// `tongdai ctl send '<json>'`: one request, the console's answer as written
/// (an `{"error":…}` answer is `Ok` too: print it).
pub fn send(path: &Path, request_json: &str) -> Result<Value, ClientError> {
    let req: Value = serde_json::from_str(request_json).map_err(|e| ClientError::BadRequest {
        reason: e.to_string(),
    })?;
    let mut c = Connection::open(path)?;
    c.request(req)
}

/// One request; an `{"error":…}` answer becomes [`ClientError::Refused`].
pub fn command(path: &Path, request: Value) -> Result<Value, ClientError> {
    let mut c = Connection::open(path)?;
    check(c.request(request)?)
}

/// `tongdai ctl events`: subscribe and copy every event line to `out` until
/// the console goes away (or the process is interrupted). A closed `out`
/// (`| head`) ends the stream quietly.
pub fn events(path: &Path, out: &mut dyn Write) -> Result<(), ClientError> {
    let mut c = Connection::open(path)?;
    check(c.request(json!({"cmd": "subscribe"}))?)?;
    c.set_timeout(None)?;
    while let Some(msg) = c.next_message()? {
        let r = writeln!(out, "{msg}").and_then(|_| out.flush());
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(ClientError::Output(e)),
        }
    }
    Ok(())
}

/// Verbs `tongdai ctl <verb> [arg]` knows besides `send` and `events`.
pub const VERBS: &[&str] = &[
    "call",
    "answer",
    "reject",
    "decline",
    "end",
    "hold",
    "mute",
    "dtmf",
    "availability",
    "claim-voice",
    "status",
];

/// The request for a CLI verb: `call 0912345678`, `answer`, `hold`,
/// `availability on`, `dtmf 5`, …
pub fn request_for(verb: &str, arg: Option<&str>) -> Result<Value, ClientError> {
    let need = |what: &'static str| {
        arg.map(str::to_string)
            .ok_or_else(|| ClientError::MissingArgument {
                verb: verb.to_string(),
                what,
            })
    };
    Ok(match verb {
        "call" => json!({"cmd": "call", "number": need("a number or tel:/sip: URI")?}),
        "status" => json!({"cmd": verb}),
        // `tongdai ctl end c2`: the call by name (see `status`).
        "answer" | "reject" | "decline" | "end" | "hangup" => {
            let cmd = if verb == "hangup" { "end" } else { verb };
            match arg {
                Some(call) => json!({"cmd": cmd, "call": call}),
                None => json!({"cmd": cmd}),
            }
        }
        "claim-voice" | "claim_voice" => json!({"cmd": "claim_voice"}),
        "hold" | "mute" | "availability" => match arg {
            Some("on") => json!({"cmd": verb, "on": true}),
            Some("off") => json!({"cmd": verb, "on": false}),
            _ => json!({"cmd": verb}),
        },
        "dtmf" => json!({"cmd": "dtmf", "digit": need("a digit (0-9, *, #, A-D)")?}),
        _ => {
            return Err(ClientError::UnknownVerb {
                verb: verb.to_string(),
            });
        }
    })
}

fn clock(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{:02}:{:02}", secs / 60, secs % 60)
    }
}

/// `tongdai ctl status` without `--json`: the snapshot for a person.
/// Accepts the whole answer or just its `status` object.
pub fn format_status(v: &Value) -> String {
    let s = v.get("status").unwrap_or(v);
    let str_of = |v: &Value| v.as_str().map(str::to_string);
    let mut out = Vec::new();
    let mut line = |k: &str, val: String| out.push(format!("{k:<13} {val}"));
    let conn = str_of(&s["connection"]).unwrap_or_else(|| "unknown".into());
    let detail = match &s["connection_detail"] {
        Value::Null => String::new(),
        d => format!(" {d}"),
    };
    line("connection:", format!("{conn}{detail}"));
    if let Some(state) = str_of(&s["registration"]["state"]) {
        let extra = match s["registration"]["expires"].as_u64() {
            Some(e) => format!(" (expires {e} s)"),
            None => String::new(),
        };
        line("registration:", format!("{state}{extra}"));
    }
    line(
        "availability:",
        str_of(&s["availability"]).unwrap_or_else(|| "unknown".into()),
    );
    line(
        "voice:",
        match s["voice"].as_bool() {
            Some(true) => "here".into(),
            Some(false) => "elsewhere".into(),
            None => "unknown".into(),
        },
    );
    if let Some(t) = s["device"]["type"].as_u64() {
        let name = str_of(&s["device"]["name"]).unwrap_or_default();
        let phone = str_of(&s["device"]["phone"])
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        line("device:", format!("{t} ({name}){phone}"));
    }
    // Every call (v1 servers before named calls: the one `call`).
    let calls: Vec<&Value> = match s["calls"].as_array() {
        Some(list) => list.iter().collect(),
        None => std::iter::once(&s["call"])
            .filter(|c| c.is_object())
            .collect(),
    };
    for c in &calls {
        let mut flags = Vec::new();
        if c["held"] == true {
            flags.push("held");
        }
        if c["muted"] == true {
            flags.push("muted");
        }
        let timer = c["seconds"]
            .as_u64()
            .map(|x| format!(" {}", clock(x)))
            .unwrap_or_default();
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(", "))
        };
        let name = str_of(&c["call"])
            .map(|id| format!("call {id}:"))
            .unwrap_or_else(|| "call:".into());
        let selected = if calls.len() > 1 && c["call"] == s["selected"] {
            " *"
        } else {
            ""
        };
        line(
            &name,
            format!(
                "{} {}, {}{timer}{flags}{selected}",
                str_of(&c["direction"]).unwrap_or_default(),
                str_of(&c["number"]).unwrap_or_default(),
                str_of(&c["phase"]).unwrap_or_default()
            ),
        );
    }
    if calls.is_empty() {
        line("call:", "none".into());
    }
    let l = &s["last_call"];
    if l.is_object() {
        let timer = l["seconds"]
            .as_u64()
            .map(|x| format!(", {}", clock(x)))
            .unwrap_or_default();
        line(
            "last call:",
            format!(
                "{} {}, {}{timer}",
                str_of(&l["direction"]).unwrap_or_default(),
                str_of(&l["number"]).unwrap_or_default(),
                str_of(&l["reason"]).unwrap_or_default()
            ),
        );
    }
    let q = &s["quality"];
    if q.is_object() {
        line(
            "quality:",
            format!(
                "MOS {}, jitter {} ms, loss {} %, RTT {} ms",
                q["mos"], q["jitter_ms"], q["loss_pct"], q["rtt_ms"]
            ),
        );
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_build_requests() {
        assert_eq!(
            request_for("call", Some("tel:0912345678")).expect("call"),
            json!({"cmd":"call","number":"tel:0912345678"})
        );
        assert_eq!(
            request_for("hold", Some("on")).expect("hold"),
            json!({"cmd":"hold","on":true})
        );
        assert!(matches!(
            request_for("call", None),
            Err(ClientError::MissingArgument { .. })
        ));
        assert!(matches!(
            request_for("fly", None),
            Err(ClientError::UnknownVerb { .. })
        ));
    }

    #[test]
    fn status_reads_like_a_panel() {
        let v = json!({"status": {
            "connection": "ready", "connection_detail": null,
            "registration": null, "availability": "on", "voice": true,
            "device": {"type": 3, "name": "mobile", "phone": "0912000111"},
            "call": {"direction": "inbound", "number": "0987654321", "phase": "connected",
                     "held": true, "muted": false, "seconds": 75},
            "last_call": null, "quality": null
        }});
        let s = format_status(&v);
        assert!(s.contains("connection:   ready"), "{s}");
        assert!(s.contains("device:       3 (mobile) 0912000111"), "{s}");
        assert!(
            s.contains("call:         inbound 0987654321, connected 01:15 (held)"),
            "{s}"
        );
        // Named calls: every one, the selected one marked.
        let v = json!({
            "connection": "ready", "selected": "c2",
            "calls": [
                {"call": "c1", "direction": "inbound", "number": "0987654321",
                 "phase": "connected", "held": true, "seconds": 75},
                {"call": "c2", "direction": "inbound", "number": "0911222333",
                 "phase": "ringing", "held": false, "seconds": null}
            ]
        });
        let s = format_status(&v);
        assert!(
            s.contains("call c1:      inbound 0987654321, connected 01:15 (held)\n"),
            "{s}"
        );
        assert!(
            s.contains("call c2:      inbound 0911222333, ringing *"),
            "{s}"
        );
        assert_eq!(
            request_for("end", Some("c2")).expect("end"),
            json!({"cmd": "end", "call": "c2"})
        );
    }

    #[test]
    fn no_console_and_several_are_explained() {
        let dir = std::env::temp_dir().join(format!("tongdai-ctl-none-{}", std::process::id()));
        let e = find_socket_in(&dir).expect_err("none");
        assert!(
            e.to_string().contains("no tongdai console is running"),
            "{e}"
        );
        let e = ClientError::Several {
            sockets: vec!["/run/a.sock".into(), "/run/b.sock".into()],
        };
        let t = e.to_string();
        assert!(t.contains("--socket") && t.contains("/run/a.sock") && t.contains("/run/b.sock"));
    }
}
