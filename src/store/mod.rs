//! Call history and contacts in one SQLite file (`$XDG_DATA_HOME/tongdai/history.sqlite3`).
//!
//! - WAL mode, so `tongdai history` and the popup read while the console
//!   writes; `synchronous = NORMAL`, which survives a crash or `kill -9` of
//!   the process (only a power cut can lose the last commits).
//! - The schema is versioned in code ([`MIGRATIONS`], `PRAGMA user_version`);
//!   a file from a newer tongdai is refused rather than guessed at.
//! - A call row is written when the call starts and updated as it goes
//!   (see [`crate::history::Recorder`]), so a crash loses at most the end
//!   time. Rows left without an end are marked *interrupted* by the next
//!   open, but only when no other live process holds the store: every open
//!   [`Store`] holds a shared `flock` on `<file>.lock`, and the sweep runs
//!   under a brief exclusive one (a lock that a killed process no longer
//!   holds).
//!
//! ```text
//!  Ringing / Dialing ──▶ INSERT (started_at)        ┐
//!  CallId            ──▶ UPDATE vcc_call_id         │ each its own commit
//!  Accepted          ──▶ UPDATE answered_at         │
//!  Ended(reason)     ──▶ UPDATE ended_at, reason    ┘
//!  (process killed)  ──▶ next open: interrupted = 1
//! ```
//!
//! The file, its `-wal`, `-shm` and `.lock` are 0600 and the folder 0700
//! (they hold customer numbers and notes). A damaged file is not fatal:
//! [`Store::open_recovering`] (the console's recorder) moves it aside as
//! `history.sqlite3.corrupt-<UTC time>` and starts a fresh one.

mod calls;
mod cli;
mod contacts;
mod phone;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

pub use calls::{CallQuery, CallRecord, NewCall, Outcome};
pub use cli::{contacts_export, contacts_import, history_command, outcome_text, write_calls};
pub use contacts::{Contact, ContactInput, ImportError, ImportReport, RowProblem};
pub use phone::{PhoneError, national, normalize_phone, phone_key};

/// The schema, one entry per version: entry `i` takes a file from
/// `user_version = i` to `i + 1`. Never edit a released entry; append.
pub const MIGRATIONS: &[&str] = &[
    // 1: call history.
    "CREATE TABLE calls (
        id            INTEGER PRIMARY KEY,
        direction     TEXT    NOT NULL,           -- inbound | outbound | internal
        number        TEXT    NOT NULL,           -- as the engine gave it
        number_norm   TEXT    NOT NULL,           -- store::phone_key(number)
        display_name  TEXT,
        vcc_call_id   TEXT,
        line          TEXT,                       -- VCC hotline
        queue         TEXT,                       -- VCC IVR choice
        device        TEXT,                       -- engine::Device as JSON
        started_at    INTEGER NOT NULL,           -- unix ms
        answered_at   INTEGER,
        ended_at      INTEGER,
        end_reason    TEXT,                       -- engine::EndReason as JSON
        end_kind      TEXT,                       -- its tag, for queries
        sip_code      INTEGER,
        error_code    TEXT,
        interrupted   INTEGER NOT NULL DEFAULT 0,
        note          TEXT
    );
    CREATE INDEX calls_started ON calls(started_at);
    CREATE INDEX calls_number ON calls(number_norm, started_at);",
    // 2: contacts.
    "CREATE TABLE contacts (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL DEFAULT '',
        company     TEXT    NOT NULL DEFAULT '',
        tags        TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
        notes       TEXT    NOT NULL DEFAULT '',
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE contact_numbers (
        contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        number      TEXT    NOT NULL,              -- normalised
        position    INTEGER NOT NULL,
        PRIMARY KEY (contact_id, number)
    );
    CREATE INDEX contact_numbers_number ON contact_numbers(number);",
    // 3: a consult call names the call it served (attended transfer, issue 16).
    "ALTER TABLE calls ADD COLUMN consult_for INTEGER REFERENCES calls(id);",
];

/// How long a statement waits for another connection's lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: cannot open the history database: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: the history database has schema version {found}, newer than this tongdai knows ({known}); upgrade tongdai"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("history database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("history database: a stored value is not valid: {0}")]
    BadValue(String),
    #[error("{path}: the history database is damaged: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "--since {0:?}: expected a date (2025-01-31), a date and time (2025-01-31 08:00), `today`, `yesterday` or an age (30m, 4h, 7d, 2w)"
    )]
    BadSince(String),
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

