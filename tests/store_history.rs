//! The recorder fed with engine events, the queries the popup and the
//! history view use, the `tongdai history` output, and the tee.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tongdai::engine::{CallEvent, CallId};
use tongdai::engine::{Device, Direction, EndReason, Event, RingInfo};
use tongdai::history::{Recorder, popup_info, spawn_tee};
use tongdai::store::{CallQuery, ContactInput, Outcome, Store, history_command};

fn temp_store(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tongdai-store-history-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("history.sqlite3")
}

/// 2025-06-15 12:00:00 UTC plus `s` seconds.
fn t(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_749_988_800 + s)
}

fn ring(phone: &str) -> Event {
    Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: phone.into(),
            display_name: None,
            line: Some("19001234".into()),
            queue: Some("Sales".into()),
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    }
}

fn feed(r: &mut Recorder, events: &[(u64, Event)]) {
    for (s, e) in events {
        r.record(t(*s), e).unwrap();
    }
}

#[test]
fn inbound_answered_call_has_every_field() {
    let path = temp_store("inbound");
    let mut r = Recorder::new(Store::open(&path).unwrap());
    feed(
        &mut r,
        &[
            (0, Event::DeviceType(Device::AlwaysOnIpPhone)),
            (
                1,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::PlatformId("in-1".into()),
                },
            ),
            (1, ring("0987654321")),
        ],
    );
    let id = r.current_call().unwrap();
    let row = r.store().call(id).unwrap().unwrap();
    assert_eq!(row.outcome(), Outcome::InProgress);
    assert_eq!(row.vcc_call_id.as_deref(), Some("in-1"));
    feed(
        &mut r,
        &[
            (
                5,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Accepted,
                },
            ),
            (
                6,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Held(true),
                },
            ),
            (
                65,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::RemoteHangup),
                },
            ),
        ],
    );
    assert_eq!(r.current_call(), None);
    let c = r.store().call(id).unwrap().unwrap();
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.number, "0987654321");
    assert_eq!(c.number_norm, "+84987654321");
    assert_eq!(c.line.as_deref(), Some("19001234"));
    assert_eq!(c.queue.as_deref(), Some("Sales"));
    assert_eq!(c.device, Some(Device::AlwaysOnIpPhone));
    assert_eq!(c.started_at, t(1));
    assert_eq!(c.answered_at, Some(t(5)));
    assert_eq!(c.ended_at, Some(t(65)));
    assert_eq!(c.end_reason, Some(EndReason::RemoteHangup));
    assert_eq!(c.talk_time(), Some(Duration::from_secs(60)));
    assert_eq!(c.outcome(), Outcome::Answered);
    assert!(!c.interrupted);

    // The wrap-up note goes to the last call.
    let last = r.store().last_call().unwrap().unwrap();
    assert_eq!(last.id, id);
    assert!(r.store().set_note(id, "  wants a refund ").unwrap());
    assert_eq!(
        r.store().call(id).unwrap().unwrap().note.as_deref(),
        Some("wants a refund")
    );
}

#[test]
fn callout_with_the_platform_agent_leg_and_a_failure_with_codes() {
    let path = temp_store("callout");
    let mut r = Recorder::new(Store::open(&path).unwrap());
    feed(
        &mut r,
        &[
            (0, Event::DeviceType(Device::Console)),
            (
                10,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Dialing("0912345678".into()),
                },
            ),
            (
                11,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::PlatformId("out-1".into()),
                },
            ),
            (
                11,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ringing(RingInfo {
                        phone: "0912345678".into(),
                        display_name: None,
                        line: None,
                        queue: None,
                        direction: Direction::Outbound,
                        agent_leg: true,
                    }),
                },
            ),
            (
                12,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutStarted("0912345678".into()),
                },
            ),
            (
                20,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::CustomerAnswered,
                },
            ),
            (
                50,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::LocalHangup),
                },
            ),
            (
                60,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Dialing("0903111222".into()),
                },
            ),
            (
                62,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutFailed {
                        error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
                        sip_code: Some(486),
                        internal: None,
                    },
                },
            ),
            (
                62,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Failed {
                        error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
                        sip_code: Some(486),
                    }),
                },
            ),
        ],
    );
    let calls = r.store().calls(&CallQuery::default()).unwrap();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let (failed, ok) = (&calls[0], &calls[1]);
    assert_eq!(ok.direction, Direction::Outbound);
    assert_eq!(ok.vcc_call_id.as_deref(), Some("out-1"));
    assert_eq!(ok.device, Some(Device::Console));
    assert_eq!(ok.answered_at, Some(t(20)));
    assert_eq!(ok.outcome(), Outcome::Answered);
    assert_eq!(failed.number, "0903111222");
    assert_eq!(failed.outcome(), Outcome::NotAnswered);
    assert_eq!(
        tongdai::store::outcome_text(failed),
        "not answered (failed IPCC_NOT_CONNECT_CUSTOMER, SIP 486)"
    );
    let (sip, code): (Option<i64>, Option<String>) = r
        .store()
        .connection()
        .query_row(
            "SELECT sip_code, error_code FROM calls WHERE id = ?1",
            [failed.id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (sip, code.as_deref()),
        (Some(486), Some("IPCC_NOT_CONNECT_CUSTOMER"))
    );
}

