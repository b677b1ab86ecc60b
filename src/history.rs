//! The call-history recorder: engine [`Event`]s in, history rows out.
//!
//! [`Recorder`] is sans-IO in the sense that matters here: it never reads
//! the clock (`now` is an argument) and holds no socket; it writes through a
//! [`Store`]. [`spawn_tee`] puts it between the engine and the console:
//! every event is recorded *before* it is forwarded, so when the console
//! sees `Ended` the row already has its end (the wrap-up note can go
//! straight to [`Store::last_call`]).
//!
//! Every call is its own row, keyed by the engine's [`CallId`]: the
//! recorder feeds a [`CallBook`] and writes what changed in it.
//!
//! ```text
//!  a call starts (ring, call-out, or an answer we hear of first) ─▶ a row
//!       with direction, number, name, line, queue, platform id, device
//!  the call changes ─▶ number, platform id, ring details, answered_at
//!       (answered: the customer's answer on a call-out, ours on a ring)
//!  the call ends ─▶ ended_at, reason; the row is closed
//!  ShutdownComplete with calls open ─▶ interrupted
//! ```
//!
//! The platform's agent leg of a call-out is the same call (same id), so
//! it never makes a row of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tokio::sync::mpsc;

use crate::call::book::{Applied, Call, CallBook, EndedCall};
use crate::engine::{CallEvent, CallId, Device, Direction, Event, HistoryNotice, Notice};
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

/// A ring from a number in the contacts gets the contact's name (and
/// company) when the network gave no real display name.
pub fn with_contact(e: Event, store: &Store) -> Event {
    match e {
        Event::Call {
            call,
            event: CallEvent::Ringing(mut info),
        } => {
            // A display name that is only the number (device-1 INVITEs) is no name.
            let no_name = info
                .display_name
                .as_deref()
                .is_none_or(|n| n.chars().all(|c| c.is_ascii_digit() || c == '+'));
            if no_name && let Ok(Some(c)) = store.contact_by_number(&info.phone) {
                info.display_name = Some(if c.company.is_empty() {
                    c.name
                } else {
                    format!("{} · {}", c.name, c.company)
                });
            }
            Event::call(call, CallEvent::Ringing(info))
        }
        e => e,
    }
}

/// What has been written to a live call's row.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    number_key: String,
    platform_id: Option<String>,
    details: (Option<String>, Option<String>, Option<String>),
    answered: bool,
    /// The consult link is written.
    consult: bool,
}

/// Writes history rows from the engine's events, in order.
///
/// The rows follow the call book: after each event, whatever the book
/// says that is not written yet is written (a row for a new call, its
/// changes, the end of an ended call). So a write that failed (a locked
/// store) is simply done at the next event or retry, and an event applied
/// twice (a retry) changes nothing.
#[derive(Debug)]
pub struct Recorder {
    store: Store,
    device: Option<Device>,
    book: CallBook<SystemTime>,
    rows: HashMap<CallId, Row>,
    /// Calls that ended and whose row's end is not written yet.
    ended: Vec<EndedCall<SystemTime>>,
    /// The engine stopped: the rows still open are marked interrupted.
    stopped: bool,
    /// The transfer offered to us (platform call id, from whom) that a
    /// call we first hear of by its answer came from.
    pending_transfer: Option<(String, String)>,
}

