//! The one event pipeline: the engine actor and what every event passes
//! through before anyone reads it, wired once for the console and for
//! `--headless` alike.
//!
//! ```text
//!  backend ─▶ engine ─Event─▶ history tee ─▶ alert player ─▶ publish ─▶ (returned receiver)
//!                              (written       (ringtone,      │ a ring's contact name
//!                               first)         ringback,      │ status, then subscribers
//!                                              busy tone)     ▼
//!                                                         control socket
//! ```
//!
//! The console reads the returned receiver through the popup feed (which
//! adds the customer popup's data); `--headless` prints it and watches for
//! the end. Either way the history has the event before the status does,
//! and the status has it before a subscriber or the screen.

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::{Backend, EngineHandle, Event};
use crate::control::EventHub;
use crate::media::AudioConfig;
use crate::store::Store;

/// What the pipeline adds around the engine (all optional: tests run
/// the bare engine).
#[derive(Clone, Default)]
pub struct PipelineOptions {
    /// The call history store: every event is recorded before it goes on.
    pub history: Option<PathBuf>,
    /// The `[audio]` devices for the ringtone, ringback and busy tone.
    pub alerts: Option<AudioConfig>,
    /// The store whose contacts name a ringing number with no display name.
    pub contacts: Option<PathBuf>,
    /// The control socket's fan-out: the status, then every subscriber.
    pub hub: Option<EventHub>,
}

/// Start the engine with `backend` and wire its events through the
/// pipeline. The receiver ends when the engine has stopped.
pub fn start(
    backend: Box<dyn Backend>,
    opts: PipelineOptions,
) -> (EngineHandle, mpsc::UnboundedReceiver<Event>) {
    let (handle, rx) = super::spawn(backend);
    let rx = match opts.history {
        Some(path) => crate::history::spawn_tee(rx, path),
        None => rx,
    };
    let rx = match opts.alerts {
        Some(audio) => crate::media::alert_player::spawn(rx, audio),
        None => rx,
    };
    if opts.contacts.is_none() && opts.hub.is_none() {
        return (handle, rx);
    }
    (handle, spawn_publish(rx, opts.contacts, opts.hub))
}

/// From login to the start-up code's release: what start-up does after the
/// login (the history's first write, the first status) is done by then.
const START_UP_SETTLES: std::time::Duration = std::time::Duration::from_secs(2);

/// The last stage: a ring gets its contact's name, then the event is
/// published to the control socket, then handed on.
fn spawn_publish(
    mut rx: mpsc::UnboundedReceiver<Event>,
    contacts: Option<PathBuf>,
    hub: Option<EventHub>,
) -> mpsc::UnboundedReceiver<Event> {
    let (tx, out) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        // Opened at the first ring, not at start: a console whose calls
        // ring elsewhere (or that never rings) keeps no SQLite connection.
        let mut store: Option<Option<Store>> = None;
        let mut started = false;
        while let Some(e) = rx.recv().await {
            // Logged in: once the rest of start-up has run too (the history
            // file opened, the first status shown), give the pages of the
            // code it ran back (crate::resident). Once: a reconnect runs
            // little of it.
            if !started && matches!(e, Event::Ready) {
                started = true;
                tokio::spawn(async {
                    tokio::time::sleep(START_UP_SETTLES).await;
                    crate::resident::release_startup_code();
                });
            }
            let ringing = matches!(
                &e,
                Event::Call {
                    event: crate::engine::CallEvent::Ringing(_),
                    ..
                }
            );
            let e = match contacts.as_ref().filter(|_| ringing) {
                Some(path) => {
                    let s = store.get_or_insert_with(|| match Store::open(path) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            tracing::warn!(error = %e, "no contact names for rings");
                            None
                        }
                    });
                    match s {
                        Some(s) => crate::history::with_contact(e, s),
                        None => e,
                    }
                }
                None => e,
            };
            if let Some(h) = &hub {
                h.publish(e.clone());
            }
            if tx.send(e).is_err() {
                break;
            }
        }
    });
    out
}