#[test]
fn device_1_invite_first_then_the_platform_ring_merges_into_one_row() {
    let path = temp_store("merge");
    let mut r = Recorder::new(Store::open(&path).unwrap());
    let invite = Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: "+84987654321".into(),
            display_name: Some("Khach".into()),
            line: None,
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    };
    feed(
        &mut r,
        &[
            (0, invite),
            (
                0,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::PlatformId("in-9".into()),
                },
            ),
            (1, ring("0987654321")),
            (
                3,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Cancelled),
                },
            ),
        ],
    );
    let calls = r.store().calls(&CallQuery::default()).unwrap();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(c.vcc_call_id.as_deref(), Some("in-9"));
    assert_eq!(c.display_name.as_deref(), Some("Khach"));
    assert_eq!(c.line.as_deref(), Some("19001234"));
    assert_eq!(c.outcome(), Outcome::Missed);
}

#[test]
fn queries_recent_today_missed_filter_since_and_the_popup() {
    let path = temp_store("queries");
    let mut store = Store::open(&path).unwrap();
    store
        .upsert_contact(
            &ContactInput {
                name: "Nguyễn Văn An".into(),
                numbers: vec!["+84 987 654 321".into()],
                ..ContactInput::default()
            },
            t(0),
        )
        .unwrap();
    let mut r = Recorder::new(store);
    // Seven calls from An, one an hour, in number forms that differ.
    let forms = ["0987654321", "+84987654321", "84987654321"];
    for i in 0..7u64 {
        let base = i * 3600;
        let mut evs = vec![(base, ring(forms[i as usize % 3]))];
        if i % 2 == 0 {
            evs.push((
                base + 2,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Accepted,
                },
            ));
            evs.push((
                base + 30,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::LocalHangup),
                },
            ));
        } else {
            evs.push((
                base + 20,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Cancelled),
                },
            ));
        }
        feed(&mut r, &evs);
    }
    // One rejected, one answered elsewhere, one from someone else.
    feed(
        &mut r,
        &[
            (30_000, ring("0903111222")),
            (
                30_001,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Rejected { code: 603 }),
                },
            ),
            (30_100, ring("0903111222")),
            (
                30_101,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::AnsweredElsewhere),
                },
            ),
        ],
    );
    // A ringing call from An right now: not one of the "recent" ones.
    feed(
        &mut r,
        &[
            (
                40_000,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::PlatformId("live".into()),
                },
            ),
            (40_000, ring("0987 654 321")),
        ],
    );
    let store = r.store();

    let recent = store.recent_with_number("84987654321", 5).unwrap();
    assert_eq!(recent.len(), 5);
    assert_eq!(recent[0].started_at, t(6 * 3600));
    assert!(
        recent
            .windows(2)
            .all(|w| w[0].started_at >= w[1].started_at)
    );

    let popup = popup_info(store, "0987654321").unwrap();
    assert_eq!(
        popup.contact.as_ref().map(|c| c.name.as_str()),
        Some("Nguyễn Văn An")
    );
    assert_eq!(popup.recent.len(), 5);
    assert!(!popup.first_call);
    assert!(
        popup
            .recent
            .iter()
            .all(|c| c.vcc_call_id.as_deref() != Some("live"))
    );
    let stranger = popup_info(store, "0911000000").unwrap();
    assert!(stranger.first_call && stranger.contact.is_none() && stranger.recent.is_empty());
    // 0903… has history, but no contact.
    let known = popup_info(store, "0903111222").unwrap();
    assert!(!known.first_call && known.contact.is_none());

    let missed = store.missed(None).unwrap();
    let missed_numbers: Vec<(&str, Outcome)> = missed
        .iter()
        .map(|c| (c.number_norm.as_str(), c.outcome()))
        .collect();
    assert_eq!(
        missed_numbers,
        vec![
            ("+84903111222", Outcome::Rejected),
            ("+84987654321", Outcome::Missed),
            ("+84987654321", Outcome::Missed),
            ("+84987654321", Outcome::Missed),
        ]
    );
    assert!(missed.iter().all(|c| c.is_missed()));

    let filtered = store
        .calls(&CallQuery {
            number: Some("0903".into()),
            ..CallQuery::default()
        })
        .unwrap();
    assert_eq!(filtered.len(), 2);
    let exact = store
        .calls(&CallQuery {
            number: Some("098 765 4321".into()),
            ..CallQuery::default()
        })
        .unwrap();
    assert_eq!(exact.len(), 8);

    let since = store
        .calls(&CallQuery {
            since: Some(t(5 * 3600)),
            ..CallQuery::default()
        })
        .unwrap();
    assert_eq!(since.len(), 5);

    // "Today" is local: with TZ unset in tests that is UTC; 2025-06-15
    // starts at t(-12h), so every call is today, and none the day after.
    let today = store.today(t(40_001)).unwrap();
    let start = store.local_day_start(t(40_001)).unwrap();
    assert!(today.iter().all(|c| c.started_at >= start));
    assert_eq!(
        today.len(),
        store
            .calls(&CallQuery::default())
            .unwrap()
            .iter()
            .filter(|c| c.started_at >= start)
            .count()
    );
    assert!(store.today(t(5 * 86_400)).unwrap().is_empty());
}

