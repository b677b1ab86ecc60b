//! Key bindings as data (yazi / atuin style).
//!
//! ```toml
//! keys = [
//!   { on = ["<Enter>", "<F2>", "a"], run = "answer", when = "ringing" },
//!   { on = ["<Enter>", "<F2>"],      run = "dial",   when = "idle" },
//! ]
//! ```
//!
//! The compiled-in defaults live in `keymap-default.toml`; the user's
//! `[[ui.keys]]` are layered over them. A binding's `when` picks the
//! context: `offer` (a transfer is offered to us) beats the call states
//! (`idle`, `ringing`, `dialing`, `in_call`), which beat `call` (any live
//! call), which beats bindings with no `when`. Two bindings of one key at
//! the same level whose contexts overlap are a conflict, reported as an
//! error; a user binding replaces the default it overlaps (`run = "none"`
//! removes it). Digits, `*`, `#` and `+` that no binding takes go to the
//! dial line when idle and are sent as DTMF in a call.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use super::action::Action;

/// The compiled-in defaults (also printed by `tongdai config --print-default`).
pub const DEFAULT_KEYMAP: &str = include_str!("keymap-default.toml");

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

    pub fn from_event(ev: &KeyEvent) -> Key {
        Key::new(ev.code, ev.modifiers)
    }

    pub fn plain(code: KeyCode) -> Key {
        Key::new(code, KeyModifiers::NONE)
    }

    /// A key no text field takes as text or editing: a function key or a
    /// Ctrl/Alt chord. Only these reach a ringing call while the agent types.
    pub fn is_command_key(&self) -> bool {
        matches!(self.code, KeyCode::F(_))
            || self
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    }

    /// A typed character with no Ctrl/Alt (text for the dial line).
    pub fn text_char(&self) -> Option<char> {
        match self.code {
            KeyCode::Char(c)
                if !self
                    .mods
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                Some(c)
            }
            _ => None,
        }
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

    fn mask(when: Option<Condition>) -> u8 {
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
    fn level(when: Option<Condition>) -> u8 {
        match when {
            Some(Condition::Offer) => 0,
            Some(Condition::Call) => 2,
            Some(_) => 1,
            None => 3,
        }
    }
}

/// The call part of the context a key is pressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCtx {
    Idle,
    Ringing,
    Dialing,
    InCall,
}

/// A set of actions (one bit per [`Action::ALL`] entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActionSet(u32);

impl ActionSet {
    pub const EMPTY: ActionSet = ActionSet(0);

    fn bit(a: Action) -> u32 {
        Action::ALL
            .iter()
            .position(|x| *x == a)
            .map(|i| 1u32 << i)
            .unwrap_or(0)
    }

    pub fn with(self, a: Action) -> ActionSet {
        ActionSet(self.0 | ActionSet::bit(a))
    }

    pub fn contains(self, a: Action) -> bool {
        self.0 & ActionSet::bit(a) != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub call: CallCtx,
    pub offer: bool,
    /// Actions that cannot work here (the backend or the call does not
    /// allow them: mute on a VCC call-out, voice already here…). The hint
    /// bar leaves them out; pressing the key still says why.
    pub unavailable: ActionSet,
}

impl Context {
    pub fn new(call: CallCtx, offer: bool) -> Context {
        Context {
            call,
            offer,
            unavailable: ActionSet::EMPTY,
        }
    }

