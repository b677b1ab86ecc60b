//! Everything the screen shows, and nothing else (but for `effects`, the
//! store work `update` asks the loop to do, drained after every update).
//! `view` is a pure function of this; `update` is the only writer.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use crate::crm::{CrmError, CrmRecord};
use crate::engine::{
    AgentInfo, Availability, CallId, Device, Direction, EndReason, InitFailure, Notice, RegState,
    TransferDetail,
};
use crate::sip::target::{self, NumberKind, Target, TargetError, UriError};
use crate::store::{Outcome, phone_key};

use super::action::Action;
use super::i18n::Lang;
use super::keymap::{ActionSet, CallCtx, Context, Keymap};

pub use crate::call::book::Phase;
pub use crate::engine::Quality;

/// A call on screen: the call book's entry (`call::book`), with the
/// console's clock.
pub type Call = crate::call::book::Call<Instant>;

/// Every call the console knows, and which one the keys act on.
pub type CallBook = crate::call::book::CallBook<Instant>;

/// The call that just ended.
#[derive(Debug, Clone, PartialEq)]
pub struct LastCall {
    pub number: String,
    pub direction: Direction,
    pub reason: EndReason,
    pub talk: Option<Duration>,
    pub call_id: Option<String>,
}

/// One row of call history for the customer popup. A store fills these
/// later; until then the console adds this session's calls (`when: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct RecentCall {
    pub number: String,
    pub direction: Direction,
    /// Already formatted (e.g. "2025-05-01 10:02"); `None`: this session.
    pub when: Option<String>,
    pub talk_secs: Option<u64>,
    pub reason: Option<EndReason>,
}

/// One finished call from the history store, formatted for the screen
/// (the popup's "before" list and the history view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    /// The store's row id (where a note goes).
    pub row: i64,
    /// Local time, already formatted (`05-01 10:02`, or `10:02` today).
    pub when: String,
    pub number: String,
    pub name: Option<String>,
    pub direction: Direction,
    pub talk_secs: Option<u64>,
    pub outcome: Outcome,
    /// Why it ended (a failed call-out's codes, a transfer's target).
    pub reason: Option<EndReason>,
    /// A ring to us nobody answered (highlighted in the history view).
    pub missed: bool,
    pub note: Option<String>,
}

/// What the local store knows about a caller, sent by the loop right after
/// the ring (`Msg::CustomerInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerInfo {
    pub name: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    /// The last calls with this number, newest first.
    pub recent: Vec<CallRow>,
    /// No earlier call with this number is on record.
    pub first_call: bool,
}

/// Where the CRM lookup for the popup is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmState {
    /// No `[crm]` configured.
    Off,
    Pending,
    Found(CrmRecord),
    NotFound,
    Failed(CrmError),
}

/// The customer popup's data for the call on screen: local data at once,
/// CRM data when it arrives. Keyed by number so a late answer for another
/// caller is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popup {
    pub number: String,
    pub local: Option<CustomerInfo>,
    pub crm: CrmState,
}

/// The one-line note asked for after a call ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapUp {
    pub number: String,
    /// The history row, once the loop has said which one it is.
    pub row: Option<i64>,
    pub input: String,
}

/// The history view (today's calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryView {
    /// `None` while loading.
    pub rows: Option<Vec<CallRow>>,
    pub error: Option<String>,
    /// Digits typed after `/`.
    pub filter: String,
    /// `/` was pressed: keys go to the filter.
    pub filtering: bool,
    /// Index into the filtered rows.
    pub selected: usize,
    /// Editing the selected row's note.
    pub editing: Option<String>,
}

impl HistoryView {
    pub fn new() -> HistoryView {
        HistoryView {
            rows: None,
            error: None,
            filter: String::new(),
            filtering: false,
            selected: 0,
            editing: None,
        }
    }

    /// The rows the filter lets through.
    pub fn visible(&self) -> Vec<&CallRow> {
        self.rows
            .iter()
            .flatten()
            .filter(|r| number_matches(&r.number, &self.filter))
            .collect()
    }

    pub fn selected_row(&self) -> Option<&CallRow> {
        self.visible().get(self.selected).copied()
    }
}

