//! The call-history recorder: engine [`Event`]s in, history rows out.
//!
//! [`Recorder`] is sans-IO in the sense that matters here: it never reads
//! the clock (`now` is an argument) and holds no socket; it writes through a
//! [`Store`]. [`spawn_tee`] puts it between the engine and the console:
//! every event is recorded *before* it is forwarded, so when the console
//! sees `Ended` the row already has its end (the wrap-up note can go
//! straight to [`Store::last_call`]).
//!
//! How events map onto a row:
//!
//! ```text
//!  CallId(id) ─────────────┐ (kept until the row exists, or set on it)
//!  Dialing(n) / CalloutStarted(n) ─▶ start outbound row (CalloutStarted
//!                                    on a known call updates the number)
//!  Ringing(info)  ─▶ start a row with info.direction, line, queue
//!                    (agent_leg rings belong to our call-out: ignored;
//!                     a second ring for the same unanswered call merges)
//!  CustomerAnswered ─▶ answered_at      (call-outs)
//!  Accepted         ─▶ answered_at      (rings to us)
//!  Ended(reason)    ─▶ ended_at, reason; the call is closed
//!  ShutdownComplete with a call open ─▶ interrupted
//! ```

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tokio::sync::mpsc;

use crate::engine::{Device, Direction, Event, HistoryNotice, Notice};
use crate::store::{CallRecord, Contact, NewCall, Store, StoreError, phone_key};

pub use crate::store::history_command;

/// What the popup shows from local data; CRM data is merged by the console.
#[derive(Debug, Clone, PartialEq)]
pub struct PopupInfo {
    pub contact: Option<Contact>,
    /// The last five finished calls with this number, newest first.
    pub recent: Vec<RecentCall>,
    /// No earlier call with this number is on record.
    pub first_call: bool,
}

/// One line of the popup's "before" list (when, direction, talk time via
/// [`CallRecord::talk_time`], outcome via [`CallRecord::outcome`], note).
pub type RecentCall = CallRecord;

/// How many earlier calls the popup lists.
pub const POPUP_RECENT: usize = 5;

/// Local data for the popup of a call with `number`. The call being
/// recorded right now is not one of the "recent" ones.
pub fn popup_info(store: &Store, number: &str) -> Result<PopupInfo, StoreError> {
    let contact = store.contact_by_number(number)?;
    let recent = store.recent_with_number(number, POPUP_RECENT)?;
    let first_call = recent.is_empty();
    Ok(PopupInfo {
        contact,
        recent,
        first_call,
    })
}

#[derive(Debug, Clone)]
struct OpenCall {
    id: i64,
    direction: Direction,
    number_key: String,
    answered: bool,
}

/// Writes history rows from the engine's events, in order.
#[derive(Debug)]
pub struct Recorder {
    store: Store,
    device: Option<Device>,
    open: Option<OpenCall>,
    /// A `CallId` that came before its call's first event.
    pending_call_id: Option<String>,
    /// Who offered the transfer we may be about to accept.
    pending_transfer_from: Option<String>,
}

