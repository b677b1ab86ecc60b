//! `update(&mut AppState, Msg) -> Vec<Command>`: the one place state
//! changes. No I/O, no clock reads (`now` arrives as `Msg::Tick`).

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use std::time::Instant;

use crate::call::book::{Applied, EndedCall};
use crate::call::errors::Lang;
use crate::engine::{
    Availability, CallEvent, Command, Device, EndReason, Event, HistoryNotice, NotNow, Notice,
    TransferTarget,
};

use super::action::{Action, Msg};
use super::i18n::T;
use super::keymap::{CallCtx, Key};
use super::state::{
    AppState, Conn, CrmState, DialTarget, Effect, HistoryView, LastCall, Level, Modal, NoticeText,
    Offer, Popup, RecentCall, TextField, TransferPrompt, TransferTab, WrapUp, classify_dial,
    same_number,
};

/// Keys that are dial-line text or DTMF when no binding takes them.
const DIAL_CHARS: &str = "0123456789*#+";

pub fn update(s: &mut AppState, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Tick(now) => {
            let before = s.clock_view();
            s.now = now;
            if let Some(o) = &s.offer
                && now >= o.deadline
            {
                s.offer = None;
                s.set_notice(Level::Warning, NoticeText::OfferExpired);
                s.dirty = true;
            }
            if s.clock_view() != before {
                s.dirty = true;
            }
            Vec::new()
        }
        Msg::Resize => {
            s.dirty = true;
            Vec::new()
        }
        Msg::Key(ev) => {
            if ev.kind == KeyEventKind::Release {
                return Vec::new();
            }
            let was = s.dirty;
            s.dirty = true;
            match on_key(s, ev) {
                Some(cmds) => cmds,
                None => {
                    // A key nothing takes: no redraw.
                    s.dirty = was;
                    Vec::new()
                }
            }
        }
        Msg::Action(a) => {
            s.dirty = true;
            on_action(s, a)
        }
        Msg::Paste(text) => {
            s.dirty = true;
            on_paste(s, &text);
            Vec::new()
        }
        Msg::Engine(ev) => {
            on_event(s, ev);
            Vec::new()
        }
        Msg::EngineUnavailable { stopped } => {
            s.dirty = true;
            let t = if stopped {
                T::EngineStopped
            } else {
                T::EngineBusy
            };
            s.set_notice(Level::Error, t);
            Vec::new()
        }
        Msg::CustomerInfo { number, info } => {
            if let Some(p) = popup_for(s, &number) {
                p.local = Some(info);
                s.dirty = true;
            }
            Vec::new()
        }
        Msg::CrmResult { number, result } => {
            if let Some(p) = popup_for(s, &number) {
                p.crm = match result {
                    Ok(Some(r)) => CrmState::Found(r),
                    Ok(None) => CrmState::NotFound,
                    Err(e) => CrmState::Failed(e),
                };
                s.dirty = true;
            }
            Vec::new()
        }
        Msg::CallRecorded { number, row } => {
            if let Some(w) = &mut s.wrapup
                && w.row.is_none()
                && same_number(&w.number, &number)
            {
                w.row = Some(row);
            }
            Vec::new()
        }
        Msg::History(result) => {
            if let Some(Modal::History(h)) = &mut s.modal {
                match result {
                    Ok(rows) => {
                        h.rows = Some(rows);
                        h.error = None;
                    }
                    Err(e) => {
                        h.rows = Some(Vec::new());
                        h.error = Some(e);
                    }
                }
                h.selected = 0;
                s.dirty = true;
            }
            Vec::new()
        }
        Msg::NoteSaved { note, result } => {
            s.dirty = true;
            match result {
                Ok(row) => {
                    let note = (!note.trim().is_empty()).then(|| note.trim().to_string());
                    if let Some(Modal::History(h)) = &mut s.modal {
                        for r in h.rows.iter_mut().flatten().filter(|r| r.row == row) {
                            r.note = note.clone();
                        }
                    }
                    if let Some(info) = s.popup.as_mut().and_then(|p| p.local.as_mut()) {
                        for r in info.recent.iter_mut().filter(|r| r.row == row) {
                            r.note = note.clone();
                        }
                    }
                    s.set_notice(Level::Ok, T::NoteSaved);
                }
                Err(why) => {
                    s.set_notice(Level::Error, NoticeText::NoteNotSaved(why));
                }
            }
            Vec::new()
        }
    }
}