impl Default for HistoryView {
    fn default() -> Self {
        HistoryView::new()
    }
}

/// Whether `number` contains the digits of `filter` (a leading trunk `0`
/// also matches `+84…`).
pub fn number_matches(number: &str, filter: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (n, f) = (digits(number), digits(filter));
    if f.is_empty() {
        return true;
    }
    n.contains(&f) || f.strip_prefix('0').is_some_and(|rest| n.contains(rest))
}

/// The same phone number, however written.
pub fn same_number(a: &str, b: &str) -> bool {
    a == b || phone_key(a) == phone_key(b)
}

/// IO the loop does for `update` (the store lives outside the state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Save a wrap-up note on a history row (`None`: the newest finished
    /// call with `number`).
    SaveNote {
        row: Option<i64>,
        number: String,
        note: String,
    },
    /// Load today's calls for the history view (`Msg::History`).
    LoadHistory,
}

/// The control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Connected,
    Reconnecting { attempt: u32, max: u32 },
    Disconnected,
    Failed(InitFailure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Ok,
    Warning,
    Error,
}

/// What a notice or activity line says, kept typed so that switching the
/// language re-renders what is already on screen (`i18n::notice_text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeText {
    /// A fixed catalogue text.
    Fixed(super::i18n::T),
    /// An engine notice.
    Engine(Notice),
    CalloutFailed {
        error_code: Option<String>,
        sip_code: Option<u16>,
    },
    /// An internal call (device 1, dialled in SIP) failed: to whom, and
    /// the SIP code (worded for a colleague, not a customer).
    InternalCallFailed {
        number: String,
        sip_code: Option<u16>,
    },
    Transfer {
        ok: bool,
        detail: TransferDetail,
    },
    InitFailed(InitFailure),
    /// A call ended (the activity log's line).
    CallEnded {
        number: String,
        reason: EndReason,
    },
    BadDial(DialError),
    OfferExpired,
    /// Theme switched to this one.
    Theme(String),
    NoteNotSaved(String),
    /// The CRM client could not be built.
    Crm(CrmError),
    /// An account named in the config has no section.
    MissingAccount(crate::config::BackendKind),
    /// A call rings while the keyboard is in a text field or a view:
    /// the command keys that answer it (`None`: no such key is bound).
    RingBehindFocus {
        keys: Option<String>,
    },
    /// A missed ring set the agent to No Answer: the key back to On.
    NoAnswerSet {
        keys: String,
    },
    /// Already worded (kept for callers that word their own text).
    Plain(String),
}

impl From<String> for NoticeText {
    fn from(s: String) -> NoticeText {
        NoticeText::Plain(s)
    }
}

impl From<super::i18n::T> for NoticeText {
    fn from(t: super::i18n::T) -> NoticeText {
        NoticeText::Fixed(t)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeLine {
    pub level: Level,
    pub text: NoticeText,
}

/// A transfer offered to us (accept or refuse before `deadline`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub call_id: String,
    pub from: String,
    pub deadline: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferTab {
    Agent,
    Queue,
    Number,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferPrompt {
    /// A consult call's number, not a transfer (issue 16).
    pub consult: bool,
    pub tab: TransferTab,
    pub selected: usize,
    pub input: String,
    pub error: Option<DialError>,
}

/// A text field that has the keyboard. While one does, a ring changes the
/// meaning of no key: typed characters, Enter, Esc and Backspace keep
/// their meaning in the field, and only a command key (a function key or a
/// Ctrl/Alt chord, see [`super::keymap::Key::is_command_key`]) reaches the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// The wrap-up note.
    WrapUpNote,
    /// Digits typed into the dial line.
    DialLine,
    /// The dial line in address mode (`:` / `i`): every key is text.
    DialAddress,
    /// The transfer prompt's queue or number.
    TransferInput,
    /// The mobile number for device 3.
    MobileNumber,
    /// The history view's number filter.
    HistoryFilter,
    /// A note being edited in the history view.
    HistoryNote,
}

/// Modal overlays: they take every key until closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    Help { scroll: u16 },
    Device,
    Mobile { input: String, invalid: bool },
    Transfer(TransferPrompt),
    QuitConfirm,
    History(HistoryView),
}

/// What the dial line would call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    /// 8–13 digits (optionally a leading `+`).
    Customer(String),
    /// 1–7 digits (or a `*`/`#` service code).
    Extension(String),
    /// A `sip:` address, passed on as written.
    Uri(String),
}

