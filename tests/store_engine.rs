//! History end to end: the real VCC engine, headless, against the local
//! switchboard over loopback sockets, its events wrapped by
//! `history::spawn_tee`; the rows match what happened.

mod vcc_support;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tongdai::backends::vcc::{Generation, UnavailableVoiceLeg, VccBackend};
use tongdai::engine::CallEvent;
use tongdai::engine::{
    self, Command, Device, Direction, EndReason, EngineHandle, Event, TransferTarget,
};
use tongdai::history::{popup_info, spawn_tee};
use tongdai::store::{CallQuery, Outcome, Store};
use tongdai::switchboard::{Control, Switchboard};
use vcc_support::{WAIT, switchboard_with};

struct Teed {
    handle: EngineHandle,
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Teed {
    fn start(sb: &Switchboard, ipphone: &str, store: PathBuf) -> Teed {
        let cfg = sb.client_config(ipphone, Generation::Older);
        let backend = VccBackend::with_parts(
            cfg,
            Some(sb.access_key()),
            Box::new(UnavailableVoiceLeg::default()),
        );
        let (handle, rx) = engine::spawn(backend);
        Teed {
            handle,
            rx: spawn_tee(rx, store),
        }
    }

    async fn expect(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) if pred(&e) => return e,
                Ok(Some(_)) => {}
                Ok(None) => panic!("{what}: the event stream closed"),
                Err(_) => panic!("{what}: not seen within {WAIT:?}"),
            }
        }
    }
}

#[tokio::test]
async fn calls_through_the_real_engine_land_in_the_history() {
    let dir = std::env::temp_dir().join(format!("tongdai-store-engine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("history.sqlite3");
    let sb = switchboard_with(|o| o.timing.caller_patience = Duration::from_millis(300)).await;
    let mut c = Teed::start(&sb, "1003", path.clone());
    c.expect("Ready", |e| *e == Event::Ready).await;

    // 1. An inbound call answered on the desk phone, hung up by the agent.
    sb.ring("1003", "0987654321", "19001234", "Phím 1: Bán hàng");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1003".into(),
    });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    c.handle.send(Command::End { call: None }).unwrap();
    c.expect("ended", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;

    // 2. The same customer again, who gives up: a missed call.
    sb.ring("1003", "+84987654321", "19001234", "Phím 1: Bán hàng");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    c.expect("missed", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::Cancelled))
    })
    .await;
    c.handle.send(Command::ToggleAvailability).unwrap();
    c.expect("On", |e| matches!(e, Event::Availability(_)))
        .await;

    // 3. A call-out the customer answers.
    c.handle
        .send(Command::CallOut("0912 345 678".into()))
        .unwrap();
    c.expect("answered", |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    c.handle.send(Command::End { call: None }).unwrap();
    c.expect("ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;

    // 4. A call-out answered, then transferred to a colleague (who accepts).
    c.handle
        .send(Command::CallOut("0912345679".into()))
        .unwrap();
    c.expect("answered", |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    c.handle
        .send(Command::Transfer {
            call: None,
            target: TransferTarget::Agent("1101".into()),
        })
        .unwrap();
    c.expect("transferred", |e| {
        e.call_event()
            == Some(&CallEvent::Ended(EndReason::Transferred {
                target: "1101".into(),
            }))
    })
    .await;

    let store = Store::open(&path).unwrap();
    let calls = store.calls(&CallQuery::default()).unwrap();
    assert_eq!(calls.len(), 4, "{calls:#?}");
    let (moved, out, missed, answered) = (&calls[0], &calls[1], &calls[2], &calls[3]);
    assert_eq!(moved.outcome(), Outcome::Transferred);
    assert_eq!(
        moved.end_reason,
        Some(EndReason::Transferred {
            target: "1101".into()
        })
    );
    assert_eq!(tongdai::store::outcome_text(moved), "transferred (to 1101)");

    assert_eq!(answered.direction, Direction::Inbound);
    assert_eq!(answered.number_norm, "+84987654321");
    assert_eq!(answered.line.as_deref(), Some("19001234"));
    assert_eq!(answered.queue.as_deref(), Some("Phím 1: Bán hàng"));
    assert!(
        answered
            .vcc_call_id
            .as_deref()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        matches!(
            answered.device,
            Some(Device::AlwaysOnIpPhone | Device::IpPhone)
        ),
        "{:?}",
        answered.device
    );
    assert_eq!(answered.outcome(), Outcome::Answered);
    assert_eq!(answered.end_reason, Some(EndReason::LocalHangup));

    assert_eq!(missed.outcome(), Outcome::Missed);
    assert_eq!(missed.end_reason, Some(EndReason::Cancelled));
    assert_ne!(missed.vcc_call_id, answered.vcc_call_id);

    assert_eq!(out.direction, Direction::Outbound);
    assert_eq!(out.number_norm, "+84912345678");
    assert!(out.vcc_call_id.is_some());
    assert_eq!(out.outcome(), Outcome::Answered);

    let popup = popup_info(&store, "0987 654 321").unwrap();
    assert_eq!(popup.recent.len(), 2);
    assert!(!popup.first_call);
    assert_eq!(store.missed(None).unwrap().len(), 1);

    assert!(c.handle.shutdown(WAIT).await);
    let _ = std::fs::remove_dir_all(&dir);
}