/// The popup, if it is for `number` (a late answer for another caller,
/// or for a call that has ended, finds none).
fn popup_for<'a>(s: &'a mut AppState, number: &str) -> Option<&'a mut Popup> {
    s.popup.as_mut().filter(|p| same_number(&p.number, number))
}

/// The popup follows the call on screen: a new customer number starts an
/// empty one (CRM pending when configured); no customer, no popup.
fn sync_popup(s: &mut AppState) {
    match s.call().filter(|c| c.has_customer()) {
        Some(c) => {
            if !s
                .popup
                .as_ref()
                .is_some_and(|p| same_number(&p.number, &c.number))
            {
                s.popup = Some(Popup {
                    number: c.number.clone(),
                    local: None,
                    crm: if s.crm_configured {
                        CrmState::Pending
                    } else {
                        CrmState::Off
                    },
                });
            }
        }
        None => s.popup = None,
    }
}

/// Taking a call from the note box (or quitting, or the next call's
/// wrap-up) closes it. What was typed is saved, not lost.
fn close_wrapup_for_call(s: &mut AppState) {
    if let Some(w) = s.wrapup.take()
        && !w.input.trim().is_empty()
    {
        s.effects.push(Effect::SaveNote {
            row: w.row,
            number: w.number,
            note: w.input,
        });
    }
}

fn on_wrapup_key(s: &mut AppState, key: Key) -> Option<Vec<Command>> {
    let w = s.wrapup.as_mut()?;
    match key.code {
        KeyCode::Esc => s.wrapup = None,
        KeyCode::Enter => {
            if let Some(w) = s.wrapup.take()
                && !w.input.trim().is_empty()
            {
                s.effects.push(Effect::SaveNote {
                    row: w.row,
                    number: w.number,
                    note: w.input,
                });
            }
        }
        KeyCode::Backspace => {
            w.input.pop();
        }
        _ => match key.text_char() {
            Some(c) => w.input.push(c),
            // Function keys and Ctrl combinations still reach the keymap.
            None => return None,
        },
    }
    Some(Vec::new())
}

fn on_history_key(s: &mut AppState, mut h: HistoryView, key: Key) -> (Option<Modal>, Vec<Command>) {
    if let Some(mut input) = h.editing.take() {
        match key.code {
            KeyCode::Esc => {}
            KeyCode::Enter => {
                if let Some(r) = h.selected_row() {
                    s.effects.push(Effect::SaveNote {
                        row: Some(r.row),
                        number: r.number.clone(),
                        note: input,
                    });
                }
            }
            _ => {
                edit(&mut input, key);
                h.editing = Some(input);
            }
        }
        return (Some(Modal::History(h)), Vec::new());
    }
    if h.filtering {
        match key.code {
            KeyCode::Esc => {
                h.filter.clear();
                h.filtering = false;
            }
            KeyCode::Enter => h.filtering = false,
            KeyCode::Up | KeyCode::Down => {
                h.filtering = false;
                return on_history_key(s, h, key);
            }
            _ => {
                edit(&mut h.filter, key);
                h.selected = 0;
            }
        }
        return (Some(Modal::History(h)), Vec::new());
    }
    let n = h.visible().len();
    match (key.code, key.text_char()) {
        (KeyCode::Esc, _) | (_, Some('q')) => return (None, Vec::new()),
        (KeyCode::Up, _) | (_, Some('k')) => h.selected = h.selected.saturating_sub(1),
        (KeyCode::Down, _) | (_, Some('j')) if h.selected + 1 < n => h.selected += 1,
        (_, Some('/')) => h.filtering = true,
        (_, Some('n')) => {
            if let Some(r) = h.selected_row() {
                h.editing = Some(r.note.clone().unwrap_or_default());
            }
        }
        // Enter only: `c` is the reconnect key elsewhere.
        (KeyCode::Enter, _) => {
            // Call back through the dial line: the same validation, the
            // same `CallOut`, the same error table as a typed number.
            if let Some(r) = h.selected_row() {
                s.dial = r.number.clone();
                s.dial_edit = false;
                return (None, on_action(s, Action::Dial));
            }
        }
        _ => {}
    }
    (Some(Modal::History(h)), Vec::new())
}

