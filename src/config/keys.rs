//! The key bindings setting (`[[ui.keys]]`, the compiled-in
//! `keymap-default.toml`): key names, actions, `when` conditions, and the
//! two layers resolved into one list of bindings with its conflicts
//! reported. These plain types live here, below every feature, so
//! `config/` checks `ui.keys` without importing `app` (tests/layers.rs);
//! looking a key press up in the console's context stays in
//! `app/keymap.rs`.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyModifiers};
use serde::Deserialize;

/// The compiled-in defaults (also printed by `tongdai config --print-default`).
pub const DEFAULT_KEYMAP: &str = include_str!("keymap-default.toml");

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

/// A key with its modifiers, normalised so that `A` and `<S-a>` are one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let mut code = code;
        if let KeyCode::Char(c) = code {
            // Shift is already in the character ('A', '?').
            mods.remove(KeyModifiers::SHIFT);
            if mods.contains(KeyModifiers::CONTROL) {
                code = KeyCode::Char(c.to_ascii_lowercase());
            }
        }
        if code == KeyCode::BackTab {
            mods.remove(KeyModifiers::SHIFT);
        }
        Key { code, mods }
    }

    pub fn plain(code: KeyCode) -> Key {
        Key::new(code, KeyModifiers::NONE)
    }
}

/// Why a key name did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a key: write one character (\"a\", \"?\"), or <Enter>, <Esc>, <Tab>, <Space>, <Backspace>, <Up>, <F1>…<F12>, <C-x> (Ctrl), <A-x> (Alt), <S-F2> (Shift)"
)]
pub struct BadKey(pub String);

impl FromStr for Key {
    type Err = BadKey;

    fn from_str(s: &str) -> Result<Key, BadKey> {
        let bad = || BadKey(s.to_string());
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => return Ok(Key::plain(KeyCode::Char(c))),
            (None, _) => return Err(bad()),
            _ => {}
        }
        let inner = s
            .strip_prefix('<')
            .and_then(|r| r.strip_suffix('>'))
            .ok_or_else(bad)?;
        let mut mods = KeyModifiers::NONE;
        let mut rest = inner;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 2 && lower.starts_with("c-") {
                mods |= KeyModifiers::CONTROL;
            } else if rest.len() > 2 && lower.starts_with("a-") {
                mods |= KeyModifiers::ALT;
            } else if rest.len() > 2 && lower.starts_with("s-") {
                mods |= KeyModifiers::SHIFT;
            } else {
                break;
            }
            rest = &rest[2..];
        }
        let mut rc = rest.chars();
        let code = match (rc.next(), rc.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "cr" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" | "bs" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" => KeyCode::PageUp,
                "pagedown" => KeyCode::PageDown,
                "lt" => KeyCode::Char('<'),
                "gt" => KeyCode::Char('>'),
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            },
        };
        Ok(Key::new(code, mods))
    }
}

