//! Key bindings as data (yazi / atuin style).
//!
//! ```toml
//! keys = [
//!   { on = ["<Enter>", "<F2>", "a"], run = "answer", when = "ringing" },
//!   { on = ["<Enter>", "<F2>"],      run = "dial",   when = "idle" },
//! ]
//! ```
//!
//! The compiled-in defaults live in `config/keymap-default.toml`; the user's
//! `[[ui.keys]]` are layered over them. A binding's `when` picks the
//! context: `offer` (a transfer is offered to us) beats the call states
//! (`idle`, `ringing`, `dialing`, `in_call`), which beat `call` (any live
//! call), which beats bindings with no `when`. Two bindings of one key at
//! the same level whose contexts overlap are a conflict, reported as an
//! error; a user binding replaces the default it overlaps (`run = "none"`
//! removes it). Digits, `*`, `#` and `+` that no binding takes go to the
//! dial line when idle and are sent as DTMF in a call.

use super::action::Action;
use crate::config::keys;
pub use crate::config::keys::{
    BadKey, Binding, Condition, DEFAULT_KEYMAP, Key, KeyList, KeySpec, KeymapError,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Key {
        Key::new(ev.code, ev.modifiers)
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

/// One action's live keys: (action, custom description, keys).
pub type LiveHint = (Action, Option<String>, Vec<Key>);
/// One help row: (action, when, custom description, keys).
pub type HelpRow = (Action, Option<Condition>, Option<String>, Vec<Key>);

/// The keymap in effect: defaults with the user's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Keymap {
    /// The compiled-in defaults alone.
    pub fn defaults() -> Result<Keymap, KeymapError> {
        Keymap::with_overrides(&[])
    }

    /// Defaults, then `user` on top.
    pub fn with_overrides(user: &[KeySpec]) -> Result<Keymap, KeymapError> {
        Ok(Keymap {
            bindings: keys::bindings(user)?,
        })
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
    use crate::config::keys::KeymapFile;

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