fn on_paste(s: &mut AppState, text: &str) {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    let dial_focus = matches!(
        s.text_field(),
        Some(TextField::DialLine | TextField::DialAddress)
    );
    match &mut s.modal {
        Some(Modal::Mobile { input, invalid }) => {
            input.push_str(&text);
            *invalid = false;
        }
        Some(Modal::Transfer(p)) if p.tab == TransferTab::Number => p.input.push_str(&text),
        Some(Modal::History(h)) => match (&mut h.editing, h.filtering) {
            (Some(input), _) => input.push_str(&text),
            (None, true) => h.filter.push_str(&text),
            _ => {}
        },
        Some(_) => {}
        None if s.wrapup.is_some() => {
            if let Some(w) = &mut s.wrapup {
                w.input.push_str(&text);
            }
        }
        None if s.book.selected_id().is_none() || dial_focus => {
            s.dial.push_str(text.trim());
            if !text.chars().all(|c| DIAL_CHARS.contains(c) || c == ' ') {
                s.dial_edit = true;
            }
        }
        None => {}
    }
}

fn on_key(s: &mut AppState, ev: KeyEvent) -> Option<Vec<Command>> {
    if s.quitting {
        return None;
    }
    let key = Key::from_event(&ev);
    if let Some(cmds) = on_ring_command_key(s, key) {
        return Some(cmds);
    }
    if s.modal.is_some() {
        return Some(on_modal_key(s, key));
    }
    if s.wrapup.is_some()
        && let Some(cmds) = on_wrapup_key(s, key)
    {
        return Some(cmds);
    }
    if s.dial_edit {
        return Some(on_dial_edit_key(s, key));
    }
    if s.ring_behind_focus()
        && let Some(cmds) = on_dial_line_while_ringing(s, key)
    {
        return Some(cmds);
    }
    if let Some(b) = s.keymap.lookup(key, s.context()) {
        let action = b.action;
        return Some(on_action(s, action));
    }
    Some(match (key.code, key.text_char()) {
        (_, Some(c)) if DIAL_CHARS.contains(c) => match s.context().call {
            CallCtx::InCall if c != '+' => {
                let on_phone = s.caps.dtmf_needs_console
                    && s.device.as_ref().is_some_and(|d| *d != Device::Console);
                if on_phone {
                    // The call is on the desk phone or mobile: its own keys
                    // send DTMF. Say so once per call, not once per key.
                    if let Some(id) = s.book.selected_id()
                        && s.dtmf_refusal_said != Some(id)
                    {
                        s.dtmf_refusal_said = Some(id);
                        s.set_notice(
                            Level::Warning,
                            NoticeText::Engine(Notice::NotNow(NotNow::DtmfOnPhone)),
                        );
                    }
                    return Some(Vec::new());
                }
                let call = s.book.selected_id();
                if let Some(id) = call {
                    s.book.note_dtmf_sent(id, c);
                }
                engine(s, Command::SendDtmf { call, digit: c })
            }
            CallCtx::Idle => {
                s.dial.push(c);
                Vec::new()
            }
            _ => return None,
        },
        (KeyCode::Backspace, _) if s.call().is_none() => {
            s.dial.pop();
            Vec::new()
        }
        _ => return None,
    })
}

/// While a call rings behind a text field or a view, a command key bound
/// to the ring (answer, reject, hang up; accept or refuse a transfer)
/// reaches it; nothing else does (issue 13: a ring must never turn what
/// the agent types into commands). Answering takes the focus: the field
/// gives way, keeping what it can.
fn on_ring_command_key(s: &mut AppState, key: Key) -> Option<Vec<Command>> {
    if !s.ring_behind_focus() || !key.is_command_key() {
        return None;
    }
    let ctx = s.context();
    let action = s.keymap.lookup(key, ctx)?.action;
    let ringing = ctx.call == CallCtx::Ringing;
    let takes = match action {
        Action::Answer | Action::Reject | Action::End => ringing,
        Action::AcceptTransfer | Action::RefuseTransfer => ctx.offer,
        _ => false,
    };
    if !takes {
        return None;
    }
    if matches!(action, Action::Answer | Action::AcceptTransfer) {
        give_way_to_call(s);
    }
    Some(on_action(s, action))
}