/// The history and contacts database. One per thread (a
/// `rusqlite::Connection` is `Send`, not `Sync`); open another for another
/// thread, WAL lets them work side by side.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The shared lock that tells other openers this process is alive.
    _lock: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Open (creating the file and its folder when missing), migrate, and
    /// mark calls that a dead process left open as interrupted.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            crate::private_fs::own_dir(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        // SQLite creates the file 0644 and gives `-wal` / `-shm` the mode
        // of the database file: make that 0600 first.
        for p in [
            path.to_path_buf(),
            sibling(path, "-wal"),
            sibling(path, "-shm"),
        ] {
            let made = if p == path {
                crate::private_fs::touch(&p)
            } else {
                crate::private_fs::restrict(&p, crate::private_fs::FILE_MODE)
            };
            made.map_err(|source| StoreError::Io { path: p, source })?;
        }
        let lock_path = lock_path(path);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(crate::private_fs::FILE_MODE)
            .open(&lock_path)
            .map_err(|source| StoreError::Io {
                path: lock_path.clone(),
                source,
            })?;
        crate::private_fs::restrict(&lock_path, crate::private_fs::FILE_MODE).map_err(
            |source| StoreError::Io {
                path: lock_path.clone(),
                source,
            },
        )?;
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        migrate(&mut conn, path)?;

        // Alone? Then every open row belongs to a process that is gone.
        let io = |source| StoreError::Io {
            path: lock_path.clone(),
            source,
        };
        match lock.try_lock() {
            Ok(()) => {
                let swept = conn.execute(
                    "UPDATE calls SET interrupted = 1 WHERE ended_at IS NULL AND interrupted = 0",
                    [],
                )?;
                if swept > 0 {
                    tracing::info!(
                        swept,
                        "calls left open by an earlier run marked interrupted"
                    );
                }
                lock.unlock().map_err(io)?;
            }
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        lock.lock_shared().map_err(io)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`Store::open`] for the recorder: a file SQLite calls damaged (or
    /// not a database at all, e.g. truncated) is renamed
    /// `<file>.corrupt-<UTC time>` with its `-wal` and `-shm`, and a fresh
    /// one is opened. Returns where the old one went. A file from a newer
    /// tongdai is not damaged: that error stands.
    pub fn open_recovering(
        path: &Path,
        now: SystemTime,
    ) -> Result<(Store, Option<PathBuf>), StoreError> {
        let opened = Store::open(path).and_then(|s| {
            s.quick_check()?;
            Ok(s)
        });
        match opened {
            Ok(s) => Ok((s, None)),
            Err(e) if e.is_corrupt() => {
                tracing::error!(error = %e, "the history database is damaged; moving it aside");
                let aside = move_aside(path, now)?;
                Ok((Store::open(path)?, Some(aside)))
            }
            Err(e) => Err(e),
        }
    }

    /// SQLite's `quick_check`: the file's structure, without the slow
    /// index cross-checks.
    pub fn quick_check(&self) -> Result<(), StoreError> {
        let first: String = self
            .conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
        if first == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: first,
            })
        }
    }

    /// How long a write waits for another program's lock before it fails
    /// with [`StoreError::is_busy`].
    pub fn set_busy_timeout(&self, wait: Duration) -> Result<(), StoreError> {
        Ok(self.conn.busy_timeout(wait)?)
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The raw connection, for tests and one-off maintenance.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Local midnight of the day `now` falls in (the C library's time zone,
    /// `TZ`), as SQLite computes it.
    pub fn local_day_start(&self, now: SystemTime) -> Result<SystemTime, StoreError> {
        let secs: Option<i64> = self.conn.query_row(
            "SELECT CAST(strftime('%s', ?1, 'unixepoch', 'localtime', 'start of day', 'utc') AS INTEGER)",
            [to_ms(now) / 1000],
            |r| r.get(0),
        )?;
        let secs = secs.ok_or_else(|| StoreError::BadValue("local day start".into()))?;
        Ok(from_ms(secs * 1000))
    }

    /// `YYYY-MM-DD HH:MM:SS` in local time.
    pub fn local_time_text(&self, t: SystemTime) -> Result<String, StoreError> {
        let s: Option<String> = self.conn.query_row(
            "SELECT strftime('%Y-%m-%d %H:%M:%S', ?1, 'unixepoch', 'localtime')",
            [to_ms(t) / 1000],
            |r| r.get(0),
        )?;
        s.ok_or_else(|| StoreError::BadValue("local time".into()))
    }

    /// Parse a `--since` value: `today`, `yesterday`, an age (`30m`, `4h`,
    /// `7d`, `2w`), or a local date / date-time (`2025-01-31`,
    /// `2025-01-31 08:00`, ISO 8601 with `Z` or an offset).
    pub fn parse_since(&self, text: &str, now: SystemTime) -> Result<SystemTime, StoreError> {
        let t = text.trim();
        let bad = || StoreError::BadSince(text.to_string());
        match t.to_ascii_lowercase().as_str() {
            "today" => return self.local_day_start(now),
            "yesterday" => {
                let today = self.local_day_start(now)?;
                // The day before local midnight (DST-safe: take the start of
                // the day that one hour before midnight falls in).
                let before = today
                    .checked_sub(Duration::from_secs(3600))
                    .ok_or_else(bad)?;
                return self.local_day_start(before);
            }
            _ => {}
        }
        if let Some(unit) = t.chars().last()
            && let Some(n) = t.strip_suffix(unit).and_then(|n| n.parse::<u64>().ok())
        {
            let secs = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(bad()),
            };
            return now
                .checked_sub(Duration::from_secs(n.saturating_mul(secs)))
                .ok_or_else(bad);
        }
        if !t.starts_with(|c: char| c.is_ascii_digit()) || t.len() < 10 {
            return Err(bad());
        }
        // SQLite reads ISO 8601; a value with `Z` or an offset is absolute,
        // one without is local time.
        let time_part = t.get(10..).unwrap_or("");
        let has_zone = time_part.ends_with(['Z', 'z']) || time_part.contains(['+', '-']);
        let sql = if has_zone {
            "SELECT CAST(strftime('%s', ?1) AS INTEGER)"
        } else {
            "SELECT CAST(strftime('%s', ?1, 'utc') AS INTEGER)"
        };
        let secs: Option<i64> = self.conn.query_row(sql, [t], |r| r.get(0))?;
        secs.map(|s| from_ms(s * 1000)).ok_or_else(bad)
    }
}

