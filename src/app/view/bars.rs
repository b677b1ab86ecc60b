//! The one-line bars: header, dial line, notice line, and the key hints
//! generated from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::app::action::Action;
use crate::app::i18n::{self, T};
use crate::app::keymap::CallCtx;
use crate::app::keymap::Key;
use crate::app::state::{AppState, Conn, DialTarget, Level, Modal, TextField, classify_dial};
use crate::app::theme::{Role, Theme};
use crate::engine::Availability;

pub(super) fn availability_role(a: Availability) -> Role {
    match a {
        Availability::On => Role::Ok,
        Availability::Off => Role::Warning,
        Availability::NoAnswer => Role::Error,
    }
}

pub(super) fn conn_text(s: &AppState) -> (String, Role) {
    let l = s.lang;
    match &s.conn {
        Conn::Connecting => (i18n::t(l, T::Connecting).into(), Role::Dim),
        Conn::Connected => (i18n::t(l, T::Connected).into(), Role::Ok),
        Conn::Reconnecting { attempt, max } => {
            (i18n::reconnecting(l, *attempt, *max), Role::Warning)
        }
        Conn::Disconnected => (i18n::t(l, T::Disconnected).into(), Role::Error),
        Conn::Failed(r) => (i18n::init_failed(l, r), Role::Error),
    }
}

pub(super) fn header(s: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let l = s.lang;
    let hs = theme.style(Role::Header);
    f.buffer_mut().set_style(area, hs);
    let mut left = vec![
        Span::styled(
            " tongdai",
            theme
                .style(Role::Title)
                .patch(hs.remove_modifier(ratatui::style::Modifier::all())),
        ),
        Span::styled(format!(" · {}", i18n::t(l, T::AppTagline)), hs),
    ];
    if let Some(b) = &s.banner {
        left.push(Span::styled(format!("  [{}]", i18n::banner(l, b)), hs));
    }
    let mut right: Vec<Span> = Vec::new();
    let sep = || Span::styled(" │ ", hs);
    if s.first_run.is_some() {
        right.push(Span::styled(i18n::t(l, T::NotConfigured), hs));
    } else {
        if let Some(a) = s.availability {
            right.push(Span::styled(
                format!("● {}", i18n::availability(l, a)),
                hs.patch(theme.style(availability_role(a)))
                    .bg(hs.bg.unwrap_or_default()),
            ));
            right.push(sep());
        }
        match s.voice_here {
            Some(true) => {
                right.push(Span::styled(format!("{} ✓", i18n::t(l, T::Voice)), hs));
                right.push(sep());
            }
            Some(false) => {
                right.push(Span::styled(format!("{} ✗", i18n::t(l, T::Voice)), hs));
                right.push(sep());
            }
            None => {}
        }
        let (c, _) = conn_text(s);
        right.push(Span::styled(c, hs));
    }
    right.push(sep());
    right.push(Span::styled(
        if l == i18n::Lang::Vi { "VI " } else { "EN " },
        hs,
    ));
    let right_w: usize = right.iter().map(|s| s.content.width()).sum();
    let left_w: usize = left.iter().map(|s| s.content.width()).sum();
    let total = usize::from(area.width);
    if left_w + right_w < total {
        left.push(Span::styled(" ".repeat(total - left_w - right_w), hs));
        left.extend(right);
    }
    f.render_widget(Paragraph::new(Line::from(left)).style(hs), area);
}