impl fmt::Display for Key {
    /// The short form the hint bar and help show: `Enter`, `F2`, `^T`, `?`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("S-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("^")?;
            if let KeyCode::Char(c) = self.code {
                return write!(f, "{}", c.to_ascii_uppercase());
            }
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("S-Tab"),
            KeyCode::Backspace => f.write_str("Bksp"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Insert => f.write_str("Ins"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One key or a list of alternatives in `on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyList(pub Vec<Key>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key such as \"<Enter>\" or a list of keys such as [\"a\", \"<F2>\"]")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<KeyList, E> {
                s.parse::<Key>()
                    .map(|k| KeyList(vec![k]))
                    .map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<KeyList, A::Error> {
                let mut keys = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    keys.push(s.parse::<Key>().map_err(serde::de::Error::custom)?);
                }
                if keys.is_empty() {
                    return Err(serde::de::Error::custom("`on` lists no key"));
                }
                Ok(KeyList(keys))
            }
        }
        d.deserialize_any(V)
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// No call.
    Idle,
    /// A call rings for us (not the agent leg of our own call-out).
    Ringing,
    /// Our call-out before the customer answers.
    Dialing,
    /// Talking (also on hold or muted).
    InCall,
    /// Any live call: ringing, dialing or in call.
    Call,
    /// A colleague offers us a transfer.
    Offer,
}

impl Condition {
    pub const ALL: [Condition; 6] = [
        Condition::Idle,
        Condition::Ringing,
        Condition::Dialing,
        Condition::InCall,
        Condition::Call,
        Condition::Offer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Condition::Idle => "idle",
            Condition::Ringing => "ringing",
            Condition::Dialing => "dialing",
            Condition::InCall => "in_call",
            Condition::Call => "call",
            Condition::Offer => "offer",
        }
    }

    /// The call states a binding with this `when` applies in (bits).
    pub fn mask(when: Option<Condition>) -> u8 {
        match when {
            Some(Condition::Idle) => 1,
            Some(Condition::Ringing) => 2,
            Some(Condition::Dialing) => 4,
            Some(Condition::InCall) => 8,
            Some(Condition::Call) => 2 | 4 | 8,
            Some(Condition::Offer) => 16,
            None => 31,
        }
    }

    /// Lower wins.
    pub fn level(when: Option<Condition>) -> u8 {
        match when {
            Some(Condition::Offer) => 0,
            Some(Condition::Call) => 2,
            Some(_) => 1,
            None => 3,
        }
    }
}

/// One entry of the keymap file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub on: KeyList,
    pub run: Action,
    #[serde(default)]
    pub when: Option<Condition>,
    /// Shown in help and the hint bar instead of the built-in words.
    #[serde(default)]
    pub desc: Option<String>,
}

/// A keymap file: the compiled-in defaults are one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeymapFile {
    pub keys: Vec<KeySpec>,
}

/// A resolved binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub key: Key,
    pub action: Action,
    pub when: Option<Condition>,
    pub desc: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error(
        "{layer}: `{key}` is bound twice{ctx}: to `{first}` and to `{second}`; remove one, or give them different `when`"
    )]
    Conflict {
        layer: &'static str,
        key: String,
        ctx: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("the compiled-in keymap does not parse: {0}")]
    Default(String),
}

fn expand(specs: &[KeySpec]) -> Vec<Binding> {
    specs
        .iter()
        .flat_map(|s| {
            s.on.0.iter().map(|k| Binding {
                key: *k,
                action: s.run,
                when: s.when,
                desc: s.desc.clone(),
            })
        })
        .collect()
}

/// The two bindings take one key in one context at one level.
pub fn overlaps(a: &Binding, b: &Binding) -> bool {
    a.key == b.key
        && Condition::level(a.when) == Condition::level(b.when)
        && Condition::mask(a.when) & Condition::mask(b.when) != 0
}

fn check_conflicts(layer: &'static str, list: &[Binding]) -> Result<(), KeymapError> {
    for (i, a) in list.iter().enumerate() {
        for b in &list[i + 1..] {
            if overlaps(a, b) && a.action != b.action {
                return Err(KeymapError::Conflict {
                    layer,
                    key: a.key.to_string(),
                    ctx: match (a.when, b.when) {
                        (Some(w), _) | (None, Some(w)) => format!(" when {}", w.name()),
                        (None, None) => String::new(),
                    },
                    first: a.action.name(),
                    second: b.action.name(),
                });
            }
        }
    }
    Ok(())
}

/// The defaults, then `user` on top: a user binding replaces the default
/// it overlaps, and `run = "none"` removes it.
pub fn bindings(user: &[KeySpec]) -> Result<Vec<Binding>, KeymapError> {
    let file: KeymapFile =
        toml::from_str(DEFAULT_KEYMAP).map_err(|e| KeymapError::Default(e.to_string()))?;
    let mut bindings = expand(&file.keys);
    check_conflicts("the default keymap", &bindings)?;
    let user = expand(user);
    check_conflicts("ui.keys", &user)?;
    for u in &user {
        bindings.retain(|d| !overlaps(d, u));
    }
    bindings.extend(user.into_iter().filter(|u| u.action != Action::None));
    Ok(bindings)
}
