//! Call history rows: written at the start of a call, updated as it goes.

use std::time::{Duration, SystemTime};

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Store, StoreError, from_ms, phone_key, to_ms};
use crate::engine::{Device, Direction, EndReason};
use crate::sanitize::{multi_line, one_line};

/// What a new row starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    pub direction: Direction,
    pub number: String,
    pub display_name: Option<String>,
    pub vcc_call_id: Option<String>,
    pub line: Option<String>,
    pub queue: Option<String>,
    pub device: Option<Device>,
    pub started_at: SystemTime,
}

/// One call as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub id: i64,
    pub direction: Direction,
    /// As the engine gave it.
    pub number: String,
    /// [`phone_key`] of `number`.
    pub number_norm: String,
    pub display_name: Option<String>,
    pub vcc_call_id: Option<String>,
    /// The VCC hotline the customer dialled.
    pub line: Option<String>,
    /// The VCC IVR choice.
    pub queue: Option<String>,
    pub device: Option<Device>,
    pub started_at: SystemTime,
    pub answered_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    pub end_reason: Option<EndReason>,
    /// The process recording it died before the call ended.
    pub interrupted: bool,
    pub note: Option<String>,
    /// A consult call: the history row of the call it served.
    pub consult_for: Option<i64>,
}

/// How a call turned out, coarse enough for a column; `end_reason` has the
/// detail (codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still going (a live process is recording it).
    InProgress,
    /// The recording process died mid-call; the end time is unknown.
    Interrupted,
    /// Talked (answered, then ended).
    Answered,
    /// A ring to us that nobody answered here (including ones the agent rejected).
    Missed,
    /// A ring to us the agent declined.
    Rejected,
    /// A ring to us answered on another device or by another agent.
    AnsweredElsewhere,
    /// Our call-out that the customer never answered (busy, no answer,
    /// failed, cancelled: see `end_reason`).
    NotAnswered,
    /// Answered, then transferred by us (the target is in `end_reason`).
    Transferred,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InProgress => "in progress",
            Outcome::Interrupted => "interrupted",
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Rejected => "rejected",
            Outcome::AnsweredElsewhere => "answered elsewhere",
            Outcome::NotAnswered => "not answered",
            Outcome::Transferred => "transferred",
        }
    }
}

impl CallRecord {
    pub fn outcome(&self) -> Outcome {
        if self.ended_at.is_none() {
            return if self.interrupted {
                Outcome::Interrupted
            } else {
                Outcome::InProgress
            };
        }
        if self.answered_at.is_some() {
            return match self.end_reason {
                Some(EndReason::Transferred { .. }) => Outcome::Transferred,
                _ => Outcome::Answered,
            };
        }
        match (self.direction, &self.end_reason) {
            (Direction::Outbound, _) => Outcome::NotAnswered,
            (_, Some(EndReason::AnsweredElsewhere)) => Outcome::AnsweredElsewhere,
            (_, Some(EndReason::Rejected { .. })) => Outcome::Rejected,
            _ => Outcome::Missed,
        }
    }

    /// Talk time: answer to end.
    pub fn talk_time(&self) -> Option<Duration> {
        let (a, e) = (self.answered_at?, self.ended_at?);
        e.duration_since(a).ok()
    }

    /// A ring to us that was not answered anywhere (what "missed calls" lists).
    pub fn is_missed(&self) -> bool {
        matches!(self.outcome(), Outcome::Missed | Outcome::Rejected)
            || (self.interrupted
                && self.answered_at.is_none()
                && self.direction != Direction::Outbound)
    }
}

/// A history query; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallQuery {
    /// A number or a fragment of one (`0912`, `345678`, `+84912345678`).
    pub number: Option<String>,
    pub missed_only: bool,
    pub since: Option<SystemTime>,
    /// Newest first; `None` for all.
    pub limit: Option<usize>,
    /// Leave out calls still in progress (the popup's "before" list).
    pub finished_only: bool,
}

const COLUMNS: &str = "id, direction, number, number_norm, display_name, vcc_call_id, line, queue, \
     device, started_at, answered_at, ended_at, end_reason, interrupted, note, consult_for";

fn direction_text(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
        Direction::Internal => "internal",
    }
}