pub(super) fn dial(s: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let l = s.lang;
    if s.first_run.is_some() {
        return;
    }
    let mut spans = Vec::new();
    if let Some(call) = s.call.as_ref().filter(|_| s.dial.is_empty()) {
        // In a call the digit keys are DTMF.
        spans.push(Span::styled(" DTMF › ", theme.style(Role::Label)));
        spans.push(Span::styled(
            call.dtmf_sent.clone(),
            theme.style(Role::Input),
        ));
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    spans.push(Span::styled(
        format!(" {} › ", i18n::t(l, T::Dial)),
        theme.style(Role::Label),
    ));
    let check = classify_dial(&s.dial);
    if s.dial.is_empty() {
        spans.push(Span::styled(
            " ",
            theme
                .style(Role::Input)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::styled(
            format!(" {}", i18n::t(l, T::DialPlaceholder)),
            theme.style(Role::Dim),
        ));
    } else {
        let role = if check.is_ok() {
            Role::Input
        } else {
            Role::InputInvalid
        };
        spans.push(Span::styled(s.dial.clone(), theme.style(role)));
        spans.push(Span::styled(
            " ",
            theme
                .style(Role::Input)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::raw("   "));
        match &check {
            Ok(t) => {
                let (kind, n) = match t {
                    DialTarget::Customer(n) => (i18n::t(l, T::CustomerNumber), Some(n)),
                    DialTarget::Extension(n) => (i18n::t(l, T::Extension), Some(n)),
                    DialTarget::Uri(_) => (i18n::t(l, T::SipAddress), None),
                };
                let digits = n.map(|n| n.chars().filter(char::is_ascii_digit).count());
                let text = match digits {
                    Some(d) => format!("{kind} · {}", i18n::digits(l, d)),
                    None => kind.to_string(),
                };
                spans.push(Span::styled(text, theme.style(Role::Ok)));
            }
            Err(e) => spans.push(Span::styled(
                i18n::dial_error(l, e),
                theme.style(Role::Error),
            )),
        }
    }
    if s.dial_edit {
        spans.push(Span::styled(
            format!("   {}", i18n::t(l, T::DialEditing)),
            theme.style(Role::Dim),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub(super) fn level_role(level: Level) -> Role {
    match level {
        Level::Info => Role::Base,
        Level::Ok => Role::Ok,
        Level::Warning => Role::Warning,
        Level::Error => Role::Error,
    }
}

pub(super) fn notice(s: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let Some(n) = &s.notice else { return };
    let mark = match n.level {
        Level::Error => "✗",
        Level::Warning => "!",
        Level::Ok => "✓",
        Level::Info => "·",
    };
    let style = theme.style(level_role(n.level));
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            format!(" {mark} {}", i18n::notice_text(s.lang, &n.text)),
            style,
        ))),
        area,
    );
}

/// The keys to show for an action in the current context.
pub(crate) fn keys_for(s: &AppState, action: Action) -> Vec<Key> {
    s.keymap
        .live(s.context())
        .into_iter()
        .filter(|(a, ..)| *a == action)
        .flat_map(|(_, _, k)| k)
        .collect()
}

pub(crate) fn key_label(keys: &[Key], max: usize) -> String {
    keys.iter()
        .take(max)
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

type Hint = (Option<Action>, String, String);

/// While a call rings behind a text field or a view, the command keys
/// that reach it (F2 answer, F5 reject, …) lead the bar.
fn ring_hints(s: &AppState) -> Vec<Hint> {
    if !s.ring_behind_focus() {
        return Vec::new();
    }
    let l = s.lang;
    let ringing = s.context().call == CallCtx::Ringing;
    let actions: &[Action] = if ringing {
        &[Action::Answer, Action::Reject, Action::End]
    } else {
        &[Action::AcceptTransfer, Action::RefuseTransfer]
    };
    actions
        .iter()
        .filter_map(|&a| {
            let keys: Vec<Key> = keys_for(s, a)
                .into_iter()
                .filter(Key::is_command_key)
                .collect();
            if keys.is_empty() {
                return None;
            }
            // Hanging up a call that rings is rejecting it.
            let d = if a == Action::End {
                i18n::action(l, Action::Reject)
            } else {
                i18n::action(l, a)
            };
            Some((Some(a), key_label(&keys, 2), d.to_string()))
        })
        .collect()
}

fn hint_items(s: &AppState) -> Vec<Hint> {
    let mut items = ring_hints(s);
    items.extend(focus_hint_items(s));
    items
}

fn focus_hint_items(s: &AppState) -> Vec<Hint> {
    let l = s.lang;
    let fixed = |pairs: &[(&str, &str)]| -> Vec<Hint> {
        pairs
            .iter()
            .map(|(k, d)| (None, k.to_string(), d.to_string()))
            .collect()
    };
    let vi = l == i18n::Lang::Vi;
    match &s.modal {
        Some(Modal::Help { .. }) => {
            return fixed(&[
                ("↑↓", if vi { "cuộn" } else { "scroll" }),
                ("Esc", if vi { "đóng" } else { "close" }),
            ]);
        }
        Some(Modal::Device) => {
            return fixed(&[
                ("1–4", if vi { "chọn thiết bị" } else { "choose" }),
                ("Esc", if vi { "huỷ" } else { "cancel" }),
            ]);
        }
        Some(Modal::Mobile { .. }) => {
            return fixed(&[
                ("Enter", if vi { "xác nhận" } else { "confirm" }),
                ("Esc", if vi { "huỷ" } else { "cancel" }),
            ]);
        }
        Some(Modal::Transfer(_)) => {
            return fixed(&[
                ("Tab", if vi { "đổi loại" } else { "switch" }),
                ("↑↓", if vi { "chọn" } else { "choose" }),
                ("Enter", if vi { "chuyển" } else { "transfer" }),
                ("Esc", if vi { "huỷ" } else { "cancel" }),
            ]);
        }
        Some(Modal::QuitConfirm) => {
            return fixed(&[
                (
                    "y",
                    if vi {
                        "gác máy và thoát"
                    } else {
                        "hang up and quit"
                    },
                ),
                ("n", if vi { "ở lại" } else { "stay" }),
            ]);
        }
        Some(Modal::History(h)) if h.editing.is_some() || h.filtering => {
            return fixed(&[
                ("Enter", if vi { "xong" } else { "done" }),
                ("Esc", if vi { "huỷ" } else { "cancel" }),
            ]);
        }
        Some(Modal::History(_)) => {
            return fixed(&[
                ("↑↓", if vi { "chọn" } else { "choose" }),
                ("Enter/c", if vi { "gọi lại" } else { "call back" }),
                ("n", if vi { "ghi chú" } else { "note" }),
                ("/", if vi { "lọc" } else { "filter" }),
                ("Esc", if vi { "đóng" } else { "close" }),
            ]);
        }
        None => {}
    }
    if s.ring_behind_focus() && s.text_field() == Some(TextField::DialLine) {
        return fixed(&[("Esc", i18n::action(l, Action::Clear))]);
    }
    if s.wrapup.is_some() {
        return fixed(&[
            ("Enter", if vi { "lưu ghi chú" } else { "save note" }),
            ("Esc", if vi { "bỏ qua" } else { "skip" }),
        ]);
    }
    if s.dial_edit {
        return fixed(&[
            ("Enter", i18n::action(l, Action::Dial)),
            ("Esc", if vi { "thôi nhập" } else { "stop typing" }),
        ]);
    }
    let (held, muted) = s
        .call
        .as_ref()
        .map(|c| (c.held, c.muted))
        .unwrap_or((false, false));
    let reconnect = matches!(s.conn, Conn::Failed(_) | Conn::Disconnected);
    let first_run = s.first_run.is_some();
    let clear = !s.dial.is_empty() || s.notice.is_some();
    s.keymap
        .live(s.context())
        .into_iter()
        .filter(|(a, ..)| match a {
            // In help, not worth a place on the bar.
            Action::None | Action::DialEdit => false,
            // Without an account only the console's own keys work.
            Action::Theme | Action::Language => first_run,
            _ if first_run => matches!(a, Action::Help | Action::Quit),
            Action::Connect => reconnect,
            Action::Clear => clear,
            Action::History => s.notes_enabled,
            _ => true,
        })
        .map(|(a, desc, keys)| {
            let d = desc.unwrap_or_else(|| i18n::action_in_state(l, a, held, muted).to_string());
            (Some(a), key_label(&keys, 2), d)
        })
        .collect()
}

/// The hint bar: at most two lines; `help` is always shown.
pub(super) fn hint_lines(s: &AppState, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let items = hint_items(s);
    let mut help_keys = keys_for(s, Action::Help);
    let typing = match s.text_field() {
        // Idle digits leave letters and `?` to the keymap.
        Some(TextField::DialLine) => s.ring_behind_focus(),
        other => other.is_some(),
    };
    if typing {
        // In a text field `?` is text: name the key that still opens help.
        help_keys.retain(Key::is_command_key);
    }
    let help_key = key_label(&help_keys, 1);
    let help_desc = i18n::action(s.lang, Action::Help).to_string();
    let width = usize::from(width);
    let item_w = |(_, k, d): &Hint| k.width() + 1 + d.width() + 2;
    let mut pinned: Vec<Hint> = vec![(Some(Action::Help), help_key.clone(), help_desc)];
    let quit: Option<Hint> = items
        .iter()
        .find(|(a, ..)| *a == Some(Action::Quit))
        .cloned();
    pinned.extend(quit);
    let rest: Vec<Hint> = items
        .into_iter()
        .filter(|(a, ..)| *a != Some(Action::Help) && *a != Some(Action::Quit))
        .collect();
    let max_lines = 2;
    let mut lines: Vec<Vec<Hint>> = vec![Vec::new()];
    let mut used = 1usize;
    for item in rest {
        let w = item_w(&item);
        if used + w > width {
            if lines.len() == max_lines {
                break;
            }
            lines.push(Vec::new());
            used = 1;
        }
        used += w;
        if let Some(last) = lines.last_mut() {
            last.push(item);
        }
    }
    // Make room for help and quit at the end of the last line.
    if s.modal.is_none() && !s.dial_edit && !help_key.is_empty() {
        let hw: usize = pinned.iter().map(item_w).sum();
        let last_w = lines
            .last()
            .map(|l| 1 + l.iter().map(item_w).sum::<usize>())
            .unwrap_or(1);
        if last_w + hw > width && lines.len() < max_lines {
            // A second line rather than dropping keys from the first.
            lines.push(Vec::new());
        }
        while let Some(last) = lines.last_mut() {
            let w: usize = 1 + last.iter().map(item_w).sum::<usize>();
            if w + hw <= width || last.is_empty() {
                last.extend(pinned);
                break;
            }
            last.pop();
        }
    }
    lines
        .into_iter()
        .map(|items| {
            let mut spans = vec![Span::raw(" ")];
            for (_, k, d) in items {
                spans.push(Span::styled(k, theme.style(Role::HintKey)));
                spans.push(Span::styled(format!(" {d}  "), theme.style(Role::Hint)));
            }
            Line::from(spans)
        })
        .collect()
}