impl Recorder {
    pub fn new(store: Store) -> Recorder {
        Recorder {
            store,
            device: None,
            book: CallBook::new(),
            rows: HashMap::new(),
            ended: Vec::new(),
            stopped: false,
            pending_transfer: None,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The row of the selected call in progress, if any.
    pub fn current_call(&self) -> Option<i64> {
        let id = self.book.selected_id()?;
        self.rows.get(&id).map(|r| r.id)
    }

    /// The row of one live call.
    pub fn row_of(&self, call: CallId) -> Option<i64> {
        self.rows.get(&call).map(|r| r.id)
    }

    /// Record one event. An error leaves the recorder usable: what was not
    /// written is written at the next event (or when the caller retries
    /// this one); the caller logs it.
    pub fn record(&mut self, now: SystemTime, event: &Event) -> Result<(), StoreError> {
        match event {
            Event::DeviceType(d) => self.device = Some(d.clone()),
            Event::TransferOffered {
                call_id,
                from_agent,
            } if self.book.is_empty() => {
                self.pending_transfer = Some((call_id.clone(), from_agent.clone()));
            }
            Event::ShutdownComplete => self.stopped = true,
            _ => {}
        }
        if let Applied::Ended(e) = self.book.apply(now, event) {
            self.ended.push(*e);
            self.pending_transfer = None;
        }
        self.write()
    }

    /// Write what the book says and the rows do not have yet.
    fn write(&mut self) -> Result<(), StoreError> {
        while let Some(e) = self.ended.first().cloned() {
            let row = match self.rows.get(&e.call.id) {
                Some(r) => r.id,
                // It came and went before its row could be written.
                None => self.start(&e.call)?,
            };
            self.store.end_call(row, e.at, &e.reason)?;
            let id = e.call.id;
            self.rows.remove(&id);
            self.ended.remove(0);
        }
        let ids: Vec<CallId> = self.book.calls().iter().map(|c| c.id).collect();
        for id in ids {
            if !self.rows.contains_key(&id)
                && let Some(c) = self.book.get(id).cloned()
            {
                self.start(&c)?;
            }
            self.sync(id)?;
        }
        if self.stopped {
            let open: Vec<(CallId, i64)> = self.rows.iter().map(|(k, r)| (*k, r.id)).collect();
            for (call, row) in open {
                self.store.mark_interrupted(row)?;
                self.rows.remove(&call);
            }
            self.book.clear();
            self.stopped = false;
        }
        Ok(())
    }

    /// A row for a call (its answer and changes follow in `sync`).
    fn start(&mut self, c: &Call<SystemTime>) -> Result<i64, StoreError> {
        let mut number = c.number.clone();
        let mut platform_id = c.platform_id.clone();
        if number.is_empty() && c.direction == Direction::Internal {
            // A call handed to us by a transfer has no ring.
            if let Some((call_id, from)) = self.pending_transfer.take() {
                number = from;
                platform_id = platform_id.or(Some(call_id));
            }
        }
        let row = self.store.start_call(&NewCall {
            direction: c.direction,
            number: number.clone(),
            display_name: c.name.clone(),
            vcc_call_id: platform_id.clone(),
            line: c.line.clone(),
            queue: c.queue.clone(),
            device: self.device.clone(),
            started_at: c.started,
        })?;
        self.rows.insert(
            c.id,
            Row {
                id: row,
                number_key: phone_key(&number),
                platform_id,
                details: (c.name.clone(), c.line.clone(), c.queue.clone()),
                answered: false,
                consult: false,
            },
        );
        if let Some(at) = c.connected {
            self.store.mark_answered(row, at)?;
            if let Some(r) = self.rows.get_mut(&c.id) {
                r.answered = true;
            }
        }
        Ok(row)
    }

    /// Write what changed in a live call since its row was last written.
    fn sync(&mut self, id: CallId) -> Result<(), StoreError> {
        let (Some(c), Some(row)) = (self.book.get(id), self.rows.get_mut(&id)) else {
            return Ok(());
        };
        let key = phone_key(&c.number);
        if !c.number.is_empty() && key != row.number_key {
            self.store.set_number(row.id, &c.number)?;
            row.number_key = key;
        }
        if c.platform_id.is_some() && c.platform_id != row.platform_id {
            if let Some(p) = &c.platform_id {
                self.store.set_call_id(row.id, p)?;
            }
            row.platform_id = c.platform_id.clone();
        }
        let details = (c.name.clone(), c.line.clone(), c.queue.clone());
        if details != row.details {
            self.store.set_ring_details(
                row.id,
                details.0.as_deref(),
                details.1.as_deref(),
                details.2.as_deref(),
            )?;
            row.details = details;
        }
        if let Some(at) = c.connected
            && !row.answered
        {
            self.store.mark_answered(row.id, at)?;
            row.answered = true;
        }
        // A consult call: link it to the row of the call it served.
        let served = c.consult_for.and_then(|p| self.rows.get(&p)).map(|r| r.id);
        if let (Some(served), Some(row)) = (served, self.rows.get_mut(&id))
            && !row.consult
        {
            self.store.set_consult_for(row.id, served)?;
            row.consult = true;
        }
        Ok(())
    }
}

/// Wrap the engine's event receiver: every event is recorded in the store
/// at `store_path` and forwarded unchanged, in order, after the write. If
/// the store cannot be opened the events still flow (with one `Notice`
/// first saying history is off), so the console never depends on the disk.
///
/// SQLite writes block, so they run on tokio's blocking pool, a batch of
/// waiting events at a time; between events no thread is kept for them
/// (the pool lets an idle thread go after its keep-alive, 1 s, set in
/// main.rs; tokio's default is 10 s): a team of
/// idle consoles on one box costs no history thread each. Needs a tokio
/// runtime. The task ends when the engine's sender is dropped or the
/// console's receiver is.
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
    tokio::spawn(tee_loop(events, recorder, tx));
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

/// Most events recorded in one trip to the blocking pool.
const BATCH: usize = 256;

async fn tee_loop(
    mut events: mpsc::UnboundedReceiver<Event>,
    recorder: Option<Recorder>,
    tx: mpsc::UnboundedSender<Event>,
) {
    let Some(recorder) = recorder else {
        // History is off: forward only.
        while let Some(event) = events.recv().await {
            if tx.send(event).is_err() {
                break;
            }
        }
        return;
    };
    let mut writer = Some(Writer {
        recorder,
        waiting: Waiting::default(),
        failing: false,
        tx: tx.clone(),
    });
    let mut batch = Vec::with_capacity(BATCH);
    while events.recv_many(&mut batch, BATCH).await > 0 {
        let Some(mut w) = writer.take() else { break };
        // Each event is written, then forwarded, in order (a notice about
        // its write goes before it), on the pool's thread.
        let work = tokio::task::spawn_blocking(move || {
            let mut open = true;
            for event in batch.drain(..) {
                w.record(&event);
                if open && w.tx.send(event).is_err() {
                    open = false;
                }
            }
            (w, batch, open)
        });
        let Ok((w, empty, open)) = work.await else {
            tracing::error!("the call history writer panicked; history is off");
            break;
        };
        writer = Some(w);
        batch = empty;
        if !open {
            return finish(writer).await;
        }
    }
    // History broke (a panic): the events still reach the console.
    if writer.is_none() {
        while let Some(event) = events.recv().await {
            if tx.send(event).is_err() {
                break;
            }
        }
    }
    finish(writer).await;
}

/// At the end: what still waits for a lock or room gets a last try.
async fn finish(writer: Option<Writer>) {
    if let Some(w) = writer {
        let _ = tokio::task::spawn_blocking(move || w.finish()).await;
    }
}

/// The recorder and what its writes are waiting for (moved to the
/// blocking pool and back for each batch).
struct Writer {
    recorder: Recorder,
    waiting: Waiting,
    failing: bool,
    tx: mpsc::UnboundedSender<Event>,
}

impl Writer {
    fn notice(&self, n: HistoryNotice) {
        let _ = self.tx.send(Event::Notice(Notice::History(n)));
    }

    fn record(&mut self, event: &Event) {
        let now = SystemTime::now();
        let r = &mut self.recorder;
        if self.waiting.is_empty() {
            match r.record(now, event) {
                Ok(()) => self.failing = false,
                Err(e) if e.is_busy() => {
                    tracing::warn!(error = %e, "call history locked by another program; retrying");
                    self.waiting.hold(r, now, event.clone());
                    self.notice(HistoryNotice::Locked);
                }
                Err(e) if e.is_full() => {
                    // A full disk is waited out as a lock is: the rows
                    // stay in memory, in order, until there is room.
                    tracing::warn!(error = %e, "disk full: call history writes wait; retrying");
                    self.waiting.hold(r, now, event.clone());
                    self.notice(HistoryNotice::Full);
                }
                Err(e) => {
                    // Log once per run of failures, not per audio level.
                    if !self.failing {
                        tracing::warn!(error = %e, "cannot write call history");
                    }
                    self.failing = true;
                }
            }
        } else {
            self.waiting.queue.push_back((now, event.clone()));
            if self.waiting.retry(r, false) {
                self.notice(HistoryNotice::Unlocked);
            }
        }
    }

    fn finish(mut self) {
        if !self.waiting.is_empty() && !self.waiting.retry(&mut self.recorder, true) {
            tracing::error!(
                lost = self.waiting.queue.len(),
                "call history stayed locked (or the disk full) until the end; these updates are not written"
            );
        }
    }
}

/// Events whose write met another program's lock (SQLITE_BUSY after the
/// store's busy timeout) or a full disk (SQLITE_FULL), kept in order and
/// written before any newer one, so a locked database or a full disk
/// delays rows instead of losing them.
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
                Err(e) if e.is_busy() || e.is_full() => return false,
                Err(e) => tracing::warn!(error = %e, "cannot write call history"),
            }
            self.queue.pop_front();
        }
        let _ = r.store().set_busy_timeout(crate::store::BUSY_TIMEOUT);
        tracing::info!("call history free again; waiting updates written");
        true
    }
}
