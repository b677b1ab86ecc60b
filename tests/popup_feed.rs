//! main's TUI wiring without a terminal: engine events through the real
//! history tee and `popup_feed::forward` (real SQLite store, a local HTTP
//! CRM), the `Msg`s it produces, in order, then those `Msg`s in the real
//! `App` rendered into a `TestBackend`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tongdai::app::keymap::Keymap;
use tongdai::app::state::{AppState, Effect};
use tongdai::app::theme::{ColorDepth, Theme};
use tongdai::app::{App, Msg};
use tongdai::call::errors::Lang;
use tongdai::crm::{Crm, CrmConfig, CrmError, CrmMapping, NumberFormat};
use tongdai::engine::{CallEvent, CallId};
use tongdai::engine::{Direction, EndReason, Event, RingInfo};
use tongdai::history::{Recorder, spawn_tee};
use tongdai::popup_feed::{Feed, forward};
use tongdai::secret::Secret;
use tongdai::store::{ContactInput, Outcome, Store};

const TOKEN: &str = "tok-SEKRIT-popup-feed";

fn temp_store(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tongdai-popup-feed-{}-{name}", std::process::id()));
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
            line: Some("19001234".into()),
            queue: Some("Phím 1".into()),
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    }
}

/// Hồng is a contact and called once last year (talked, with a note).
fn seed(path: &Path) -> i64 {
    let mut store = Store::open(path).unwrap();
    let t = |s: u64| UNIX_EPOCH + Duration::from_secs(1_749_988_800 + s);
    store
        .upsert_contact(
            &ContactInput {
                name: "Nguyễn Thị Hồng".into(),
                company: "Minh An".into(),
                numbers: vec!["0987654321".into()],
                tags: vec!["VIP".into()],
                notes: "Prefers afternoons".into(),
            },
            t(0),
        )
        .unwrap();
    let mut r = Recorder::new(store);
    r.record(t(10), &ring("0987654321")).unwrap();
    let id = r.current_call().unwrap();
    r.record(
        t(15),
        &Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        },
    )
    .unwrap();
    r.record(
        t(200),
        &Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::RemoteHangup),
        },
    )
    .unwrap();
    r.store().set_note(id, "wants the invoice").unwrap();
    id
}

/// A CRM that answers every request with `status` and `body`, after `delay`.
async fn crm_server(status: u16, body: &'static str, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                tokio::time::sleep(delay).await;
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/customers?phone={{number}}")
}

fn crm(url: String, timeout_ms: u64) -> Arc<Crm> {
    let cfg = CrmConfig {
        url,
        headers: BTreeMap::new(),
        token_env: "TONGDAI_TEST_CRM_TOKEN_UNSET".into(),
        token_file: None,
        timeout_ms,
        number_format: NumberFormat::National,
        mapping: CrmMapping::default(),
    };
    Arc::new(Crm::with_token(cfg, Some(Secret::new(TOKEN))).unwrap())
}

struct Wiring {
    events: mpsc::UnboundedSender<Event>,
    effects: mpsc::UnboundedSender<Effect>,
    msgs: mpsc::UnboundedReceiver<Msg>,
}

/// What main does between the engine and the console.
fn wire(path: &Path, crm: Option<Arc<Crm>>) -> Wiring {
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (eff_tx, eff_rx) = mpsc::unbounded_channel();
    let (tx, msgs) = mpsc::unbounded_channel();
    let tee = spawn_tee(ev_rx, path.to_path_buf());
    let feed = Feed::new(Some(Store::open(path).unwrap()), crm);
    tokio::spawn(forward(tee, eff_rx, feed, tx, |e, _| e));
    Wiring {
        events: ev_tx,
        effects: eff_tx,
        msgs,
    }
}