fn end_kind(r: &EndReason) -> &'static str {
    match r {
        EndReason::LocalHangup => "local_hangup",
        EndReason::RemoteHangup => "remote_hangup",
        EndReason::Cancelled => "cancelled",
        EndReason::Busy => "busy",
        EndReason::NoAnswer => "no_answer",
        EndReason::Rejected { .. } => "rejected",
        EndReason::Failed { .. } => "failed",
        EndReason::Timeout => "timeout",
        EndReason::TransportLost => "transport_lost",
        EndReason::AnsweredElsewhere => "answered_elsewhere",
        EndReason::Transferred { .. } => "transferred",
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("{what}: {e}").into(),
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<CallRecord> {
    let direction = match r.get::<_, String>(1)?.as_str() {
        "outbound" => Direction::Outbound,
        "internal" => Direction::Internal,
        _ => Direction::Inbound,
    };
    let device = match r.get::<_, Option<String>>(8)? {
        Some(j) => Some(serde_json::from_str::<Device>(&j).map_err(|e| bad("device", e))?),
        None => None,
    };
    let end_reason = match r.get::<_, Option<String>>(12)? {
        Some(j) => Some(serde_json::from_str::<EndReason>(&j).map_err(|e| bad("end_reason", e))?),
        None => None,
    };
    Ok(CallRecord {
        id: r.get(0)?,
        direction,
        number: r.get(2)?,
        number_norm: r.get(3)?,
        display_name: r.get(4)?,
        vcc_call_id: r.get(5)?,
        line: r.get(6)?,
        queue: r.get(7)?,
        device,
        started_at: from_ms(r.get(9)?),
        answered_at: r.get::<_, Option<i64>>(10)?.map(from_ms),
        ended_at: r.get::<_, Option<i64>>(11)?.map(from_ms),
        end_reason,
        interrupted: r.get::<_, i64>(13)? != 0,
        note: r.get(14)?,
        consult_for: r.get(15)?,
    })
}

/// Every text column is written through [`crate::sanitize`]: numbers and
/// names come from the network, and `tongdai history` prints them.
fn opt_line(text: Option<&str>) -> Option<String> {
    text.map(|t| one_line(t).into_owned())
}

fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::BadValue(e.to_string()))
}

impl Store {
    /// Insert the row for a call that just started; returns its id.
    pub fn start_call(&self, call: &NewCall) -> Result<i64, StoreError> {
        let device = call.device.as_ref().map(json).transpose()?;
        let number = one_line(&call.number);
        self.conn.execute(
            "INSERT INTO calls (direction, number, number_norm, display_name, vcc_call_id, line, queue, device, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                direction_text(call.direction),
                number,
                phone_key(&number),
                opt_line(call.display_name.as_deref()),
                opt_line(call.vcc_call_id.as_deref()),
                opt_line(call.line.as_deref()),
                opt_line(call.queue.as_deref()),
                device,
                to_ms(call.started_at),
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Link consult call `id` to the call `served` (both history rows).
    pub fn set_consult_for(&self, id: i64, served: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET consult_for = ?2 WHERE id = ?1",
            params![id, served],
        )?;
        Ok(())
    }

    pub fn set_call_id(&self, id: i64, vcc_call_id: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET vcc_call_id = ?2 WHERE id = ?1",
            params![id, one_line(vcc_call_id)],
        )?;
        Ok(())
    }

    pub fn set_number(&self, id: i64, number: &str) -> Result<(), StoreError> {
        let number = one_line(number);
        self.conn.execute(
            "UPDATE calls SET number = ?2, number_norm = ?3 WHERE id = ?1",
            params![id, number, phone_key(&number)],
        )?;
        Ok(())
    }

