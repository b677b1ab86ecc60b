//! What the agent can ask for, and the messages `update` consumes.
//!
//! Keys are resolved to an [`Action`] through the keymap (data, see
//! `keymap.rs`); engine events arrive as they are. Both become a [`Msg`] for
//! the one `update` function, as in Flux / TEA (STYLE.md §2).

use std::time::Instant;

use crossterm::event::KeyEvent;
use serde::Deserialize;

use crate::crm::{CrmError, CrmRecord};
use crate::engine::Event;

use super::state::{CallRow, CustomerInfo};

/// One-key actions. The snake_case names are the `run` values of the keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `onAcceptCall()`.
    Answer,
    /// Decline a ringing call (SIP 486).
    Reject,
    /// `endCall()`: hang up, cancel or reject.
    End,
    /// `holdCall()`.
    Hold,
    /// `muteCall()`.
    Mute,
    /// `csCallout(number)` with the dial line.
    Dial,
    /// Type a `tel:` / `sip:` address into the dial line (every key is text).
    DialEdit,
    /// Clear the dial line, then the notice.
    Clear,
    /// `changeCallStatus()`: On ⇄ Off.
    Availability,
    /// `csEnableCall()`: take the voice channel here.
    ClaimVoice,
    /// `changeDevice(type, phone)`: opens the device chooser.
    Device,
    /// Opens the transfer prompt (agent, queue or number).
    Transfer,
    /// Make the held call the live one (the live one is held).
    Swap,
    /// Hold the call and call a colleague (opens a number prompt).
    Consult,
    /// Hand the held customer to the consulted colleague and leave both.
    CompleteTransfer,
    /// End the consult call and go back to the customer.
    CancelConsult,
    /// Join the two calls into a three-way call.
    Merge,
    /// End both calls of the three-way call.
    EndConference,
    /// `responseTransferAgent(true)`.
    AcceptTransfer,
    /// `responseTransferAgent(false)`.
    RefuseTransfer,
    /// `csInit` again after a failure or a disconnect.
    Connect,
    /// Today's calls (filter, call back, edit a note).
    History,
    /// The help overlay.
    Help,
    /// Next theme.
    Theme,
    /// English ⇄ Vietnamese.
    Language,
    /// Leave (asks first while a call is up).
    Quit,
    /// Unbinds a key in user overrides.
    None,
}

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

    /// The keymap name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Answer => "answer",
            Action::Reject => "reject",
            Action::End => "end",
            Action::Hold => "hold",
            Action::Mute => "mute",
            Action::Dial => "dial",
            Action::DialEdit => "dial_edit",
            Action::Clear => "clear",
            Action::Availability => "availability",
            Action::ClaimVoice => "claim_voice",
            Action::Device => "device",
            Action::Transfer => "transfer",
            Action::Swap => "swap",
            Action::Consult => "consult",
            Action::CompleteTransfer => "complete_transfer",
            Action::CancelConsult => "cancel_consult",
            Action::Merge => "merge",
            Action::EndConference => "end_conference",
            Action::AcceptTransfer => "accept_transfer",
            Action::RefuseTransfer => "refuse_transfer",
            Action::Connect => "connect",
            Action::History => "history",
            Action::Help => "help",
            Action::Theme => "theme",
            Action::Language => "language",
            Action::Quit => "quit",
            Action::None => "none",
        }
    }
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