async fn next(w: &mut Wiring) -> Msg {
    tokio::time::timeout(Duration::from_secs(5), w.msgs.recv())
        .await
        .expect("a message within 5 s")
        .expect("the feed is running")
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    t.backend().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_brings_local_data_then_crm_data_then_the_note_goes_to_its_row() {
    let path = temp_store("full");
    let old_row = seed(&path);
    let url = crm_server(
        200,
        r#"{"name":"Hong N.","company":"Minh An JSC","tags":["gold"],"notes":"Renewal due in May"}"#,
        Duration::from_millis(800),
    )
    .await;
    let mut w = wire(&path, Some(crm(url, 2000)));
    let mut state = AppState::new(Lang::En, Keymap::defaults().unwrap(), Instant::now());
    state.crm_configured = true;
    state.notes_enabled = true;
    let mut app = App::new(
        state,
        Theme::cycle(Theme::builtin("dark", ColorDepth::TrueColor).unwrap()),
    );

    let rang = Instant::now();
    w.events.send(ring("0987654321")).unwrap();
    // The ring first, then the store's data at once.
    let m = next(&mut w).await;
    assert!(
        matches!(
            &m,
            Msg::Engine(Event::Call {
                call: CallId(1),
                event: CallEvent::Ringing(_)
            })
        ),
        "{m:?}"
    );
    app.update(m);
    let m = next(&mut w).await;
    let local = rang.elapsed();
    eprintln!("local popup data {} µs after the ring", local.as_micros());
    // "At once": not waiting on the CRM (which takes 800 ms here).
    assert!(local < Duration::from_millis(400), "{local:?}");
    let Msg::CustomerInfo { number, info } = &m else {
        panic!("{m:?}")
    };
    assert_eq!(number, "0987654321");
    assert_eq!(info.name.as_deref(), Some("Nguyễn Thị Hồng"));
    assert_eq!(info.company.as_deref(), Some("Minh An"));
    assert_eq!(info.tags, vec!["VIP".to_string()]);
    assert_eq!(info.notes.as_deref(), Some("Prefers afternoons"));
    assert!(!info.first_call);
    assert_eq!(info.recent.len(), 1);
    assert_eq!(info.recent[0].row, old_row);
    assert_eq!(info.recent[0].outcome, Outcome::Answered);
    assert_eq!(info.recent[0].talk_secs, Some(185));
    assert_eq!(info.recent[0].note.as_deref(), Some("wants the invoice"));
    app.update(m);
    let t = screen(&app);
    assert!(t.contains("looking up in CRM…"), "{t}");
    assert!(t.contains("wants the invoice"), "{t}");

    // The CRM answers later (the server waits 800 ms).
    let m = next(&mut w).await;
    eprintln!("CRM data {} ms after the ring", rang.elapsed().as_millis());
    let Msg::CrmResult { number, result } = &m else {
        panic!("{m:?}")
    };
    assert_eq!(number, "0987654321");
    let rec = result.clone().unwrap().unwrap();
    assert_eq!(rec.tags, vec!["gold".to_string()]);
    app.update(m);
    let t = screen(&app);
    assert!(!t.contains("looking up in CRM"), "{t}");
    assert!(t.contains("[VIP] [gold]"), "{t}");
    assert!(t.contains("Renewal due in May"), "{t}");

    // Talk, hang up: the feed names the row the tee wrote.
    w.events
        .send(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .unwrap();
    w.events
        .send(Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::RemoteHangup),
        })
        .unwrap();
    let mut row = None;
    for _ in 0..3 {
        let m = next(&mut w).await;
        if let Msg::CallRecorded { number, row: r } = &m {
            assert_eq!(number, "0987654321");
            row = Some(*r);
        }
        app.update(m);
    }
    let row = row.expect("CallRecorded after Ended");
    assert_ne!(row, old_row);
    assert!(screen(&app).contains("Wrap-up note"));

    // The note typed in the prompt, as the loop hands the effect over.
    for c in "call back Monday".chars() {
        let key: tongdai::app::keymap::Key = c.to_string().parse().unwrap();
        app.update(Msg::Key(crossterm::event::KeyEvent::new(
            key.code, key.mods,
        )));
    }
    app.update(Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    )));
    let effects = std::mem::take(&mut app.state.effects);
    assert_eq!(
        effects,
        vec![Effect::SaveNote {
            row: Some(row),
            number: "0987654321".into(),
            note: "call back Monday".into(),
        }]
    );
    for e in effects {
        w.effects.send(e).unwrap();
    }
    let m = next(&mut w).await;
    assert!(
        matches!(&m, Msg::NoteSaved { result: Ok(r), .. } if *r == row),
        "{m:?}"
    );
    let store = Store::open(&path).unwrap();
    let saved = store.call(row).unwrap().unwrap();
    assert_eq!(saved.note.as_deref(), Some("call back Monday"));
    // The earlier call's note is untouched.
    let old = store.call(old_row).unwrap().unwrap();
    assert_eq!(old.note.as_deref(), Some("wants the invoice"));

    // Today's history has the call with its note (the seeded one is from 2025).
    w.effects.send(Effect::LoadHistory).unwrap();
    let m = next(&mut w).await;
    let Msg::History(Ok(rows)) = &m else {
        panic!("{m:?}")
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].row, row);
    assert_eq!(rows[0].note.as_deref(), Some("call back Monday"));
    assert_eq!(rows[0].when.len(), 5, "HH:MM: {:?}", rows[0].when);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_crm_gives_a_typed_error_and_a_first_caller_is_first() {
    let path = temp_store("fail");
    let url = crm_server(500, "{}", Duration::ZERO).await;
    let mut w = wire(&path, Some(crm(url, 2000)));
    w.events.send(ring("0911222333")).unwrap();
    assert!(matches!(next(&mut w).await, Msg::Engine(_)));
    let m = next(&mut w).await;
    let Msg::CustomerInfo { info, .. } = &m else {
        panic!("{m:?}")
    };
    assert!(info.first_call);
    assert!(info.name.is_none() && info.recent.is_empty());
    let m = next(&mut w).await;
    let Msg::CrmResult { result, .. } = &m else {
        panic!("{m:?}")
    };
    let e = result.clone().unwrap_err();
    assert_eq!(e, CrmError::Status { status: 500 });
    assert!(!format!("{m:?}").contains("SEKRIT"));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_crm_times_out_within_its_bound() {
    let path = temp_store("slow");
    let url = crm_server(200, "{\"name\":\"late\"}", Duration::from_secs(3)).await;
    let mut w = wire(&path, Some(crm(url, 300)));
    let started = SystemTime::now();
    w.events.send(ring("0911222333")).unwrap();
    assert!(matches!(next(&mut w).await, Msg::Engine(_)));
    assert!(matches!(next(&mut w).await, Msg::CustomerInfo { .. }));
    let m = next(&mut w).await;
    assert!(
        matches!(
            &m,
            Msg::CrmResult {
                result: Err(CrmError::Timeout { timeout_ms: 300 }),
                ..
            }
        ),
        "{m:?}"
    );
    let took = started.elapsed().unwrap();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