    /// Fill in the ring's popup fields when they arrive after the row
    /// (VCC device 1: the INVITE comes before the platform's ring message).
    /// `None` keeps what is there.
    pub fn set_ring_details(
        &self,
        id: i64,
        display_name: Option<&str>,
        line: Option<&str>,
        queue: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET display_name = COALESCE(?2, display_name), line = COALESCE(?3, line),
                              queue = COALESCE(?4, queue) WHERE id = ?1",
            params![id, opt_line(display_name), opt_line(line), opt_line(queue)],
        )?;
        Ok(())
    }

    /// The first answer wins; a later one is ignored.
    pub fn mark_answered(&self, id: i64, at: SystemTime) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET answered_at = COALESCE(answered_at, ?2) WHERE id = ?1",
            params![id, to_ms(at)],
        )?;
        Ok(())
    }

    pub fn end_call(&self, id: i64, at: SystemTime, reason: &EndReason) -> Result<(), StoreError> {
        let (sip_code, error_code) = match reason {
            EndReason::Rejected { code } => (Some(*code), None),
            EndReason::Failed {
                error_code,
                sip_code,
            } => (*sip_code, error_code.clone()),
            _ => (None, None),
        };
        self.conn.execute(
            "UPDATE calls SET ended_at = ?2, end_reason = ?3, end_kind = ?4, sip_code = ?5, error_code = ?6
             WHERE id = ?1",
            params![
                id,
                to_ms(at),
                json(reason)?,
                end_kind(reason),
                sip_code,
                error_code
            ],
        )?;
        Ok(())
    }

    /// The recorder lost track of the call (the engine stopped without an end).
    pub fn mark_interrupted(&self, id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE calls SET interrupted = 1 WHERE id = ?1 AND ended_at IS NULL",
            [id],
        )?;
        Ok(())
    }

    /// The agent's wrap-up note (empty clears it). Editable any time.
    pub fn set_note(&self, id: i64, note: &str) -> Result<bool, StoreError> {
        let note = multi_line(note.trim());
        let note = note.as_ref();
        let n = self.conn.execute(
            "UPDATE calls SET note = ?2 WHERE id = ?1",
            params![id, (!note.is_empty()).then_some(note)],
        )?;
        Ok(n == 1)
    }

    pub fn call(&self, id: i64) -> Result<Option<CallRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM calls WHERE id = ?1");
        Ok(self.conn.query_row(&sql, [id], from_row).optional()?)
    }

    /// The newest call (the one the wrap-up note goes to).
    pub fn last_call(&self) -> Result<Option<CallRecord>, StoreError> {
        Ok(self
            .calls(&CallQuery {
                limit: Some(1),
                ..CallQuery::default()
            })?
            .pop())
    }

    /// Calls matching `q`, newest first.
    pub fn calls(&self, q: &CallQuery) -> Result<Vec<CallRecord>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM calls WHERE 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(number) = q.number.as_deref() {
            match number_filter(number) {
                NumberFilter::Exact(key) => {
                    args.push(key.into());
                    sql.push_str(&format!(" AND number_norm = ?{}", args.len()));
                }
                NumberFilter::Fragment(digits) => {
                    args.push(format!("%{digits}%").into());
                    sql.push_str(&format!(" AND number_norm LIKE ?{}", args.len()));
                }
            }
        }
        if let Some(since) = q.since {
            args.push(to_ms(since).into());
            sql.push_str(&format!(" AND started_at >= ?{}", args.len()));
        }
        if q.missed_only {
            sql.push_str(
                " AND direction != 'outbound' AND answered_at IS NULL
                  AND (ended_at IS NOT NULL OR interrupted = 1)
                  AND COALESCE(end_kind, '') != 'answered_elsewhere'",
            );
        }
        if q.finished_only {
            sql.push_str(" AND (ended_at IS NOT NULL OR interrupted = 1)");
        }
        sql.push_str(" ORDER BY started_at DESC, id DESC");
        if let Some(limit) = q.limit {
            args.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
            sql.push_str(&format!(" LIMIT ?{}", args.len()));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The last `limit` finished calls with this number (the popup's list).
    pub fn recent_with_number(
        &self,
        number: &str,
        limit: usize,
    ) -> Result<Vec<CallRecord>, StoreError> {
        self.calls(&CallQuery {
            number: Some(phone_key(number)),
            limit: Some(limit),
            finished_only: true,
            ..CallQuery::default()
        })
    }

    /// Calls since local midnight of `now`'s day.
    pub fn today(&self, now: SystemTime) -> Result<Vec<CallRecord>, StoreError> {
        let since = self.local_day_start(now)?;
        self.calls(&CallQuery {
            since: Some(since),
            ..CallQuery::default()
        })
    }

    /// Rings to us that nobody answered, since `since` (all when `None`).
    pub fn missed(&self, since: Option<SystemTime>) -> Result<Vec<CallRecord>, StoreError> {
        self.calls(&CallQuery {
            since,
            missed_only: true,
            ..CallQuery::default()
        })
    }
}

enum NumberFilter {
    Exact(String),
    Fragment(String),
}

/// A full number matches its key exactly; a fragment matches anywhere in
/// the key, with a leading trunk `0` dropped (`0912` finds `+84912…`).
fn number_filter(text: &str) -> NumberFilter {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if let Ok(key) = super::normalize_phone(text)
        && (key.starts_with('+') || digits.len() >= 9)
    {
        return NumberFilter::Exact(key);
    }
    let frag = digits.strip_prefix('0').unwrap_or(&digits).to_string();
    if frag.is_empty() {
        NumberFilter::Fragment(text.trim().replace(['%', '_'], ""))
    } else {
        NumberFilter::Fragment(frag)
    }
}
