//! The fan-out between the engine and the control server.
//!
//! Whoever owns the engine's event receiver (the TUI loop, or the headless
//! pump) calls [`EventHub::publish`] for every event. The `status` snapshot
//! is updated *before* the event is broadcast, so a client that has seen an
//! event and then asks for `status` always finds it applied.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::broadcast;

use super::status::StatusTracker;
use crate::engine::Event;

/// Events a slow subscriber may fall behind by before it is told `lagged`.
pub const EVENT_BUFFER: usize = 1024;

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Event>,
    status: Arc<Mutex<StatusTracker>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            tx,
            status: Arc::new(Mutex::new(StatusTracker::new())),
        }
    }

    /// Record the event in the status, then hand it to every subscriber.
    /// Never blocks: a subscriber that falls behind is told how many it missed.
    pub fn publish(&self, event: Event) {
        self.lock().apply(&event, Instant::now());
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// The `status` snapshot now.
    pub fn status(&self) -> Value {
        self.lock().snapshot(Instant::now())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, StatusTracker> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
}
