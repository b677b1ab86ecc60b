//! `kill -9` mid-call: the child process (this test binary, re-executed
//! with an environment variable) records a ring and its answer, then is
//! killed with SIGKILL. The row is on disk, and the next open marks it
//! interrupted; an open while the child still lives does not.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, UNIX_EPOCH};

use tongdai::engine::{CallEvent, CallId};
use tongdai::engine::{Device, Direction, Event, RingInfo};
use tongdai::history::Recorder;
use tongdai::store::{Outcome, Store};

const CHILD_ENV: &str = "TONGDAI_STORE_KILL_CHILD";
const READY: &str = "TONGDAI-CHILD-READY";

/// Runs only as the child: records a call, says so, and waits to be killed.
#[test]
fn child_records_a_call_then_waits() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let t = |s: u64| UNIX_EPOCH + Duration::from_secs(1_750_000_000 + s);
    let mut r = Recorder::new(Store::open(std::path::Path::new(&path)).unwrap());
    r.record(t(0), &Event::DeviceType(Device::Console)).unwrap();
    r.record(
        t(0),
        &Event::Call {
            call: CallId(1),
            event: CallEvent::PlatformId("k-1".into()),
        },
    )
    .unwrap();
    r.record(
        t(0),
        &Event::Call {
            call: CallId(1),
            event: CallEvent::Ringing(RingInfo {
                phone: "0987654321".into(),
                display_name: None,
                line: Some("19001234".into()),
                queue: Some("Support".into()),
                direction: Direction::Inbound,
                agent_leg: false,
            }),
        },
    )
    .unwrap();
    r.record(
        t(3),
        &Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        },
    )
    .unwrap();
    println!("{READY}");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn kill_9_mid_call_keeps_the_row_and_the_next_open_marks_it_interrupted() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("tongdai-store-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.sqlite3");

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_records_a_call_then_waits",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains(READY) {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("the child never recorded its call");
    }

    // While the child lives, its call is in progress for everyone.
    let live = Store::open(&path).unwrap();
    let row = live.last_call().unwrap().unwrap();
    assert_eq!(row.outcome(), Outcome::InProgress);
    drop(live);

    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");

    let store = Store::open(&path).unwrap();
    let calls = store.calls(&Default::default()).unwrap();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(c.outcome(), Outcome::Interrupted);
    assert!(c.interrupted);
    assert_eq!(c.number, "0987654321");
    assert_eq!(c.vcc_call_id.as_deref(), Some("k-1"));
    assert_eq!(c.queue.as_deref(), Some("Support"));
    assert_eq!(c.device, Some(Device::Console));
    assert_eq!(
        c.answered_at,
        Some(UNIX_EPOCH + Duration::from_secs(1_750_000_003)),
        "only the end time is lost"
    );
    assert_eq!(c.ended_at, None);
    // It shows in the history as interrupted, not missed (it was answered).
    assert!(!c.is_missed());
    let _ = std::fs::remove_dir_all(&dir);
}