impl DialTarget {
    pub fn text(&self) -> &str {
        match self {
            DialTarget::Customer(s) | DialTarget::Extension(s) | DialTarget::Uri(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    Empty,
    /// A control character (CR, LF, ESC, …), e.g. in a history row.
    Control(char),
    BadChar(char),
    PlusNotFirst,
    TooLong(usize),
    ShortWithPlus,
    /// A `sip:` address that breaks RFC 3261 §25.1, with the reason.
    BadUri(UriError),
}

impl From<TargetError> for DialError {
    fn from(e: TargetError) -> Self {
        match e {
            TargetError::Empty => DialError::Empty,
            TargetError::Control(c) => DialError::Control(c),
            TargetError::BadChar(c) => DialError::BadChar(c),
            TargetError::PlusNotFirst => DialError::PlusNotFirst,
            TargetError::Uri(u) => DialError::BadUri(u),
        }
    }
}

/// Validate and normalise what the agent typed (or a history row, or a
/// transfer number): the shared check of `sip::target` (no control
/// characters, a `sip:` address per RFC 3261 §25.1 without URI headers,
/// or a number), then the console's number lengths.
pub fn classify_dial(input: &str) -> Result<DialTarget, DialError> {
    let out = match target::parse(input)? {
        Target::Uri(u) => return Ok(DialTarget::Uri(u)),
        Target::Number(n) => n,
    };
    match target::number_kind(&out) {
        NumberKind::Customer => Ok(DialTarget::Customer(out)),
        NumberKind::Extension => Ok(DialTarget::Extension(out)),
        NumberKind::TooLong(digits) => Err(DialError::TooLong(digits)),
        NumberKind::ShortWithPlus => Err(DialError::ShortWithPlus),
    }
}

/// The header's banner, worded at view time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Banner {
    /// The built-in demo: the switchboard's address and the agent.
    Demo { addr: String, agent: String },
    /// `tongdai demo --screen …`.
    Scripted,
}

/// One queue a call can be transferred to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    pub id: String,
    pub name: String,
}

/// What the running backend can do, so the console offers only that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    /// On/Off, the voice channel, the device (a VCC control plane).
    pub control_plane: bool,
    /// Mute works on call-outs too (VCC mutes inbound calls only).
    pub mute_outbound: bool,
    /// Transfer to an agent picked from the platform's list.
    pub transfer_agent: bool,
    /// Transfer to a typed number (SIP REFER; VCC cannot).
    pub transfer_number: bool,
    /// Queues to transfer to (VCC: configured, the platform lists none).
    pub queues: Vec<QueueInfo>,
    /// Digits typed on the console reach the call only on device 1 (VCC:
    /// on devices 2–4 the call is on the phone).
    pub dtmf_needs_console: bool,
    /// Two calls at once: swap, consult transfer, three-way (plain SIP).
    pub multi_call: bool,
}

impl Caps {
    /// A plain SIP account.
    pub fn sip() -> Caps {
        Caps {
            control_plane: false,
            mute_outbound: true,
            transfer_agent: false,
            transfer_number: true,
            queues: Vec::new(),
            dtmf_needs_console: false,
            multi_call: true,
        }
    }

    /// A VCC agent (and the demo, which is one).
    pub fn vcc(queues: Vec<QueueInfo>) -> Caps {
        Caps {
            control_plane: true,
            mute_outbound: false,
            transfer_agent: true,
            transfer_number: false,
            queues,
            dtmf_needs_console: true,
            multi_call: false,
        }
    }

    /// The transfer dialog's tabs, in order.
    pub fn transfer_tabs(&self) -> Vec<TransferTab> {
        let mut tabs = Vec::new();
        if self.transfer_agent {
            tabs.push(TransferTab::Agent);
        }
        if !self.queues.is_empty() {
            tabs.push(TransferTab::Queue);
        }
        if self.transfer_number {
            tabs.push(TransferTab::Number);
        }
        tabs
    }
}

