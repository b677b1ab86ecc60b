//! A reader (`tongdai history`, the popup) while the console writes; a
//! second opener while a call is live does not mark it interrupted.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use tongdai::engine::{CallEvent, CallId};
use tongdai::engine::{Direction, EndReason, Event, RingInfo};
use tongdai::history::Recorder;
use tongdai::store::{CallQuery, Outcome, Store, history_command};

fn temp_store(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tongdai-store-concurrency-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("history.sqlite3")
}

fn ring(phone: &str) -> Event {
    Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: phone.into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    }
}

#[test]
fn a_reader_sees_consistent_rows_while_a_writer_writes() {
    const CALLS: u64 = 300;
    let path = temp_store("rw");
    drop(Store::open(&path).unwrap());
    let done = Arc::new(AtomicBool::new(false));

    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut r = Recorder::new(Store::open(&path).unwrap());
            for i in 0..CALLS {
                let t = |s: u64| UNIX_EPOCH + Duration::from_secs(1_750_000_000 + i * 100 + s);
                r.record(
                    t(0),
                    &Event::Call {
                        call: CallId(1),
                        event: CallEvent::PlatformId(format!("c-{i}")),
                    },
                )
                .unwrap();
                r.record(t(0), &ring(&format!("09{:08}", i))).unwrap();
                r.record(
                    t(1),
                    &Event::Call {
                        call: CallId(1),
                        event: CallEvent::Accepted,
                    },
                )
                .unwrap();
                r.record(
                    t(9),
                    &Event::Call {
                        call: CallId(1),
                        event: CallEvent::Ended(EndReason::RemoteHangup),
                    },
                )
                .unwrap();
            }
        })
    };
    let reader = {
        let path = path.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let store = Store::open(&path).unwrap();
            let mut last = 0;
            let mut reads = 0u32;
            while !done.load(Ordering::Acquire) || reads == 0 {
                let calls = store.calls(&CallQuery::default()).unwrap();
                assert!(calls.len() >= last, "rows never disappear");
                last = calls.len();
                for c in &calls {
                    // Every row is in a state the recorder wrote: started,
                    // answered, or ended (never half an update).
                    match c.outcome() {
                        Outcome::InProgress => assert!(c.ended_at.is_none()),
                        Outcome::Answered => {
                            assert_eq!(c.talk_time(), Some(Duration::from_secs(8)))
                        }
                        other => panic!("unexpected {other:?} in {c:?}"),
                    }
                    assert!(c.vcc_call_id.is_some());
                }
                // The CLI opens its own store while the writer works.
                if reads.is_multiple_of(10) {
                    let mut out = Vec::new();
                    history_command(&path, true, false, None, &mut out).unwrap();
                    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
                    assert!(v.as_array().unwrap().len() >= last);
                }
                reads += 1;
            }
            reads
        })
    };
    writer.join().unwrap();
    done.store(true, Ordering::Release);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    let store = Store::open(&path).unwrap();
    let calls = store.calls(&CallQuery::default()).unwrap();
    assert_eq!(calls.len() as u64, CALLS);
    assert!(calls.iter().all(|c| c.outcome() == Outcome::Answered));
}

#[test]
fn opening_while_a_call_is_live_does_not_mark_it_interrupted() {
    let path = temp_store("live");
    let mut r = Recorder::new(Store::open(&path).unwrap());
    r.record(
        UNIX_EPOCH + Duration::from_secs(1_750_000_000),
        &ring("0987654321"),
    )
    .unwrap();
    // `tongdai history` in another terminal, mid-call.
    let other = Store::open(&path).unwrap();
    assert_eq!(
        other.last_call().unwrap().unwrap().outcome(),
        Outcome::InProgress
    );
    drop(other);
    assert_eq!(
        r.store().last_call().unwrap().unwrap().outcome(),
        Outcome::InProgress
    );
    // Once the recording process is gone, the next open sweeps.
    drop(r);
    let after = Store::open(&path).unwrap();
    assert_eq!(
        after.last_call().unwrap().unwrap().outcome(),
        Outcome::Interrupted
    );
}