impl Recorder {
    pub fn new(store: Store) -> Recorder {
        Recorder {
            store,
            device: None,
            open: None,
            pending_call_id: None,
            pending_transfer_from: None,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The row of the call in progress, if any.
    pub fn current_call(&self) -> Option<i64> {
        self.open.as_ref().map(|c| c.id)
    }

    /// Record one event. An error leaves the recorder usable (the next
    /// event tries again); the caller logs it.
    pub fn record(&mut self, now: SystemTime, event: &Event) -> Result<(), StoreError> {
        match event {
            Event::DeviceType(d) => self.device = Some(d.clone()),
            Event::CallId(id) => match &self.open {
                Some(c) => self.store.set_call_id(c.id, id)?,
                None => self.pending_call_id = Some(id.clone()),
            },
            Event::Dialing(number) => {
                if let Some(c) = &self.open
                    && c.direction == Direction::Outbound
                    && !c.answered
                    && c.number_key == phone_key(number)
                {
                    return Ok(());
                }
                self.start(now, Direction::Outbound, number, None, None, None)?;
            }
            Event::CalloutStarted(number) => match &mut self.open {
                Some(c) if c.direction == Direction::Outbound => {
                    let key = phone_key(number);
                    if c.number_key != key {
                        self.store.set_number(c.id, number)?;
                        c.number_key = key;
                    }
                }
                _ => self.start(now, Direction::Outbound, number, None, None, None)?,
            },
            Event::Ringing(info) => {
                if info.agent_leg {
                    // The platform's leg of our own call-out.
                    if self.open.is_none() {
                        self.start(now, Direction::Outbound, &info.phone, None, None, None)?;
                    }
                    return Ok(());
                }
                if let Some(c) = &self.open
                    && c.direction != Direction::Outbound
                    && !c.answered
                    && c.number_key == phone_key(&info.phone)
                {
                    self.store.set_ring_details(
                        c.id,
                        info.display_name.as_deref(),
                        info.line.as_deref(),
                        info.queue.as_deref(),
                    )?;
                    return Ok(());
                }
                self.start(
                    now,
                    info.direction,
                    &info.phone,
                    info.display_name.clone(),
                    info.line.clone(),
                    info.queue.clone(),
                )?;
            }
            Event::CustomerAnswered => {
                if let Some(c) = &mut self.open {
                    self.store.mark_answered(c.id, now)?;
                    c.answered = true;
                }
            }
            Event::Accepted => match &mut self.open {
                Some(c) if c.direction != Direction::Outbound => {
                    self.store.mark_answered(c.id, now)?;
                    c.answered = true;
                }
                Some(_) => {}
                None => {
                    // A call handed to us by a transfer has no ring.
                    let from = self.pending_transfer_from.take().unwrap_or_default();
                    self.start(now, Direction::Internal, &from, None, None, None)?;
                    if let Some(c) = &mut self.open {
                        self.store.mark_answered(c.id, now)?;
                        c.answered = true;
                    }
                }
            },
            Event::TransferOffered {
                call_id,
                from_agent,
            } if self.open.is_none() => {
                self.pending_call_id = Some(call_id.clone());
                self.pending_transfer_from = Some(from_agent.clone());
            }
            Event::Ended(reason) => {
                // Closed only once written: a locked store retries this event.
                if let Some(c) = &self.open {
                    self.store.end_call(c.id, now, reason)?;
                }
                self.open = None;
                self.pending_call_id = None;
                self.pending_transfer_from = None;
            }
            Event::ShutdownComplete => {
                if let Some(c) = &self.open {
                    self.store.mark_interrupted(c.id)?;
                }
                self.open = None;
            }
            _ => {}
        }
        Ok(())
    }

    fn start(
        &mut self,
        now: SystemTime,
        direction: Direction,
        number: &str,
        display_name: Option<String>,
        line: Option<String>,
        queue: Option<String>,
    ) -> Result<(), StoreError> {
        if let Some(stale) = &self.open {
            // A new call while we think one is open: the engine lost the
            // end of the old one (it never says so twice).
            tracing::warn!(row = stale.id, "a call started before the last one ended");
            self.store.mark_interrupted(stale.id)?;
            self.open = None;
        }
        let id = self.store.start_call(&NewCall {
            direction,
            number: number.to_string(),
            display_name,
            vcc_call_id: self.pending_call_id.take(),
            line,
            queue,
            device: self.device.clone(),
            started_at: now,
        })?;
        self.open = Some(OpenCall {
            id,
            direction,
            number_key: phone_key(number),
            answered: false,
        });
        Ok(())
    }
}

/// Wrap the engine's event receiver: a thread records every event in the
/// store at `store_path` and forwards it unchanged, in order, after the
/// write. If the store cannot be opened the events still flow (with one
/// `Notice` first saying history is off), so the console never depends on
/// the disk.
///
/// A dedicated thread (not a tokio task) because SQLite writes block; the
/// channels are tokio's, so the console side is unchanged. The thread ends
/// when the engine's sender is dropped or the console's receiver is.
///
/// The store is opened (and a damaged file replaced) before this returns,
/// so whatever opens the store next (the popup feed) gets the fresh file,
/// never the one being moved aside.
pub fn spawn_tee(
    events: mpsc::UnboundedReceiver<Event>,
    store_path: impl Into<PathBuf>,
) -> mpsc::UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    let path: PathBuf = store_path.into();
    let recorder = open_recorder(&path, &tx);
    let spawned = std::thread::Builder::new().name("history".into()).spawn({
        let tx = tx.clone();
        move || tee_loop(events, recorder, tx)
    });
    if let Err(e) = spawned {
        // No thread: nothing forwards; say so on the stream we hand back.
        tracing::error!(error = %e, "cannot start the history thread");
        let _ = tx.send(Event::Notice(Notice::History(HistoryNotice::Off {
            reason: format!("cannot start its thread ({e})"),
        })));
    }
    rx
}

/// The recorder, or `None` (history off); the notices go first on `tx`.
fn open_recorder(path: &Path, tx: &mpsc::UnboundedSender<Event>) -> Option<Recorder> {
    let notice = |n: HistoryNotice| {
        let _ = tx.send(Event::Notice(Notice::History(n)));
    };
    // A damaged file is moved aside and a fresh one records (Store doc).
    match Store::open_recovering(path, SystemTime::now()) {
        Ok((store, moved)) => {
            if let Some(old) = moved {
                tracing::warn!(moved_to = %old.display(), "damaged call history moved aside; a new one records");
                notice(HistoryNotice::Recovered {
                    moved_to: old.display().to_string(),
                });
            }
            Some(Recorder::new(store))
        }
        Err(e) => {
            tracing::error!(error = %e, "call history is off");
            notice(HistoryNotice::Off {
                reason: e.to_string(),
            });
            None
        }
    }
}

fn tee_loop(
    mut events: mpsc::UnboundedReceiver<Event>,
    mut recorder: Option<Recorder>,
    tx: mpsc::UnboundedSender<Event>,
) {
    let notice = |n: HistoryNotice| {
        let _ = tx.send(Event::Notice(Notice::History(n)));
    };
    let mut waiting = Waiting::default();
    let mut failing = false;
    while let Some(event) = events.blocking_recv() {
        if let Some(r) = recorder.as_mut() {
            let now = SystemTime::now();
            if waiting.is_empty() {
                match r.record(now, &event) {
                    Ok(()) => failing = false,
                    Err(e) if e.is_busy() => {
                        tracing::warn!(error = %e, "call history locked by another program; retrying");
                        waiting.hold(r, now, event.clone());
                        notice(HistoryNotice::Locked);
                    }
                    Err(e) => {
                        // Log once per run of failures, not per audio level.
                        if !failing {
                            tracing::warn!(error = %e, "cannot write call history");
                        }
                        failing = true;
                    }
                }
            } else {
                waiting.queue.push_back((now, event.clone()));
                if waiting.retry(r, false) {
                    notice(HistoryNotice::Unlocked);
                }
            }
        }
        if tx.send(event).is_err() {
            break;
        }
    }
    if let Some(r) = recorder.as_mut()
        && !waiting.is_empty()
        && !waiting.retry(r, true)
    {
        tracing::error!(
            lost = waiting.queue.len(),
            "call history stayed locked until the end; these updates are not written"
        );
    }
}

/// Events whose write met another program's lock (SQLITE_BUSY after the
/// store's busy timeout), kept in order and written before any newer one,
/// so a locked database delays rows instead of losing them.
#[derive(Default)]
struct Waiting {
    queue: std::collections::VecDeque<(SystemTime, Event)>,
    last_try: Option<std::time::Instant>,
}

impl Waiting {
    /// Events held at most; older ones are dropped past this (logged).
    const MAX: usize = 10_000;
    /// While events wait, a retry waits this long for the lock, so the
    /// events still reach the console promptly.
    const RETRY_WAIT: std::time::Duration = std::time::Duration::from_millis(50);
    /// And is tried at most this often.
    const RETRY_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn hold(&mut self, r: &Recorder, now: SystemTime, event: Event) {
        self.queue.push_back((now, event));
        self.last_try = Some(std::time::Instant::now());
        let _ = r.store().set_busy_timeout(Self::RETRY_WAIT);
    }

    /// Write what waits, oldest first, until the lock stops it. `last`:
    /// the final try at exit, with the full busy timeout. True when
    /// everything is written.
    fn retry(&mut self, r: &mut Recorder, last: bool) -> bool {
        if self.queue.len() > Self::MAX {
            let drop = self.queue.len() - Self::MAX;
            tracing::error!(
                dropped = drop,
                "call history locked too long; oldest updates dropped"
            );
            self.queue.drain(..drop);
        }
        let due = self
            .last_try
            .is_none_or(|t| t.elapsed() >= Self::RETRY_EVERY);
        if !due && !last {
            return false;
        }
        self.last_try = Some(std::time::Instant::now());
        if last {
            let _ = r.store().set_busy_timeout(crate::store::BUSY_TIMEOUT);
        }
        while let Some((at, event)) = self.queue.front() {
            match r.record(*at, event) {
                Ok(()) => {}
                Err(e) if e.is_busy() => return false,
                Err(e) => tracing::warn!(error = %e, "cannot write call history"),
            }
            self.queue.pop_front();
        }
        let _ = r.store().set_busy_timeout(crate::store::BUSY_TIMEOUT);
        tracing::info!("call history unlocked; waiting updates written");
        true
    }
}