impl Default for Caps {
    /// Everything a console can show (no queues): tests and the first run.
    fn default() -> Caps {
        Caps {
            control_plane: true,
            mute_outbound: true,
            transfer_agent: true,
            transfer_number: true,
            queues: Vec::new(),
            dtmf_needs_console: false,
            multi_call: false,
        }
    }
}

/// Facts for the first-run screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Where the config file is (or would be).
    pub config_path: String,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub lang: Lang,
    pub now: Instant,
    pub keymap: Keymap,
    /// `None`: an account is configured and an engine runs.
    pub first_run: Option<Setup>,
    /// Shown in the header (e.g. the demo switchboard).
    pub banner: Option<Banner>,
    pub theme_index: usize,
    pub theme_names: Vec<String>,
    /// What the backend can do (the hint bar and transfer dialog follow it).
    pub caps: Caps,
    pub confirm_quit: bool,
    /// How long a transfer offer may wait (VCC: 10 s).
    pub offer_timeout: Duration,

    pub conn: Conn,
    pub registration: Option<RegState>,
    pub availability: Option<Availability>,
    pub voice_here: Option<bool>,
    pub device: Option<Device>,

    /// Every live call (read through [`AppState::call`]: the selected one).
    pub book: CallBook,
    /// DTMF typed here was refused (the call is on a phone) and the agent
    /// was told why: once per call.
    pub dtmf_refusal_said: Option<CallId>,
    pub last_call: Option<LastCall>,
    /// Call history (fed by a store later; this session's calls meanwhile).
    pub recent: Vec<RecentCall>,
    /// The customer popup's local and CRM data for the call on screen.
    pub popup: Option<Popup>,
    /// A `[crm]` is configured: the popup says it is looking.
    pub crm_configured: bool,
    /// Call history is recorded: ask for a wrap-up note after a call.
    pub notes_enabled: bool,
    /// The wrap-up prompt (never over a live call).
    pub wrapup: Option<WrapUp>,
    /// IO for the loop to do, drained after every `update`.
    pub effects: Vec<Effect>,
    /// Audio levels, quantised to eighths (only a change redraws).
    pub levels: Option<(u8, u8)>,

    pub dial: String,
    pub dial_edit: bool,
    pub notice: Option<NoticeLine>,
    /// Recent notices and call ends, newest last.
    pub activity: Vec<NoticeLine>,
    pub modal: Option<Modal>,
    pub offer: Option<Offer>,
    pub transfer_agents: Option<Vec<AgentInfo>>,

    /// The agent asked to leave; the loop shuts the engine down.
    pub quitting: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
}

pub const ACTIVITY_MAX: usize = 50;

impl AppState {
    pub fn new(lang: Lang, keymap: Keymap, now: Instant) -> AppState {
        AppState {
            lang,
            now,
            keymap,
            first_run: None,
            banner: None,
            theme_index: 0,
            theme_names: vec!["dark".into()],
            caps: Caps::default(),
            confirm_quit: true,
            offer_timeout: Duration::from_secs(10),
            conn: Conn::Connecting,
            registration: None,
            availability: None,
            voice_here: None,
            device: None,
            book: CallBook::new(),
            dtmf_refusal_said: None,
            last_call: None,
            recent: Vec::new(),
            popup: None,
            crm_configured: false,
            notes_enabled: false,
            wrapup: None,
            effects: Vec::new(),
            levels: None,
            dial: String::new(),
            dial_edit: false,
            notice: None,
            activity: Vec::new(),
            modal: None,
            offer: None,
            transfer_agents: None,
            quitting: false,
            dirty: true,
        }
    }

    /// The call the keys act on (the call book's selected call).
    pub fn call(&self) -> Option<&Call> {
        self.book.selected()
    }