#[test]
fn since_accepts_dates_ages_and_words() {
    let path = temp_store("since");
    let store = Store::open(&path).unwrap();
    let now = t(0);
    assert_eq!(
        store.parse_since("2h", now).unwrap(),
        t(0) - Duration::from_secs(7200)
    );
    assert_eq!(
        store.parse_since("7d", now).unwrap(),
        t(0) - Duration::from_secs(7 * 86_400)
    );
    assert_eq!(
        store.parse_since("2025-06-15T12:00:00Z", now).unwrap(),
        t(0)
    );
    assert_eq!(
        store.parse_since("2025-06-15T19:00:00+07:00", now).unwrap(),
        t(0)
    );
    let today = store.parse_since("today", now).unwrap();
    assert_eq!(today, store.local_day_start(now).unwrap());
    let yesterday = store.parse_since("yesterday", now).unwrap();
    assert!(today.duration_since(yesterday).unwrap() >= Duration::from_secs(23 * 3600));
    // A local date is local midnight.
    let d = store.parse_since("2025-06-15", now).unwrap();
    assert_eq!(store.local_time_text(d).unwrap(), "2025-06-15 00:00:00");
    let d = store.parse_since("2025-06-15 08:30", now).unwrap();
    assert_eq!(store.local_time_text(d).unwrap(), "2025-06-15 08:30:00");
    for bad in ["soon", "3x", "15/06/2025", "2025-13-45"] {
        let e = store.parse_since(bad, now).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("--since {bad:?}: expected a date")),
            "{e}"
        );
    }
}