    fn matches(&self, when: Option<Condition>) -> bool {
        let mut m = match self.call {
            CallCtx::Idle => 1,
            CallCtx::Ringing => 2,
            CallCtx::Dialing => 4,
            CallCtx::InCall => 8,
        };
        if self.offer {
            m |= 16;
        }
        Condition::mask(when) & m != 0
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    keys: Vec<KeySpec>,
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

/// One action's live keys: (action, custom description, keys).
pub type LiveHint = (Action, Option<String>, Vec<Key>);
/// One help row: (action, when, custom description, keys).
pub type HelpRow = (Action, Option<Condition>, Option<String>, Vec<Key>);

/// The keymap in effect: defaults with the user's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
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

fn overlaps(a: &Binding, b: &Binding) -> bool {
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

impl Keymap {
    /// The compiled-in defaults alone.
    pub fn defaults() -> Result<Keymap, KeymapError> {
        Keymap::with_overrides(&[])
    }

    /// Defaults, then `user` on top.
    pub fn with_overrides(user: &[KeySpec]) -> Result<Keymap, KeymapError> {
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
        Ok(Keymap { bindings })
    }

    /// The binding a key press takes in this context.
    pub fn lookup(&self, key: Key, ctx: Context) -> Option<&Binding> {
        self.bindings
            .iter()
            .filter(|b| b.key == key && ctx.matches(b.when))
            .min_by_key(|b| Condition::level(b.when))
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// Bindings live in this context (not shadowed), grouped per action in
    /// [`Action::ALL`] order, context-specific ones first: the hint bar.
    pub fn live(&self, ctx: Context) -> Vec<LiveHint> {
        let mut out: Vec<(u8, usize, LiveHint)> = Vec::new();
        for b in &self.bindings {
            if !ctx.matches(b.when) || ctx.unavailable.contains(b.action) {
                continue;
            }
            if self.lookup(b.key, ctx) != Some(b) {
                continue;
            }
            let level = Condition::level(b.when).min(2);
            let order = Action::ALL
                .iter()
                .position(|a| *a == b.action)
                .unwrap_or(usize::MAX);
            match out
                .iter_mut()
                .find(|(_, _, (a, d, _))| *a == b.action && *d == b.desc)
            {
                Some((lv, _, (_, _, keys))) => {
                    *lv = (*lv).min(level);
                    if !keys.contains(&b.key) {
                        keys.push(b.key);
                    }
                }
                None => out.push((level, order, (b.action, b.desc.clone(), vec![b.key]))),
            }
        }
        out.sort_by_key(|(level, order, _)| (*level, *order));
        out.into_iter().map(|(_, _, hint)| hint).collect()
    }

    /// Every binding grouped per (action, when), for the help overlay.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        let mut rows: Vec<HelpRow> = Vec::new();
        for b in &self.bindings {
            match rows
                .iter_mut()
                .find(|(a, w, d, _)| *a == b.action && *w == b.when && *d == b.desc)
            {
                Some(r) => r.3.push(b.key),
                None => rows.push((b.action, b.when, b.desc.clone(), vec![b.key])),
            }
        }
        rows.sort_by_key(|(a, w, ..)| {
            (
                Action::ALL
                    .iter()
                    .position(|x| x == a)
                    .unwrap_or(usize::MAX),
                w.map(|w| Condition::ALL.iter().position(|c| *c == w).unwrap_or(0) + 1)
                    .unwrap_or(0),
            )
        });
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Key {
        s.parse().unwrap()
    }

    const IDLE: Context = Context {
        call: CallCtx::Idle,
        offer: false,
        unavailable: ActionSet::EMPTY,
    };
    const RINGING: Context = Context {
        call: CallCtx::Ringing,
        offer: false,
        unavailable: ActionSet::EMPTY,
    };

    #[test]
    fn key_names_parse_and_print() {
        assert_eq!(k("<Enter>").to_string(), "Enter");
        assert_eq!(k("<F2>").to_string(), "F2");
        assert_eq!(k("<C-t>").to_string(), "^T");
        assert_eq!(k("<c-T>"), k("<C-t>"));
        assert_eq!(k("?").to_string(), "?");
        assert_eq!(k("<Space>").to_string(), "Space");
        assert_eq!(k("<lt>"), Key::plain(KeyCode::Char('<')));
        assert!("<F13>".parse::<Key>().is_err());
        assert!("ab".parse::<Key>().is_err());
        assert!("<Foo>".parse::<Key>().is_err());
        // Shift is in the character.
        let ev = KeyEvent::new(KeyCode::Char('L'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), k("L"));
    }

    #[test]
    fn enter_answers_when_ringing_and_dials_when_idle() {
        let km = Keymap::defaults().unwrap();
        assert_eq!(
            km.lookup(k("<Enter>"), RINGING).unwrap().action,
            Action::Answer
        );
        assert_eq!(km.lookup(k("<Enter>"), IDLE).unwrap().action, Action::Dial);
        assert_eq!(
            km.lookup(k("<F2>"), RINGING).unwrap().action,
            Action::Answer
        );
        assert_eq!(km.lookup(k("?"), IDLE).unwrap().action, Action::Help);
        let offer = Context::new(CallCtx::InCall, true);
        assert_eq!(
            km.lookup(k("y"), offer).unwrap().action,
            Action::AcceptTransfer
        );
        // No binding for digits: they are dial-line text / DTMF.
        assert!(km.lookup(k("5"), IDLE).is_none());
    }

    #[test]
    fn user_overrides_replace_and_unbind() {
        let user: KeymapFile = toml::from_str(
            r#"keys = [
                { on = "<F12>", run = "help" },
                { on = "a", run = "none", when = "ringing" },
                { on = "x", run = "answer", when = "ringing", desc = "pick up" },
            ]"#,
        )
        .unwrap();
        let km = Keymap::with_overrides(&user.keys).unwrap();
        assert_eq!(km.lookup(k("<F12>"), IDLE).unwrap().action, Action::Help);
        assert!(km.lookup(k("a"), RINGING).is_none());
        let x = km.lookup(k("x"), RINGING).unwrap();
        assert_eq!(x.desc.as_deref(), Some("pick up"));
    }

    #[test]
    fn conflicts_are_errors() {
        let user: KeymapFile = toml::from_str(
            r#"keys = [
                { on = "z", run = "hold", when = "in_call" },
                { on = "z", run = "mute", when = "in_call" },
            ]"#,
        )
        .unwrap();
        let err = Keymap::with_overrides(&user.keys).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ui.keys: `z` is bound twice when in_call: to `hold` and to `mute`; remove one, or give them different `when`"
        );
        // Different contexts are not a conflict.
        let ok: KeymapFile = toml::from_str(
            r#"keys = [
                { on = "z", run = "hold", when = "in_call" },
                { on = "z", run = "answer", when = "ringing" },
            ]"#,
        )
        .unwrap();
        assert!(Keymap::with_overrides(&ok.keys).is_ok());
    }

    #[test]
    fn hints_put_the_context_first() {
        let km = Keymap::defaults().unwrap();
        let live = km.live(RINGING);
        assert_eq!(live[0].0, Action::Answer);
        assert_eq!(live[1].0, Action::Reject);
    }

    #[test]
    fn unavailable_actions_leave_the_hints_but_keep_their_key() {
        let km = Keymap::defaults().unwrap();
        let mut ctx = Context::new(CallCtx::InCall, false);
        assert!(km.live(ctx).iter().any(|(a, ..)| *a == Action::Mute));
        ctx.unavailable = ActionSet::EMPTY.with(Action::Mute);
        assert!(!km.live(ctx).iter().any(|(a, ..)| *a == Action::Mute));
        assert!(km.live(ctx).iter().any(|(a, ..)| *a == Action::Hold));
        // Pressing it still reaches the action (which says why).
        assert_eq!(km.lookup(k("m"), ctx).unwrap().action, Action::Mute);
    }
}