/// The agent took a call from a text field or a view: the field closes,
/// and what was typed is saved where it has a home (the wrap-up draft, a
/// history note being edited); a number typed in the dial line stays.
fn give_way_to_call(s: &mut AppState) {
    close_wrapup_for_call(s);
    s.dial_edit = false;
    if let Some(Modal::History(h)) = s.modal.take()
        && let (Some(note), Some(r)) = (h.editing.clone(), h.selected_row())
    {
        s.effects.push(Effect::SaveNote {
            row: Some(r.row),
            number: r.number.clone(),
            note,
        });
    }
}

/// Digits typed before a ring stay a number being typed: more digits and
/// Backspace edit it, Enter still means "call" (which waits for the line),
/// and other typed keys do nothing rather than act on the ring. Esc and
/// command keys go on to the keymap.
fn on_dial_line_while_ringing(s: &mut AppState, key: Key) -> Option<Vec<Command>> {
    if s.text_field() != Some(TextField::DialLine) || s.context().call != CallCtx::Ringing {
        return None;
    }
    match (key.code, key.text_char()) {
        (_, Some(c)) if DIAL_CHARS.contains(c) => s.dial.push(c),
        (KeyCode::Backspace, _) => {
            s.dial.pop();
        }
        (KeyCode::Enter, _) => return Some(on_action(s, Action::Dial)),
        (_, Some(_)) => say_ring_behind_focus(s),
        _ => return None,
    }
    Some(Vec::new())
}

/// The keys that run `action` in the current context.
fn live_keys(s: &AppState, action: Action) -> Vec<Key> {
    s.keymap
        .live(s.context())
        .into_iter()
        .filter(|(a, ..)| *a == action)
        .flat_map(|(_, _, k)| k)
        .collect()
}

