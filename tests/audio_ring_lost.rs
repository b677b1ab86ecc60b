//! The ring device vanishes mid-ring (jackd killed): one notice, the events
//! keep flowing, nothing panics. A test binary of its own: every JACK client
//! here is the process's first (see tests/audio_ring.rs on reopening).

mod common;

use std::time::{Duration, Instant};

use common::jack::{Jackd, ports};
use common::*;
use tokio::sync::mpsc;
use tongdai::engine::{Direction, EndReason, Event, Notice, RingInfo};
use tongdai::media::{AudioConfig, DeviceKind, alert_player};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_device_that_vanishes_mid_ring_is_one_notice() {
    if !need("jackd") {
        return;
    }
    let server = format!("tongdai-ringlost-{}", std::process::id());
    let mut jackd = Jackd::spawn(&server);
    // SAFETY: the only test in this binary; set before any cpal thread starts.
    unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &server) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ports(&server).iter().any(|p| p.starts_with("system:")) {
        assert!(Instant::now() < deadline, "jackd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let audio = AudioConfig {
        device: DeviceKind::Cpal,
        ring: Some("JACK Output".into()),
        ..AudioConfig::default()
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let mut out = alert_player::spawn(rx, audio);
    tx.send(Event::Ringing(RingInfo {
        phone: "0912345678".into(),
        display_name: None,
        line: None,
        queue: None,
        direction: Direction::Inbound,
        agent_leg: false,
    }))
    .unwrap();
    assert!(matches!(out.recv().await, Some(Event::Ringing(_))));
    // Let the ring client open and activate before `jack_lsp` (a JACK client
    // too) polls: a client that opens while another activates or closes was
    // now and then refused ("client activation error") on the dummy server.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ports(&server)
        .iter()
        .any(|p| p.starts_with("cpal_client") && p.contains(":out_"))
    {
        assert!(
            Instant::now() < deadline,
            "the ring device did not open: {:?} {:?}",
            out.try_recv(),
            ports(&server)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    jackd.crash();
    let notice = tokio::time::timeout(Duration::from_secs(5), out.recv())
        .await
        .expect("a notice within 5 s of killing jackd");
    match &notice {
        Some(Event::Notice(Notice::Info(tongdai::engine::Info::SoundDeviceLost {
            ring: true,
            ..
        }))) => {}
        other => panic!("expected the lost-device notice, got {other:?}"),
    }
    // Only one notice, and the events still flow.
    tx.send(Event::Ended(EndReason::Cancelled)).unwrap();
    assert_eq!(out.recv().await, Some(Event::Ended(EndReason::Cancelled)));
    drop(tx);
    assert_eq!(out.recv().await, None, "the stream ends with the engine's");
}