#[test]
fn history_command_prints_text_and_json() {
    let path = temp_store("cli");
    {
        let mut r = Recorder::new(Store::open(&path).unwrap());
        feed(
            &mut r,
            &[
                (
                    0,
                    Event::Call {
                        call: CallId(1),
                        event: CallEvent::PlatformId("in-1".into()),
                    },
                ),
                (0, ring("0987654321")),
                (
                    2,
                    Event::Call {
                        call: CallId(1),
                        event: CallEvent::Accepted,
                    },
                ),
                (
                    127,
                    Event::Call {
                        call: CallId(1),
                        event: CallEvent::Ended(EndReason::RemoteHangup),
                    },
                ),
                (200, ring("0903111222")),
                (
                    210,
                    Event::Call {
                        call: CallId(1),
                        event: CallEvent::Ended(EndReason::Cancelled),
                    },
                ),
            ],
        );
        r.store().set_note(1, "refund").unwrap();
    }
    let mut out = Vec::new();
    history_command(&path, false, false, None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("  in   0903111222      missed"), "{text}");
    assert!(lines[1].contains("answered"), "{text}");
    assert!(
        lines[1].contains("  2:05  19001234 / Sales  “refund”"),
        "{text}"
    );

    let mut out = Vec::new();
    history_command(&path, true, true, None, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["number"], "0903111222");
    assert_eq!(rows[0]["number_normalized"], "+84903111222");
    assert_eq!(rows[0]["outcome"], "missed");
    assert_eq!(rows[0]["direction"], "inbound");
    assert_eq!(rows[0]["end_reason"]["reason"], "cancelled");
    assert_eq!(rows[0]["started_at"], "2025-06-15T12:03:20.000Z");

    let mut out = Vec::new();
    history_command(&path, true, false, Some("2025-06-15T12:01:00Z"), &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    let e = history_command(&path, true, false, Some("whenever"), &mut Vec::new()).unwrap_err();
    assert!(e.to_string().starts_with("--since \"whenever\""), "{e}");
}

#[test]
fn shutdown_with_a_call_open_marks_it_interrupted() {
    let path = temp_store("shutdown");
    let mut r = Recorder::new(Store::open(&path).unwrap());
    feed(
        &mut r,
        &[
            (0, ring("0987654321")),
            (
                1,
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Accepted,
                },
            ),
            (2, Event::ShutdownComplete),
        ],
    );
    let c = r.store().last_call().unwrap().unwrap();
    assert_eq!(c.outcome(), Outcome::Interrupted);
    assert_eq!(c.answered_at, Some(t(1)));
}

#[tokio::test]
async fn tee_forwards_every_event_unchanged_after_recording_it() {
    let path = temp_store("tee");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut out = spawn_tee(rx, path.clone());
    let events = vec![
        Event::Ready,
        Event::Call {
            call: CallId(1),
            event: CallEvent::PlatformId("in-1".into()),
        },
        ring("0987654321"),
        Event::AudioLevel {
            mic: 0.5,
            speaker: 0.25,
        },
        Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        },
        Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::RemoteHangup),
        },
    ];
    for e in &events {
        tx.send(e.clone()).unwrap();
    }
    drop(tx);
    let mut got = Vec::new();
    while let Some(e) = out.recv().await {
        if matches!(e.call_event(), Some(CallEvent::Ended(_))) {
            // Recorded before forwarded: the row is complete now.
            let store = Store::open(&path).unwrap();
            let c = store.last_call().unwrap().unwrap();
            assert_eq!(c.end_reason, Some(EndReason::RemoteHangup));
            assert_eq!(c.vcc_call_id.as_deref(), Some("in-1"));
            assert!(c.answered_at.is_some());
        }
        got.push(e);
    }
    assert_eq!(got, events);
}

#[tokio::test]
async fn tee_without_a_store_still_forwards_and_says_history_is_off() {
    // A path under a regular file cannot be created.
    let blocker = temp_store("tee-off").with_file_name("file");
    std::fs::write(&blocker, "x").unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut out = spawn_tee(rx, blocker.join("history.sqlite3"));
    tx.send(Event::Ready).unwrap();
    drop(tx);
    let first = out.recv().await.unwrap();
    assert!(
        matches!(
            &first,
            Event::Notice(tongdai::engine::Notice::History(
                tongdai::engine::HistoryNotice::Off { reason }
            )) if reason.contains("history")
        ),
        "{first:?}"
    );
    assert_eq!(out.recv().await, Some(Event::Ready));
    assert_eq!(out.recv().await, None);
}