/// `o/F6`: at most `max` keys as the hint bar names them.
fn key_names(keys: &[Key], max: usize) -> String {
    keys.iter()
        .take(max)
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

/// The notice for a ring the agent cannot answer from where the keyboard
/// is: which command key answers.
fn say_ring_behind_focus(s: &mut AppState) {
    let keys: Vec<Key> = live_keys(s, Action::Answer)
        .into_iter()
        .filter(Key::is_command_key)
        .collect();
    let label = key_names(&keys, 3);
    let keys = (!label.is_empty()).then_some(label);
    s.set_notice(Level::Warning, NoticeText::RingBehindFocus { keys });
}

fn on_dial_edit_key(s: &mut AppState, key: Key) -> Vec<Command> {
    match key.code {
        KeyCode::Esc => s.dial_edit = false,
        KeyCode::Enter => return on_action(s, Action::Dial),
        KeyCode::Backspace => {
            s.dial.pop();
        }
        _ => {
            if let Some(c) = key.text_char() {
                s.dial.push(c);
            }
        }
    }
    Vec::new()
}

fn edit(input: &mut String, key: Key) {
    match key.code {
        KeyCode::Backspace => {
            input.pop();
        }
        _ => {
            if let Some(c) = key.text_char() {
                input.push(c);
            }
        }
    }
}

fn on_modal_key(s: &mut AppState, key: Key) -> Vec<Command> {
    let Some(modal) = s.modal.take() else {
        return Vec::new();
    };
    let mut cmds = Vec::new();
    s.modal = match modal {
        Modal::Help { scroll } => match key.code {
            KeyCode::Esc
            | KeyCode::Enter
            | KeyCode::F(1)
            | KeyCode::Char('q')
            | KeyCode::Char('?') => None,
            KeyCode::Down | KeyCode::Char('j') => Some(Modal::Help {
                scroll: scroll.saturating_add(1),
            }),
            KeyCode::Up | KeyCode::Char('k') => Some(Modal::Help {
                scroll: scroll.saturating_sub(1),
            }),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Modal::Help {
                scroll: scroll.saturating_add(10),
            }),
            KeyCode::PageUp => Some(Modal::Help {
                scroll: scroll.saturating_sub(10),
            }),
            _ => Some(Modal::Help { scroll }),
        },
        Modal::Device => match key.text_char() {
            Some('1') => {
                cmds = engine(s, Command::ChangeDevice(Device::Console));
                None
            }
            Some('2') => {
                cmds = engine(s, Command::ChangeDevice(Device::IpPhone));
                None
            }
            Some('3') => {
                let input = match &s.device {
                    Some(Device::Mobile { number }) => number.clone(),
                    _ => String::new(),
                };
                Some(Modal::Mobile {
                    input,
                    invalid: false,
                })
            }
            Some('4') => {
                cmds = engine(s, Command::ChangeDevice(Device::AlwaysOnIpPhone));
                None
            }
            _ if key.code == KeyCode::Esc => None,
            _ => Some(Modal::Device),
        },
        Modal::Mobile { mut input, invalid } => match key.code {
            KeyCode::Esc => None,
            KeyCode::Enter => match classify_dial(&input) {
                Ok(DialTarget::Customer(number)) => {
                    cmds = engine(s, Command::ChangeDevice(Device::Mobile { number }));
                    None
                }
                _ => Some(Modal::Mobile {
                    input,
                    invalid: true,
                }),
            },
            _ => {
                let before = input.clone();
                edit(&mut input, key);
                Some(Modal::Mobile {
                    invalid: invalid && input == before,
                    input,
                })
            }
        },
        Modal::Transfer(mut p) => match key.code {
            KeyCode::Esc => None,
            KeyCode::Tab | KeyCode::Right | KeyCode::BackTab | KeyCode::Left if !p.consult => {
                // Only the tabs this backend can use (VCC: no number).
                let tabs = s.caps.transfer_tabs();
                let n = tabs.len().max(1);
                let i = tabs.iter().position(|t| *t == p.tab).unwrap_or(0);
                let back = matches!(key.code, KeyCode::BackTab | KeyCode::Left);
                let next = if back { (i + n - 1) % n } else { (i + 1) % n };
                if let Some(t) = tabs.get(next) {
                    p.tab = *t;
                }
                p.selected = 0;
                p.input.clear();
                p.error = None;
                Some(Modal::Transfer(p))
            }
            KeyCode::Up if p.tab != TransferTab::Number => {
                p.selected = p.selected.saturating_sub(1);
                Some(Modal::Transfer(p))
            }
            KeyCode::Down if p.tab != TransferTab::Number => {
                let n = match p.tab {
                    TransferTab::Agent => s.transfer_agents.as_ref().map(Vec::len).unwrap_or(0),
                    _ => s.caps.queues.len(),
                };
                if p.selected + 1 < n {
                    p.selected += 1;
                }
                Some(Modal::Transfer(p))
            }
            KeyCode::Enter => {
                let target = match p.tab {
                    TransferTab::Agent => s
                        .transfer_agents
                        .as_ref()
                        .and_then(|a| a.get(p.selected))
                        .map(|a| TransferTarget::Agent(a.id.clone())),
                    TransferTab::Queue => s
                        .caps
                        .queues
                        .get(p.selected)
                        .map(|q| TransferTarget::Queue(q.id.clone())),
                    TransferTab::Number => match classify_dial(&p.input) {
                        Ok(t) => Some(TransferTarget::Number(t.text().to_string())),
                        Err(e) => {
                            p.error = Some(e);
                            None
                        }
                    },
                };
                match target {
                    Some(TransferTarget::Number(n)) if p.consult => {
                        cmds = engine(s, Command::Consult(n));
                        None
                    }
                    Some(t) => {
                        let call = s.book.selected_id();
                        cmds = engine(s, Command::Transfer { call, target: t });
                        None
                    }
                    None => Some(Modal::Transfer(p)),
                }
            }
            _ if p.tab == TransferTab::Number => {
                edit(&mut p.input, key);
                p.error = None;
                Some(Modal::Transfer(p))
            }
            _ => Some(Modal::Transfer(p)),
        },
        Modal::QuitConfirm => match (key.code, key.text_char()) {
            (KeyCode::Enter, _) | (_, Some('y' | 'Y' | 'c' | 'C')) => {
                s.quitting = true;
                None
            }
            (KeyCode::Esc, _) | (_, Some('n' | 'N' | 'k' | 'K')) => None,
            _ => Some(Modal::QuitConfirm),
        },
        Modal::History(h) => {
            let (m, c) = on_history_key(s, h, key);
            cmds = c;
            m
        }
    };
    cmds
}

