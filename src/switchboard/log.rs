//! The switchboard's event log: every frame in and out (tokens redacted),
//! every REST call (no query strings), and notes for what happened
//! (`login`, `voice_moved`, `device_change`, `call_end`, …). Tests read it in
//! memory; `--log` also appends it as JSON lines.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// Milliseconds since the switchboard started.
    pub t_ms: u64,
    /// `in` (client → server frame), `out` (server → client), `rest`, `note`.
    pub kind: String,
    /// The agent's extension, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conn: Option<u64>,
    /// For frames: the objectId.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<i64>,
    /// Frames (redacted JSON), REST requests, or a note's fields.
    pub detail: Value,
}

struct Inner {
    started: Instant,
    entries: Mutex<Vec<LogEntry>>,
    file: Option<Mutex<File>>,
    notify: Notify,
}

/// A cloneable handle on the log.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

impl EventLog {
    pub fn new(file: Option<&Path>) -> std::io::Result<EventLog> {
        let file = match file {
            Some(p) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )),
            None => None,
        };
        Ok(EventLog {
            inner: Arc::new(Inner {
                started: Instant::now(),
                entries: Mutex::new(Vec::new()),
                file,
                notify: Notify::new(),
            }),
        })
    }

    pub fn push(
        &self,
        kind: &str,
        agent: Option<&str>,
        conn: Option<u64>,
        object_id: Option<i64>,
        detail: Value,
    ) {
        let e = LogEntry {
            t_ms: self.inner.started.elapsed().as_millis() as u64,
            kind: kind.to_string(),
            agent: agent.map(str::to_string),
            conn,
            object_id,
            detail,
        };
        if let Some(f) = &self.inner.file
            && let Ok(mut f) = f.lock()
            && let Ok(line) = serde_json::to_string(&e)
        {
            let _ = writeln!(f, "{line}");
        }
        if let Ok(mut v) = self.inner.entries.lock() {
            v.push(e);
        }
        self.inner.notify.notify_waiters();
    }

    /// A note: something the switchboard decided.
    pub fn note(&self, what: &str, agent: Option<&str>, mut fields: Value) {
        if let Value::Object(m) = &mut fields {
            m.insert("note".into(), Value::String(what.to_string()));
        }
        self.push("note", agent, None, None, fields);
    }

    pub fn entries(&self) -> Vec<LogEntry> {
        self.inner
            .entries
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// The whole log as JSON lines (what `--log` writes).
    pub fn to_jsonl(&self) -> String {
        self.entries()
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .map(|l| l + "\n")
            .collect()
    }

    /// Wait until an entry matches (checking those already there first).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&LogEntry) -> bool,
    ) -> Option<LogEntry> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.notify.notified();
            if let Some(e) = self.entries().into_iter().find(|e| pred(e)) {
                return Some(e);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

impl LogEntry {
    pub fn is_note(&self, what: &str) -> bool {
        self.kind == "note" && self.detail.get("note").and_then(Value::as_str) == Some(what)
    }
}