fn lock_path(path: &Path) -> PathBuf {
    sibling(path, ".lock")
}

/// `path` with `suffix` appended to its name (`x.sqlite3` → `x.sqlite3-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Rename a damaged database (and its `-wal` / `-shm`, which belong to it
/// and must not be replayed into the fresh file) to
/// `<file>.corrupt-YYYYMMDDTHHMMSSZ[-n]`.
fn move_aside(path: &Path, now: SystemTime) -> Result<PathBuf, StoreError> {
    let stamp: String = rfc3339_utc(now)
        .chars()
        .take(19)
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let mut aside = sibling(path, &format!(".corrupt-{stamp}Z"));
    let mut n = 1;
    while aside.exists() {
        n += 1;
        aside = sibling(path, &format!(".corrupt-{stamp}Z-{n}"));
    }
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| StoreError::Io { path: p, source }
    };
    std::fs::rename(path, &aside).map_err(io(path))?;
    for suffix in ["-wal", "-shm"] {
        let from = sibling(path, suffix);
        if from.exists() {
            std::fs::rename(&from, sibling(&aside, suffix)).map_err(io(&from))?;
        }
    }
    Ok(aside)
}

impl StoreError {
    fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            StoreError::Open { source, .. } | StoreError::Sqlite(source) => {
                source.sqlite_error_code()
            }
            _ => None,
        }
    }

    /// The file is damaged or not a database at all.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, StoreError::Corrupt { .. })
            || matches!(
                self.sqlite_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            )
    }

    /// The disk (or the file-size limit) has no room for the write.
    pub fn is_full(&self) -> bool {
        matches!(self.sqlite_code(), Some(rusqlite::ErrorCode::DiskFull))
    }

    /// Another connection holds a lock longer than the busy timeout.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.sqlite_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tracing::info!(version = i + 1, "history database migrated");
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

pub(crate) fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// `2025-01-31T08:00:00.000Z` (UTC) for JSON output.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let ms = to_ms(t);
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_utc(from_ms(1_738_310_400_123)),
            "2025-01-31T08:00:00.123Z"
        );
        assert_eq!(
            rfc3339_utc(from_ms(951_782_400_000)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
