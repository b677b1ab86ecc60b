//! The console's side channel: what the popup, the wrap-up note and the
//! history view need from the store and the CRM, turned into [`Msg`]s.
//!
//! The engine's events reach the console through [`forward`], one channel
//! of `Msg`s, so a popup's data always arrives *after* the ring it belongs
//! to (the console drops data for a number no longer on screen):
//!
//! ```text
//!  engine ─Event─▶ history tee ─▶ forward ─Msg::Engine(ev)──────────▶ console
//!                                   │  └─ Msg::CustomerInfo (store, at once)
//!                                   │  └─ Msg::CrmResult   (spawned, ≤ timeout)
//!                                   │  └─ Msg::CallRecorded (on Ended: the row)
//!                                   ◀─Effect (SaveNote, LoadHistory)── console
//!                                      └─ Msg::NoteSaved / Msg::History
//! ```
//!
//! SQLite calls block, but they are single-row or one-day reads on a local
//! file; the history tee already makes the same kind of call per event.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc;

use crate::app::Msg;
use crate::app::state::{CallRow, CustomerInfo, Effect};
use crate::call::book::{Applied, CallBook};
use crate::crm::Crm;
use crate::engine::Event;
use crate::history::popup_info;
use crate::store::{CallQuery, CallRecord, Store, StoreError, phone_key};

/// The store and CRM behind the popup, and which caller is on screen.
pub struct Feed {
    store: Option<Store>,
    crm: Option<Arc<Crm>>,
    /// The calls (no clock needed: the popup follows the selected call).
    book: CallBook<()>,
    /// The phone key of the call the console shows, and its number.
    current: Option<(String, String)>,
}

impl Feed {
    /// `store: None`: no history (the console still gets CRM data).
    pub fn new(store: Option<Store>, crm: Option<Arc<Crm>>) -> Feed {
        Feed {
            store,
            crm,
            book: CallBook::new(),
            current: None,
        }
    }

    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// The messages that follow `ev` (send `ev` first): local data for a
    /// new caller now (the returned list), and a CRM lookup spawned that
    /// sends its answer on `tx` when it comes. Call inside a tokio runtime
    /// when a CRM is set.
    pub fn on_event(&mut self, ev: &Event, tx: &mpsc::UnboundedSender<Msg>) -> Vec<Msg> {
        let mut out = Vec::new();
        if let Applied::Ended(e) = self.book.apply((), ev)
            && e.call.has_customer()
        {
            let key = phone_key(&e.call.number);
            if self.current.as_ref().is_some_and(|(k, _)| *k == key) {
                self.current = None;
            }
            out.extend(self.recorded(&e.call.number));
        }
        // The popup is for the selected call: a new customer number there
        // gets its data.
        let Some(number) = self
            .book
            .selected()
            .filter(|c| c.has_customer())
            .map(|c| c.number.clone())
        else {
            return out;
        };
        let key = phone_key(&number);
        if self.current.as_ref().is_some_and(|(k, _)| *k == key) {
            return out;
        }
        self.current = Some((key, number.clone()));
        if let Some(store) = &self.store {
            match customer_info(store, &number) {
                Ok(info) => out.push(Msg::CustomerInfo {
                    number: number.clone(),
                    info,
                }),
                Err(e) => tracing::warn!(error = %e, "no local data for the popup"),
            }
        }
        if let Some(crm) = &self.crm {
            // A weak sender: a slow CRM never keeps the console's input
            // open after the engine has stopped.
            let weak = tx.downgrade();
            let crm = crm.clone();
            tokio::spawn(async move {
                let msg = crm_msg(&crm, number).await;
                if let Some(tx) = weak.upgrade() {
                    let _ = tx.send(msg);
                }
            });
        }
        out
    }

    /// The history row of the call with `number` that just ended (the
    /// tee wrote its end before forwarding the event).
    fn recorded(&self, number: &str) -> Option<Msg> {
        let store = self.store.as_ref()?;
        let row = newest_finished(store, number).ok().flatten()?;
        Some(Msg::CallRecorded {
            number: number.to_string(),
            row,
        })
    }

