//! Helpers for the VCC tests: the real `VccBackend` engine, headless,
//! against an in-process switchboard over real sockets on 127.0.0.1.
#![allow(dead_code)]

use std::time::Duration;

use tokio::sync::mpsc;
use tongdai::backends::vcc::{Generation, UnavailableVoiceLeg, VccBackend, VccConfig};
use tongdai::engine::{self, Command, EngineHandle, Event};
use tongdai::secret::Secret;
use tongdai::switchboard::{self, LogEntry, Switchboard, SwitchboardOptions};

pub const WAIT: Duration = Duration::from_secs(5);

pub async fn switchboard() -> Switchboard {
    switchboard::start(SwitchboardOptions::for_tests())
        .await
        .expect("switchboard starts")
}

pub async fn switchboard_with(f: impl FnOnce(&mut SwitchboardOptions)) -> Switchboard {
    let mut o = SwitchboardOptions::for_tests();
    f(&mut o);
    switchboard::start(o).await.expect("switchboard starts")
}

/// A headless console: the engine and every event it emitted.
pub struct Console {
    pub name: String,
    handle: Option<EngineHandle>,
    rx: mpsc::UnboundedReceiver<Event>,
    pub seen: Vec<Event>,
}

impl Console {
    pub async fn start(sb: &Switchboard, ipphone: &str, generation: Generation) -> Console {
        let cfg = sb.client_config(ipphone, generation);
        Console::start_with(cfg, sb.access_key(), ipphone)
    }

    pub async fn start_cfg(
        sb: &Switchboard,
        ipphone: &str,
        generation: Generation,
        f: impl FnOnce(&mut VccConfig),
    ) -> Console {
        let mut cfg = sb.client_config(ipphone, generation);
        f(&mut cfg);
        Console::start_with(cfg, sb.access_key(), ipphone)
    }

    pub fn start_with(cfg: VccConfig, key: Secret, name: &str) -> Console {
        Console::start_with_leg(cfg, key, name, Box::new(UnavailableVoiceLeg::default()))
    }

    /// With this device-1 voice leg (e.g. the real `SipVoiceLeg`).
    pub fn start_with_leg(
        cfg: VccConfig,
        key: Secret,
        name: &str,
        voice: Box<dyn tongdai::backends::vcc::VoiceLeg>,
    ) -> Console {
        let backend = VccBackend::with_parts(cfg, Some(key), voice);
        Console::start_backend(backend, name, None)
    }

    /// A backend as the binary runs it: `engine::spawn`, and with
    /// `history`, every event recorded there by `history::spawn_tee`
    /// before it reaches us (as before it reaches the screen).
    pub fn start_backend(
        backend: Box<dyn tongdai::engine::Backend>,
        name: &str,
        history: Option<&std::path::Path>,
    ) -> Console {
        let (handle, rx) = engine::spawn(backend);
        let rx = match history {
            Some(path) => tongdai::history::spawn_tee(rx, path),
            None => rx,
        };
        Console {
            name: name.to_string(),
            handle: Some(handle),
            rx,
            seen: Vec::new(),
        }
    }

    /// Started and `Ready`.
    pub async fn ready(sb: &Switchboard, ipphone: &str, generation: Generation) -> Console {
        let mut c = Console::start(sb, ipphone, generation).await;
        c.expect("Ready", |e| *e == Event::Ready).await;
        c
    }

    pub fn send(&self, c: Command) {
        self.handle
            .as_ref()
            .expect("running")
            .send(c)
            .expect("command queued");
    }

    /// Wait for an event matching `pred` (events before it are kept in `seen`).
    pub async fn expect(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) => {
                    self.seen.push(e.clone());
                    if pred(&e) {
                        return e;
                    }
                }
                Ok(None) => panic!(
                    "[{}] engine stopped while waiting for {what}; saw {:#?}",
                    self.name, self.seen
                ),
                Err(_) => panic!(
                    "[{}] no {what} within {WAIT:?}; saw {:#?}",
                    self.name, self.seen
                ),
            }
        }
    }

    /// Assert that no matching event arrives within `d`.
    pub async fn expect_none(&mut self, d: Duration, what: &str, pred: impl Fn(&Event) -> bool) {
        let deadline = tokio::time::Instant::now() + d;
        while let Ok(Some(e)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.seen.push(e.clone());
            assert!(!pred(&e), "[{}] unexpected {what}: {e:?}", self.name);
        }
    }

    /// The orderly exit; true when it finished within the deadline.
    pub async fn shutdown(&mut self) -> bool {
        let h = self.handle.take().expect("running");
        h.shutdown(Duration::from_secs(5)).await
    }
}

/// Wait for a log entry.
pub async fn log_wait(sb: &Switchboard, what: &str, pred: impl Fn(&LogEntry) -> bool) -> LogEntry {
    match sb.log().wait_for(WAIT, pred).await {
        Some(e) => e,
        None => panic!("no log entry {what}; log:\n{}", sb.log().to_jsonl()),
    }
}

/// A frame the console sent with this objectId.
pub fn sent_frame(e: &LogEntry, object_id: i64) -> bool {
    e.kind == "in" && e.object_id == Some(object_id)
}
