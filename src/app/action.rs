//! What the agent can ask for, and the messages `update` consumes.
//!
//! Keys are resolved to an [`Action`] through the keymap (data, see
//! `keymap.rs`); engine events arrive as they are. Both become a [`Msg`] for
//! the one `update` function, as in Flux / TEA (STYLE.md §2).

use std::time::Instant;

use crossterm::event::KeyEvent;

use crate::crm::{CrmError, CrmRecord};
use crate::engine::Event;

use super::state::{CallRow, CustomerInfo};

pub use crate::config::keys::Action;

impl Action {
    /// Every bindable action, in the order help and the hint bar list them.
    pub const ALL: [Action; 26] = [
        Action::Answer,
        Action::Reject,
        Action::AcceptTransfer,
        Action::RefuseTransfer,
        Action::Dial,
        Action::End,
        Action::Hold,
        Action::Mute,
        Action::Transfer,
        Action::Swap,
        Action::Consult,
        Action::CompleteTransfer,
        Action::CancelConsult,
        Action::Merge,
        Action::EndConference,
        Action::Availability,
        Action::ClaimVoice,
        Action::Device,
        Action::DialEdit,
        Action::Clear,
        Action::Connect,
        Action::History,
        Action::Theme,
        Action::Language,
        Action::Help,
        Action::Quit,
    ];

    /// The two-call actions (plain SIP): shown only when they can work.
    pub const MULTI_CALL: [Action; 6] = [
        Action::Swap,
        Action::Consult,
        Action::CompleteTransfer,
        Action::CancelConsult,
        Action::Merge,
        Action::EndConference,
    ];
}

/// Everything `update` reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press, resolved through the keymap (or typed into a prompt).
    Key(KeyEvent),
    /// An action, as a key would produce it (tests, control sockets).
    Action(Action),
    /// Text pasted into the terminal (bracketed paste): goes to the input.
    Paste(String),
    /// An engine event.
    Engine(Event),
    /// The clock: the loop sends the current instant before anything else,
    /// and once a second while a timer is shown.
    Tick(Instant),
    /// The terminal changed size (only a redraw).
    Resize,
    /// A command could not be queued (the engine is busy or gone).
    EngineUnavailable { stopped: bool },
    /// Local data (contact, past calls) for the popup of `number`.
    CustomerInfo { number: String, info: CustomerInfo },
    /// The CRM's answer for `number` (`Ok(None)`: not in the CRM).
    CrmResult {
        number: String,
        result: Result<Option<CrmRecord>, CrmError>,
    },
    /// The call with `number` that just ended is history row `row` (where
    /// its wrap-up note goes).
    CallRecorded { number: String, row: i64 },
    /// Today's calls for the history view, or why they could not be read.
    History(Result<Vec<CallRow>, String>),
    /// A note was written on history row `Ok(row)`, or why not.
    NoteSaved {
        note: String,
        result: Result<i64, String>,
    },
}