/// A command for the engine, or a notice when there is none.
fn engine(s: &mut AppState, c: Command) -> Vec<Command> {
    if s.first_run.is_some() {
        s.set_notice(Level::Warning, T::NotConfigured);
        return Vec::new();
    }
    vec![c]
}

fn on_action(s: &mut AppState, a: Action) -> Vec<Command> {
    let ctx = s.context();
    // Keys act on the selected call, named so the engine cannot guess another.
    let call = s.book.selected_id();
    match a {
        Action::Answer if ctx.call == CallCtx::Ringing => engine(s, Command::Accept { call }),
        Action::Reject if ctx.call == CallCtx::Ringing => engine(
            s,
            Command::Reject {
                call,
                decline: false,
            },
        ),
        Action::End if call.is_some() => engine(s, Command::End { call }),
        Action::Hold if ctx.call == CallCtx::InCall => engine(s, Command::ToggleHold { call }),
        Action::Mute if ctx.call == CallCtx::InCall => engine(s, Command::ToggleMute { call }),
        Action::Answer | Action::Reject | Action::End | Action::Hold | Action::Mute => {
            s.set_notice(
                Level::Warning,
                NoticeText::Engine(Notice::NotNow(NotNow::NotInCall)),
            );
            Vec::new()
        }
        Action::Dial => {
            if s.call().is_some() {
                if ctx.call == CallCtx::Ringing && s.text_field().is_some() {
                    say_ring_behind_focus(s);
                }
                return Vec::new();
            }
            match classify_dial(&s.dial) {
                Ok(t) => {
                    let n = t.text().to_string();
                    s.dial.clear();
                    s.dial_edit = false;
                    engine(s, Command::CallOut(n))
                }
                Err(e) => {
                    s.set_notice(Level::Error, NoticeText::BadDial(e));
                    Vec::new()
                }
            }
        }
        Action::DialEdit => {
            if s.call().is_none() {
                s.dial_edit = true;
            }
            Vec::new()
        }
        Action::Clear => {
            if !s.dial.is_empty() {
                s.dial.clear();
            } else {
                s.notice = None;
            }
            Vec::new()
        }
        Action::Availability => engine(s, Command::ToggleAvailability),
        Action::ClaimVoice => engine(s, Command::ClaimVoice),
        Action::Connect => engine(s, Command::Connect),
        Action::Device => {
            s.modal = Some(Modal::Device);
            Vec::new()
        }
        Action::Transfer => {
            if ctx.call != CallCtx::InCall {
                return Vec::new();
            }
            let Some(tab) = s.caps.transfer_tabs().first().copied() else {
                return Vec::new();
            };
            s.transfer_agents = None;
            s.modal = Some(Modal::Transfer(TransferPrompt {
                consult: false,
                tab,
                selected: 0,
                input: String::new(),
                error: None,
            }));
            if s.caps.transfer_agent {
                engine(s, Command::ListTransferAgents)
            } else {
                Vec::new()
            }
        }
        Action::Swap
        | Action::Consult
        | Action::CompleteTransfer
        | Action::CancelConsult
        | Action::Merge
        | Action::EndConference
            if !s.multi_call_works(a) =>
        {
            let why = if !s.caps.multi_call {
                NotNow::PlatformLacks
            } else {
                match a {
                    Action::Swap => NotNow::NothingToSwap,
                    Action::Consult => NotNow::NotInCall,
                    Action::Merge | Action::EndConference => NotNow::NeedTwoCalls,
                    _ => NotNow::NoConsult,
                }
            };
            s.set_notice(Level::Warning, NoticeText::Engine(Notice::NotNow(why)));
            Vec::new()
        }
        Action::Swap => {
            // The other (held) call becomes the live one.
            let other = s
                .book
                .calls()
                .iter()
                .find(|c| c.is_talking() && c.held)
                .map(|c| c.id);
            engine(s, Command::Swap { call: other })
        }
        Action::Consult => {
            s.modal = Some(Modal::Transfer(TransferPrompt {
                consult: true,
                tab: TransferTab::Number,
                selected: 0,
                input: String::new(),
                error: None,
            }));
            Vec::new()
        }
        Action::CompleteTransfer => engine(s, Command::CompleteTransfer),
        Action::CancelConsult => {
            let call = s.consult_call();
            engine(s, Command::End { call })
        }
        Action::Merge => engine(s, Command::Merge),
        Action::EndConference => engine(s, Command::EndConference),
        Action::AcceptTransfer | Action::RefuseTransfer => {
            if s.offer.take().is_none() {
                return Vec::new();
            }
            engine(s, Command::AnswerTransferOffer(a == Action::AcceptTransfer))
        }
        Action::History => {
            if !s.notes_enabled {
                s.set_notice(Level::Warning, T::HistoryOff);
                return Vec::new();
            }
            s.modal = Some(Modal::History(HistoryView::new()));
            s.effects.push(Effect::LoadHistory);
            Vec::new()
        }
        Action::Help => {
            s.modal = Some(Modal::Help { scroll: 0 });
            Vec::new()
        }
        Action::Theme => {
            let n = s.theme_names.len().max(1);
            s.theme_index = (s.theme_index + 1) % n;
            let name = s.theme_name().to_string();
            s.set_notice(Level::Info, NoticeText::Theme(name));
            Vec::new()
        }
        Action::Language => {
            s.lang = match s.lang {
                Lang::En => Lang::Vi,
                Lang::Vi => Lang::En,
            };
            Vec::new()
        }
        Action::Quit => {
            if s.call().is_some() && s.confirm_quit {
                s.modal = Some(Modal::QuitConfirm);
            } else {
                // A note typed but not yet saved is not lost on the way out.
                close_wrapup_for_call(s);
                s.quitting = true;
            }
            Vec::new()
        }
        Action::None => Vec::new(),
    }
}

