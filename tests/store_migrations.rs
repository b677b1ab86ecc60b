//! Schema migrations: from an empty file, from each earlier schema (frozen
//! here as it was shipped, with data in it), reopening, and a file from a
//! newer tongdai.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::Connection;
use tongdai::engine::{Direction, EndReason};
use tongdai::store::{MIGRATIONS, Outcome, SCHEMA_VERSION, Store, StoreError};

fn temp_store(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tongdai-store-migrations-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("history.sqlite3")
}

/// Version 1 as released: the call history only.
const SCHEMA_V1: &str = "CREATE TABLE calls (
        id            INTEGER PRIMARY KEY,
        direction     TEXT    NOT NULL,
        number        TEXT    NOT NULL,
        number_norm   TEXT    NOT NULL,
        display_name  TEXT,
        vcc_call_id   TEXT,
        line          TEXT,
        queue         TEXT,
        device        TEXT,
        started_at    INTEGER NOT NULL,
        answered_at   INTEGER,
        ended_at      INTEGER,
        end_reason    TEXT,
        end_kind      TEXT,
        sip_code      INTEGER,
        error_code    TEXT,
        interrupted   INTEGER NOT NULL DEFAULT 0,
        note          TEXT
    );
    CREATE INDEX calls_started ON calls(started_at);
    CREATE INDEX calls_number ON calls(number_norm, started_at);
    PRAGMA user_version = 1;";

fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_frozen_schemas_match_the_migrations() {
    // If this fails, a released migration was edited: append a new one instead.
    let a = Connection::open_in_memory().unwrap();
    a.execute_batch(SCHEMA_V1).unwrap();
    let b = Connection::open_in_memory().unwrap();
    b.execute_batch(MIGRATIONS[0]).unwrap();
    let schema = |c: &Connection| -> Vec<String> {
        let mut s = c
            .prepare("SELECT name || ':' || type FROM sqlite_master ORDER BY name")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(schema(&a), schema(&b));
    let cols = |c: &Connection| -> Vec<(String, String)> {
        let mut s = c.prepare("PRAGMA table_info(calls)").unwrap();
        s.query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(cols(&a), cols(&b));
}

#[test]
fn from_an_empty_file() {
    let path = temp_store("empty");
    std::fs::write(&path, b"").unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 3);
    assert_eq!(
        tables(store.connection()),
        vec!["calls", "contact_numbers", "contacts"]
    );
    let mode: String = store
        .connection()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn from_no_file_and_no_folder() {
    let path = temp_store("nofolder").with_file_name("deeper/still/history.sqlite3");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(path.exists());
}

#[test]
fn from_version_1_keeps_the_calls_and_adds_contacts() {
    let path = temp_store("v1");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        conn.execute(
            "INSERT INTO calls (direction, number, number_norm, line, queue, device, started_at,
                                answered_at, ended_at, end_reason, end_kind, note)
             VALUES ('inbound', '0987654321', '+84987654321', '19001234', 'Sales',
                     '{\"type\":\"console\"}', 1749988800000, 1749988805000, 1749988865000,
                     '{\"reason\":\"remote_hangup\"}', 'remote_hangup', 'old note')",
            [],
        )
        .unwrap();
        // A v1 file left by a crash mid-call.
        conn.execute(
            "INSERT INTO calls (direction, number, number_norm, started_at)
             VALUES ('outbound', '0903111222', '+84903111222', 1749989000000)",
            [],
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let calls = store.calls(&Default::default()).unwrap();
    assert_eq!(calls.len(), 2);
    let old = calls.iter().find(|c| c.number == "0987654321").unwrap();
    assert_eq!(old.direction, Direction::Inbound);
    assert_eq!(old.end_reason, Some(EndReason::RemoteHangup));
    assert_eq!(
        old.talk_time(),
        Some(Duration::from_secs(60)),
        "times survive"
    );
    assert_eq!(old.note.as_deref(), Some("old note"));
    assert_eq!(
        old.started_at,
        UNIX_EPOCH + Duration::from_secs(1_749_988_800)
    );
    let crashed = calls.iter().find(|c| c.number == "0903111222").unwrap();
    assert_eq!(crashed.outcome(), Outcome::Interrupted);
    // The new tables work.
    store
        .upsert_contact(
            &tongdai::store::ContactInput {
                name: "An".into(),
                numbers: vec!["0987654321".into()],
                ..Default::default()
            },
            UNIX_EPOCH,
        )
        .unwrap();
    assert!(store.contact_by_number("+84987654321").unwrap().is_some());
}

#[test]
fn reopening_the_current_schema_changes_nothing() {
    let path = temp_store("reopen");
    drop(Store::open(&path).unwrap());
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        tables(store.connection()),
        vec!["calls", "contact_numbers", "contacts"]
    );
}

#[test]
fn a_file_from_a_newer_tongdai_is_refused_untouched() {
    let path = temp_store("newer");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found: 99, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("the history database has schema version 99, newer than this tongdai knows (3); upgrade tongdai"),
        "{err}"
    );
    let conn = Connection::open(&path).unwrap();
    assert_eq!(tables(&conn), vec!["future"]);
}

#[test]
fn a_file_that_is_not_a_database_is_reported() {
    let path = temp_store("garbage");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains("history.sqlite3: "), "{err}");
    assert!(err.contains("not a database"), "{err}");
}

/// Version 3 adds `calls.consult_for`; rows of version 2 keep everything.
#[test]
fn from_version_2_adds_the_consult_link_and_keeps_the_rows() {
    let path = temp_store("v2");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        conn.execute_batch(
            "INSERT INTO calls (direction, number, number_norm, started_at, note)
             VALUES ('inbound', '0911111111', '+84911111111', 1000, 'kept');
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3);
    let c = store.call(1).unwrap().expect("the old row");
    assert_eq!((c.note.as_deref(), c.consult_for), (Some("kept"), None));
    store.set_consult_for(1, 1).unwrap();
    assert_eq!(store.call(1).unwrap().unwrap().consult_for, Some(1));
}