    /// The keymap context.
    pub fn context(&self) -> Context {
        let call = match self.call().map(|c| c.phase) {
            None => CallCtx::Idle,
            Some(Phase::Ringing) => CallCtx::Ringing,
            Some(Phase::AgentLeg | Phase::Dialing | Phase::CustomerRinging) => CallCtx::Dialing,
            Some(Phase::Talking) => CallCtx::InCall,
        };
        let mut unavailable = ActionSet::EMPTY;
        let caps = &self.caps;
        if !caps.control_plane {
            unavailable = unavailable
                .with(Action::Availability)
                .with(Action::ClaimVoice)
                .with(Action::Device);
        }
        if self.voice_here == Some(true) {
            unavailable = unavailable.with(Action::ClaimVoice);
        }
        if !caps.mute_outbound
            && self
                .call()
                .is_some_and(|c| c.direction != Direction::Inbound)
        {
            unavailable = unavailable.with(Action::Mute);
        }
        if caps.transfer_tabs().is_empty() {
            unavailable = unavailable.with(Action::Transfer);
        }
        for a in Action::MULTI_CALL {
            if !self.multi_call_works(a) {
                unavailable = unavailable.with(a);
            }
        }
        Context {
            call,
            offer: self.offer.is_some(),
            unavailable,
        }
    }

    /// Whether a two-call action can work now (the hint bar and help show
    /// it only then): swap needs a held call beside the live one, consult
    /// one live call alone, complete / cancel a consult call and the call
    /// it serves, merge two answered calls; in a three-way call (two
    /// answered calls, neither held: the console holds all but one call
    /// otherwise), complete hands the far ends to each other and
    /// end_conference ends both.
    pub fn multi_call_works(&self, a: Action) -> bool {
        if !self.caps.multi_call {
            return false;
        }
        let calls = self.book.calls();
        let talking = calls.iter().filter(|c| c.is_talking()).count();
        let consult = calls.iter().any(|c| {
            c.consult_for
                .is_some_and(|p| self.book.get(p).is_some_and(|p| p.is_talking()))
        });
        let merged = talking == 2 && calls.iter().all(|c| !c.held);
        match a {
            Action::Swap => talking == 2 && calls.iter().any(|c| c.is_talking() && c.held),
            Action::Consult => calls.len() == 1 && talking == 1 && calls.iter().all(|c| !c.held),
            Action::CompleteTransfer => (consult && talking == 2) || merged,
            Action::CancelConsult => consult,
            Action::Merge => talking == 2 && !merged,
            Action::EndConference => merged,
            _ => true,
        }
    }

    /// The consult call, when there is one.
    pub fn consult_call(&self) -> Option<CallId> {
        self.book
            .calls()
            .iter()
            .find(|c| c.consult_for.is_some())
            .map(|c| c.id)
    }

    /// Seconds on the call timer, if one runs.
    pub fn timer_secs(&self) -> Option<u64> {
        self.call()
            .map(|c| self.now.saturating_duration_since(c.timer_base()).as_secs())
    }

    /// Whole seconds left on a transfer offer.
    pub fn offer_secs_left(&self) -> Option<u64> {
        self.offer.as_ref().map(|o| {
            let left = o.deadline.saturating_duration_since(self.now);
            left.as_secs() + u64::from(left.subsec_nanos() > 0)
        })
    }

    /// The text field that has the keyboard, if any.
    pub fn text_field(&self) -> Option<TextField> {
        match &self.modal {
            Some(Modal::Mobile { .. }) => return Some(TextField::MobileNumber),
            Some(Modal::Transfer(p)) if p.tab == TransferTab::Number => {
                return Some(TextField::TransferInput);
            }
            Some(Modal::History(h)) if h.editing.is_some() => return Some(TextField::HistoryNote),
            Some(Modal::History(h)) if h.filtering => return Some(TextField::HistoryFilter),
            Some(_) => return None,
            None => {}
        }
        if self.wrapup.is_some() {
            Some(TextField::WrapUpNote)
        } else if self.dial_edit {
            Some(TextField::DialAddress)
        } else if !self.dial.is_empty()
            && matches!(self.context().call, CallCtx::Idle | CallCtx::Ringing)
        {
            Some(TextField::DialLine)
        } else {
            None
        }
    }

    /// A call rings (or a transfer is offered) while the agent types or
    /// has a view open: keys keep their meaning there, and only a command
    /// key reaches the call.
    pub fn ring_behind_focus(&self) -> bool {
        let ctx = self.context();
        (ctx.call == CallCtx::Ringing || ctx.offer)
            && (self.text_field().is_some() || self.modal.is_some())
    }