fn on_event(s: &mut AppState, ev: Event) {
    let ring = matches!(ev.call_event(), Some(CallEvent::Ringing(info)) if !info.agent_leg);
    on_engine_event(s, ev);
    let rang = ring && s.context().call == CallCtx::Ringing;
    if rang && matches!(&s.modal, Some(Modal::History(h)) if !h.filtering && h.editing.is_none()) {
        // Browsing (not typing): the history view gives way so the ring's
        // keys answer at once.
        s.modal = None;
    }
    if rang && s.ring_behind_focus() {
        // Typing goes on where it was; the ring is shown, with its key.
        say_ring_behind_focus(s);
    }
    sync_popup(s);
}

/// What the console adds when a call ends: this session's history row,
/// the activity line, the wrap-up prompt and the "last call" panel.
fn call_ended(s: &mut AppState, e: EndedCall<Instant>) {
    let (c, reason) = (e.call, e.reason);
    let talk = c.answered.map(|a| s.now.saturating_duration_since(a));
    s.recent.insert(
        0,
        RecentCall {
            number: c.number.clone(),
            direction: c.direction,
            when: None,
            talk_secs: talk.map(|d| d.as_secs()),
            reason: Some(reason.clone()),
        },
    );
    let level = match reason {
        EndReason::Failed { .. } | EndReason::TransportLost | EndReason::Timeout => Level::Warning,
        _ => Level::Info,
    };
    s.activity.push(super::state::NoticeLine {
        level,
        text: NoticeText::CallEnded {
            number: c.number.clone(),
            reason: reason.clone(),
        },
    });
    if s.notes_enabled && c.answered.is_some() && c.has_customer() {
        // A note still open for the call before is saved first.
        close_wrapup_for_call(s);
        s.wrapup = Some(WrapUp {
            number: c.number.clone(),
            row: None,
            input: String::new(),
        });
    }
    s.last_call = Some(LastCall {
        number: c.number,
        direction: c.direction,
        reason,
        talk,
        call_id: c.platform_id,
    });
}