    /// Do what the console asked for; the answer is a message for it.
    pub fn on_effect(&self, effect: Effect) -> Msg {
        let off = || "call history is off".to_string();
        match effect {
            Effect::SaveNote { row, number, note } => {
                let result = match &self.store {
                    None => Err(off()),
                    Some(store) => save_note(store, row, &number, &note),
                };
                if let Err(e) = &result {
                    tracing::warn!(error = %e, "wrap-up note not saved");
                }
                Msg::NoteSaved { note, result }
            }
            Effect::LoadHistory => Msg::History(match &self.store {
                None => Err(off()),
                Some(store) => today_rows(store, SystemTime::now()).map_err(|e| e.to_string()),
            }),
        }
    }
}

fn newest_finished(store: &Store, number: &str) -> Result<Option<i64>, StoreError> {
    Ok(store
        .calls(&CallQuery {
            number: Some(phone_key(number)),
            finished_only: true,
            limit: Some(1),
            ..CallQuery::default()
        })?
        .first()
        .map(|c| c.id))
}

fn save_note(store: &Store, row: Option<i64>, number: &str, note: &str) -> Result<i64, String> {
    let row = match row {
        Some(r) => r,
        None => newest_finished(store, number)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no finished call with {number} on record"))?,
    };
    match store.set_note(row, note) {
        Ok(true) => Ok(row),
        Ok(false) => Err(format!("call {row} is not on record")),
        Err(e) => Err(e.to_string()),
    }
}

/// A history row for the screen; `today`: the time only.
pub fn call_row(store: &Store, c: &CallRecord, today: bool) -> CallRow {
    let text = store.local_time_text(c.started_at).unwrap_or_default();
    // `YYYY-MM-DD HH:MM:SS` → `MM-DD HH:MM`, or `HH:MM` today.
    let when = if today {
        text.get(11..16)
    } else {
        text.get(5..16)
    }
    .unwrap_or(&text)
    .to_string();
    CallRow {
        row: c.id,
        when,
        number: c.number.clone(),
        name: c.display_name.clone().filter(|n| !n.trim().is_empty()),
        direction: c.direction,
        talk_secs: c.talk_time().map(|d| d.as_secs()),
        outcome: c.outcome(),
        reason: c.end_reason.clone(),
        missed: c.is_missed(),
        note: c.note.clone(),
    }
}

/// The popup's local data for `number`: the contact and the last calls.
pub fn customer_info(store: &Store, number: &str) -> Result<CustomerInfo, StoreError> {
    let p = popup_info(store, number)?;
    let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let (name, company, tags, notes) = match &p.contact {
        Some(c) => (
            text(&c.name),
            text(&c.company),
            c.tags.clone(),
            text(&c.notes),
        ),
        None => (None, None, Vec::new(), None),
    };
    Ok(CustomerInfo {
        name,
        company,
        tags,
        notes,
        recent: p.recent.iter().map(|c| call_row(store, c, false)).collect(),
        first_call: p.first_call,
    })
}

/// Today's calls (local time), newest first, for the history view.
pub fn today_rows(store: &Store, now: SystemTime) -> Result<Vec<CallRow>, StoreError> {
    Ok(store
        .today(now)?
        .iter()
        .map(|c| call_row(store, c, true))
        .collect())
}

/// Ask the CRM about `number`: the message the console gets. The lookup
/// has the CRM's own deadline (`timeout_ms`), so this always returns.
pub async fn crm_msg(crm: &Crm, number: String) -> Msg {
    let result = crm.lookup(&number).await;
    if let Err(e) = &result {
        tracing::warn!(error = %e, "CRM lookup failed");
    }
    Msg::CrmResult { number, result }
}

/// The loop between the history tee and the console: every event goes on
/// as `Msg::Engine` (after `map`, which may enrich or publish it), followed
/// by the feed's messages; the console's effects come back on `effects`.
/// Ends when the events end or the console is gone.
pub async fn forward(
    mut events: mpsc::UnboundedReceiver<Event>,
    mut effects: mpsc::UnboundedReceiver<Effect>,
    mut feed: Feed,
    tx: mpsc::UnboundedSender<Msg>,
    mut map: impl FnMut(Event, Option<&Store>) -> Event,
) {
    loop {
        tokio::select! {
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                let ev = map(ev, feed.store());
                // The event first: the popup's data must find its call.
                if tx.send(Msg::Engine(ev.clone())).is_err() {
                    break;
                }
                for m in feed.on_event(&ev, &tx) {
                    if tx.send(m).is_err() {
                        return;
                    }
                }
            }
            Some(effect) = effects.recv() => {
                if tx.send(feed.on_effect(effect)).is_err() {
                    break;
                }
            }
        }
    }
}