/// Two calls at once (a second call answered while the first is held):
/// each is its own row, keyed by its name, and neither is cut short. Before
/// calls had names, the second ring closed the first row as interrupted.
#[test]
fn two_calls_at_once_are_two_whole_rows() {
    let path = temp_store("two-at-once");
    let mut r = Recorder::new(Store::open(&path).unwrap());
    let on = |id: u64, event: CallEvent| Event::Call {
        call: CallId(id),
        event,
    };
    let ring_as = |id: u64, phone: &str| match ring(phone) {
        Event::Call { event, .. } => on(id, event),
        e => e,
    };
    feed(
        &mut r,
        &[
            (0, ring_as(1, "0911111111")),
            (2, on(1, CallEvent::Accepted)),
        ],
    );
    let first = r.row_of(CallId(1)).expect("first row");
    feed(
        &mut r,
        &[
            (10, ring_as(2, "0922222222")),
            (11, on(1, CallEvent::Held(true))),
            (12, on(2, CallEvent::Accepted)),
        ],
    );
    let second = r.row_of(CallId(2)).expect("second row");
    assert_ne!(first, second);
    assert_eq!(r.current_call(), Some(second));
    feed(
        &mut r,
        &[
            (20, on(1, CallEvent::Ended(EndReason::RemoteHangup))),
            (30, on(2, CallEvent::Ended(EndReason::LocalHangup))),
        ],
    );
    let a = r.store().call(first).unwrap().unwrap();
    let b = r.store().call(second).unwrap().unwrap();
    assert_eq!(a.number, "0911111111");
    assert_eq!((a.answered_at, a.ended_at), (Some(t(2)), Some(t(20))));
    assert_eq!(a.end_reason, Some(EndReason::RemoteHangup));
    assert!(!a.interrupted);
    assert_eq!(b.number, "0922222222");
    assert_eq!(
        (b.started_at, b.answered_at, b.ended_at),
        (t(10), Some(t(12)), Some(t(30)))
    );
    assert_eq!(b.end_reason, Some(EndReason::LocalHangup));
    assert!(!b.interrupted);
    assert_eq!(r.current_call(), None);
}

/// Issue 16: a consult call is a row of its own, linked to the call it
/// served; `tongdai history --json` shows the link.
#[test]
fn a_consult_call_is_linked_to_the_call_it_served() {
    let path = temp_store("consult");
    let mut r = Recorder::new(Store::open(&path).unwrap());
    let on = |id: u64, event: CallEvent| Event::Call {
        call: CallId(id),
        event,
    };
    feed(
        &mut r,
        &[
            (0, ring("0911111111")),
            (2, on(1, CallEvent::Accepted)),
            (10, on(1, CallEvent::Held(true))),
            (10, on(2, CallEvent::Dialing("1003".into()))),
            (10, on(2, CallEvent::ConsultFor(CallId(1)))),
            (12, on(2, CallEvent::CustomerAnswered)),
        ],
    );
    let customer = r.row_of(CallId(1)).expect("customer row");
    let consult = r.row_of(CallId(2)).expect("consult row");
    feed(
        &mut r,
        &[
            (30, on(1, CallEvent::Ended(EndReason::LocalHangup))),
            (30, on(2, CallEvent::Ended(EndReason::LocalHangup))),
        ],
    );
    let a = r.store().call(customer).unwrap().unwrap();
    let b = r.store().call(consult).unwrap().unwrap();
    assert_eq!((a.consult_for, b.consult_for), (None, Some(customer)));
    assert_eq!(b.number, "1003");
    let mut out = Vec::new();
    let calls = r.store().calls(&CallQuery::default()).unwrap();
    tongdai::store::write_calls(r.store(), &calls, true, &mut out).unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let linked: Vec<&serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["consult_for"] == customer)
        .collect();
    assert_eq!(linked.len(), 1, "{rows:#}");
    assert_eq!(linked[0]["number"], "1003");
}

#[test]
fn a_call_taken_over_by_another_party_names_the_new_one() {
    let path = temp_store("party-changed");
    let mut r = Recorder::new(Store::open(&path).unwrap());
    let on = |event: CallEvent| Event::Call {
        call: CallId(1),
        event,
    };
    feed(
        &mut r,
        &[
            (1, ring("0987654321")),
            (2, on(CallEvent::Accepted)),
            (
                30,
                on(CallEvent::PartyChanged {
                    number: "0912345678".into(),
                    name: Some("Carol".into()),
                }),
            ),
            (40, on(CallEvent::Ended(EndReason::RemoteHangup))),
        ],
    );
    let c = r.store().last_call().unwrap().unwrap();
    assert_eq!(c.number, "0912345678");
    assert_eq!(c.display_name.as_deref(), Some("Carol"));
    // Still one call, answered when it was first answered.
    assert_eq!(c.answered_at, Some(t(2)));
    assert_eq!(c.started_at, t(1));
}