fn on_engine_event(s: &mut AppState, ev: Event) {
    s.dirty = true;
    // The call book follows every call; what is left here is what the
    // console itself adds (notices, history rows, the wrap-up prompt).
    let applied = s.book.apply(s.now, &ev);
    match ev {
        Event::Ready => s.conn = Conn::Connected,
        Event::InitFailed(reason) => {
            s.set_notice(Level::Error, NoticeText::InitFailed(reason.clone()));
            s.conn = Conn::Failed(reason);
        }
        Event::VoiceChannel(here) => s.voice_here = Some(here),
        Event::Availability(a) => {
            if a == Availability::NoAnswer && s.availability != Some(a) {
                // The platform stops sending calls until the agent acts:
                // say so, with the key (issue 13 item 7).
                let keys = key_names(&live_keys(s, Action::Availability), 2);
                s.set_notice(Level::Warning, NoticeText::NoAnswerSet { keys });
            }
            s.availability = Some(a);
        }
        Event::Call { call, event } => match event {
            CallEvent::Ended(_) => {
                if let Applied::Ended(e) = applied {
                    call_ended(s, *e);
                }
                if s.book.is_empty() {
                    s.levels = None;
                }
                if matches!(s.modal, Some(Modal::Transfer(_)) | Some(Modal::QuitConfirm)) {
                    s.modal = None;
                }
            }
            CallEvent::TransferResult { ok, detail } => {
                s.offer = None;
                let level = if ok { Level::Ok } else { Level::Error };
                s.set_notice(level, NoticeText::Transfer { ok, detail });
            }
            CallEvent::CalloutFailed {
                error_code,
                sip_code,
                internal: _,
            } => {
                // The book has the call until its `Ended`, which follows. A
                // call to an extension (device 1's internal call, or plain
                // SIP's) failed at a colleague's phone, not a customer's.
                // (The event's `internal` says the same, for the scripts.)
                let internal = |c: &crate::call::book::Call<Instant>| {
                    c.direction == crate::engine::Direction::Internal
                        || matches!(
                            super::state::classify_dial(&c.number),
                            Ok(super::state::DialTarget::Extension(_))
                        )
                };
                let text = match s.book.get(call) {
                    Some(c) if error_code.is_none() && internal(c) => {
                        NoticeText::InternalCallFailed {
                            number: c.number.clone(),
                            sip_code,
                        }
                    }
                    _ => NoticeText::CalloutFailed {
                        error_code,
                        sip_code,
                    },
                };
                s.set_notice(Level::Error, text);
            }
            CallEvent::CalloutStarted(_)
            | CallEvent::CustomerAnswered
            | CallEvent::Ringing(_)
            | CallEvent::Dialing(_)
            | CallEvent::Accepted
            | CallEvent::Held(_)
            | CallEvent::Muted(_)
            | CallEvent::PlatformId(_)
            | CallEvent::Quality(_)
            | CallEvent::DtmfReceived(_)
            | CallEvent::ConsultFor(_)
            | CallEvent::PartyChanged { .. } => {}
        },
        Event::DeviceType(d) => s.device = Some(d),
        Event::Reconnecting { attempt, max } => s.conn = Conn::Reconnecting { attempt, max },
        Event::Reconnected => s.conn = Conn::Connected,
        Event::Disconnected => {
            s.conn = Conn::Disconnected;
            s.set_notice(Level::Error, T::Disconnected);
        }
        Event::TransferAgents(list) => s.transfer_agents = Some(list),
        Event::TransferOffered {
            call_id,
            from_agent,
        } => {
            s.offer = Some(Offer {
                call_id,
                from: from_agent,
                deadline: s.now + s.offer_timeout,
            });
        }
        Event::TransferResult { ok, detail } => {
            s.offer = None;
            let level = if ok { Level::Ok } else { Level::Error };
            s.set_notice(level, NoticeText::Transfer { ok, detail });
        }
        Event::Registration(r) => s.registration = Some(r),
        Event::AudioLevel { mic, speaker } => {
            let q = |v: f32| (v.clamp(0.0, 1.0) * 8.0).round() as u8;
            let levels = Some((q(mic), q(speaker)));
            s.dirty = levels != s.levels;
            s.levels = levels;
        }
        Event::Notice(n) => {
            let level = match &n {
                Notice::IpccError(_)
                | Notice::AvailabilityRefused
                | Notice::DeviceChangeRefused
                | Notice::BadNumber(_)
                | Notice::UnknownCall(_) => Level::Error,
                Notice::NotNow(_) | Notice::InsecureTls => Level::Warning,
                Notice::Server(_) | Notice::Info(_) => Level::Info,
                Notice::History(h) => match h {
                    HistoryNotice::Unlocked => Level::Info,
                    HistoryNotice::Off { .. } => Level::Error,
                    _ => Level::Warning,
                },
            };
            s.set_notice(level, NoticeText::Engine(n));
        }
        Event::ShutdownComplete => s.quitting = true,
    }
}
