//! `tongdai history` and `tongdai contacts import|export`: what `main.rs`
//! calls. Plain text for people, `--json` for scripts.

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use super::{CallQuery, CallRecord, ImportError, ImportReport, Store, StoreError, rfc3339_utc};
use crate::engine::{Device, Direction, EndReason};
use crate::sanitize::one_line;

/// One history row as `--json` prints it (times in UTC, RFC 3339).
#[derive(Debug, Serialize)]
struct CallJson<'a> {
    id: i64,
    direction: Direction,
    number: &'a str,
    number_normalized: &'a str,
    display_name: Option<&'a str>,
    vcc_call_id: Option<&'a str>,
    line: Option<&'a str>,
    queue: Option<&'a str>,
    device: Option<&'a Device>,
    started_at: String,
    answered_at: Option<String>,
    ended_at: Option<String>,
    talk_seconds: Option<u64>,
    outcome: super::Outcome,
    end_reason: Option<&'a EndReason>,
    interrupted: bool,
    note: Option<&'a str>,
    consult_for: Option<i64>,
}

impl<'a> From<&'a CallRecord> for CallJson<'a> {
    fn from(c: &'a CallRecord) -> Self {
        CallJson {
            id: c.id,
            direction: c.direction,
            number: &c.number,
            number_normalized: &c.number_norm,
            display_name: c.display_name.as_deref(),
            vcc_call_id: c.vcc_call_id.as_deref(),
            line: c.line.as_deref(),
            queue: c.queue.as_deref(),
            device: c.device.as_ref(),
            started_at: rfc3339_utc(c.started_at),
            answered_at: c.answered_at.map(rfc3339_utc),
            ended_at: c.ended_at.map(rfc3339_utc),
            talk_seconds: c.talk_time().map(|d| d.as_secs()),
            outcome: c.outcome(),
            end_reason: c.end_reason.as_ref(),
            interrupted: c.interrupted,
            note: c.note.as_deref(),
            consult_for: c.consult_for,
        }
    }
}

/// `tongdai history [--json] [--missed] [--since WHEN]`: newest first.
/// `--json` prints one JSON array; `--since` takes what
/// [`Store::parse_since`] reads.
pub fn history_command(
    store_path: &Path,
    json: bool,
    missed: bool,
    since: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), StoreError> {
    let store = Store::open(store_path)?;
    let since = since
        .map(|s| store.parse_since(s, SystemTime::now()))
        .transpose()?;
    let calls = store.calls(&CallQuery {
        missed_only: missed,
        since,
        ..CallQuery::default()
    })?;
    write_calls(&store, &calls, json, out)
}

/// Print `calls` as `history_command` does.
pub fn write_calls(
    store: &Store,
    calls: &[CallRecord],
    json: bool,
    out: &mut dyn Write,
) -> Result<(), StoreError> {
    if json {
        let rows: Vec<CallJson<'_>> = calls.iter().map(CallJson::from).collect();
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(|e| {
            // Keep the I/O kind (a closed pipe must stay recognisable).
            StoreError::Output(match e.io_error_kind() {
                Some(kind) => std::io::Error::new(kind, e),
                None => std::io::Error::other(e),
            })
        })?;
        writeln!(out).map_err(StoreError::Output)?;
        return Ok(());
    }
    for c in calls {
        let dir = match c.direction {
            Direction::Inbound => "in ",
            Direction::Outbound => "out",
            Direction::Internal => "int",
        };
        let talk = c
            .talk_time()
            .map(|d| format!("{}:{:02}", d.as_secs() / 60, d.as_secs() % 60))
            .unwrap_or_else(|| "-".into());
        // A database written before the input checks may still hold
        // terminal controls: nothing raw reaches the terminal.
        let line = [c.line.as_deref(), c.queue.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
        let line = one_line(&line);
        writeln!(
            out,
            "{}  {dir}  {:<14}  {:<22}  {talk:>6}  {line}{}{}",
            store.local_time_text(c.started_at)?,
            one_line(&c.number),
            one_line(&outcome_text(c)),
            if line.is_empty() { "" } else { "  " },
            c.note
                .as_deref()
                .map(|n| format!("“{}”", one_line(n)))
                .unwrap_or_default(),
        )
        .map_err(StoreError::Output)?;
    }
    Ok(())
}

/// `missed`, `not answered (busy)`, `not answered (failed IPCC_X, SIP 486)`…
pub fn outcome_text(c: &CallRecord) -> String {
    let o = c.outcome().as_str();
    let detail = match &c.end_reason {
        Some(EndReason::Busy) => "busy".to_string(),
        Some(EndReason::NoAnswer) => "no answer".to_string(),
        Some(EndReason::Timeout) => "timeout".to_string(),
        Some(EndReason::TransportLost) => "connection lost".to_string(),
        Some(EndReason::Rejected { code }) => format!("SIP {code}"),
        Some(EndReason::Transferred { target }) => format!("to {target}"),
        Some(EndReason::Failed {
            error_code,
            sip_code,
        }) => {
            let parts: Vec<String> = error_code
                .iter()
                .cloned()
                .chain(sip_code.map(|s| format!("SIP {s}")))
                .collect();
            if parts.is_empty() {
                "failed".into()
            } else {
                format!("failed {}", parts.join(", "))
            }
        }
        _ => String::new(),
    };
    if detail.is_empty() || c.outcome() == super::Outcome::Answered {
        o.to_string()
    } else {
        format!("{o} ({detail})")
    }
}

/// `tongdai contacts import FILE.csv`: prints the report (added, updated,
/// each skipped row with its line number) and returns it.
pub fn contacts_import(
    store_path: &Path,
    csv_path: &Path,
    out: &mut dyn Write,
) -> Result<ImportReport, ImportError> {
    let mut store = Store::open(store_path)?;
    let report = store.import_csv(csv_path, SystemTime::now())?;
    writeln!(out, "{}: {report}", csv_path.display())
        .map_err(|e| ImportError::Store(StoreError::Output(e)))?;
    Ok(report)
}

/// `tongdai contacts export`: every contact as CSV on `out`; returns how many.
pub fn contacts_export(store_path: &Path, out: &mut dyn Write) -> Result<usize, StoreError> {
    let store = Store::open(store_path)?;
    store.export_csv(out)
}