    /// What the clock shows; a tick redraws only when this changes.
    pub fn clock_view(&self) -> (Option<u64>, Option<u64>) {
        (self.timer_secs(), self.offer_secs_left())
    }

    /// When the clock view next changes: the loop sleeps until then and
    /// not at all while no timer runs (idle CPU stays at zero).
    pub fn next_deadline(&self) -> Option<Instant> {
        let timer = self.call().map(|c| {
            let base = c.timer_base();
            let secs = self.now.saturating_duration_since(base).as_secs();
            base + Duration::from_secs(secs + 1)
        });
        let offer = self.offer.as_ref().map(|o| {
            let left = o.deadline.saturating_duration_since(self.now);
            if left.is_zero() {
                o.deadline
            } else {
                // The next whole-second boundary counted back from the deadline.
                let frac = Duration::from_nanos(u64::from(left.subsec_nanos()));
                let step = if frac.is_zero() {
                    Duration::from_secs(1)
                } else {
                    frac
                };
                self.now + step.min(left)
            }
        });
        match (timer, offer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn set_notice(&mut self, level: Level, text: impl Into<NoticeText>) {
        let line = NoticeLine {
            level,
            text: text.into(),
        };
        self.activity.push(line.clone());
        if self.activity.len() > ACTIVITY_MAX {
            self.activity.remove(0);
        }
        self.notice = Some(line);
    }

    pub fn theme_name(&self) -> &str {
        self.theme_names
            .get(self.theme_index)
            .map(String::as_str)
            .unwrap_or("dark")
    }
}

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn dial_rules() {
        use DialTarget::*;
        assert_eq!(
            classify_dial("0912 345 678"),
            Ok(Customer("0912345678".into()))
        );
        assert_eq!(
            classify_dial("+84-912-345-678"),
            Ok(Customer("+84912345678".into()))
        );
        assert_eq!(
            classify_dial("tel:+84912345678;phone-context=x"),
            Ok(Customer("+84912345678".into()))
        );
        assert_eq!(classify_dial("1001"), Ok(Extension("1001".into())));
        assert_eq!(classify_dial("1234567"), Ok(Extension("1234567".into())));
        assert_eq!(classify_dial("12345678"), Ok(Customer("12345678".into())));
        assert_eq!(classify_dial("*97"), Ok(Extension("*97".into())));
        assert_eq!(
            classify_dial("sip:1001@pbx.example.com"),
            Ok(Uri("sip:1001@pbx.example.com".into()))
        );
        assert_eq!(classify_dial(""), Err(DialError::Empty));
        assert_eq!(classify_dial("09x"), Err(DialError::BadChar('x')));
        assert_eq!(classify_dial("09+1"), Err(DialError::PlusNotFirst));
        assert_eq!(classify_dial("01234567890123"), Err(DialError::TooLong(14)));
        assert_eq!(classify_dial("+1001"), Err(DialError::ShortWithPlus));
        assert_eq!(
            classify_dial("sip:"),
            Err(DialError::BadUri(UriError::Empty))
        );
        // The same check as the control socket: no header injection from
        // a history row or a transfer number either.
        assert_eq!(
            classify_dial("sip:a@b?Via=x"),
            Err(DialError::BadUri(UriError::Headers))
        );
        assert_eq!(
            classify_dial("0912\r\nVia: x"),
            Err(DialError::Control('\r'))
        );
        // The refusal says why, in both languages, and never prints the
        // control character itself.
        let why = |l, e| super::super::i18n::dial_error(l, &e);
        assert_eq!(
            why(Lang::En, DialError::BadUri(UriError::Whitespace)),
            "not a valid sip: address: it holds a space"
        );
        assert_eq!(
            why(Lang::Vi, DialError::BadUri(UriError::Headers)),
            "địa chỉ sip: không hợp lệ: không được có phần header '?…'"
        );
        assert!(why(Lang::En, DialError::Control('\u{1b}')).contains("U+001B"));
        assert!(!why(Lang::Vi, DialError::Control('\u{1b}')).contains('\u{1b}'));
    }
}
