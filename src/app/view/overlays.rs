//! Overlays: the transfer offer, the help (generated from the keymap), the
//! device chooser, the mobile-number and transfer prompts, quit confirm.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::bars::{key_label, keys_for};
use super::centered;
use crate::app::action::Action;
use crate::app::i18n::{self, T};
use crate::app::state::{
    AppState, CallRow, DialTarget, HistoryView, Modal, TransferPrompt, TransferTab, WrapUp,
    classify_dial,
};
use crate::app::theme::{Role, Theme};

fn popup<'a>(title: &str, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .padding(Padding::horizontal(1))
        .border_style(theme.style(Role::PopupBorder))
        .title(Span::styled(format!(" {title} "), theme.style(Role::Title)))
}

fn draw(f: &mut Frame, area: Rect, theme: &Theme, title: &str, lines: Vec<Line>) {
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .style(theme.style(Role::Base))
            .block(popup(title, theme)),
        area,
    );
}

fn cursor<'a>(theme: &Theme) -> Span<'a> {
    Span::styled(
        " ",
        theme.style(Role::Input).add_modifier(Modifier::REVERSED),
    )
}

pub(super) fn render(s: &AppState, theme: &Theme, f: &mut Frame, body: Rect) {
    if let Some(w) = &s.wrapup {
        wrapup(s, theme, f, body, w);
    }
    if let Some(o) = &s.offer {
        offer(s, theme, f, body, &o.from);
    }
    match &s.modal {
        None => {}
        Some(Modal::History(h)) => history(s, theme, f, body, h),
        Some(Modal::Help { scroll }) => help(s, theme, f, f.area(), *scroll),
        Some(Modal::Device) => device(s, theme, f, body),
        Some(Modal::Mobile { input, invalid }) => mobile(s, theme, f, body, input, *invalid),
        Some(Modal::Transfer(p)) => transfer(s, theme, f, body, p),
        Some(Modal::QuitConfirm) => {
            let text = i18n::t(s.lang, T::QuitConfirm);
            let area = centered(body, u16::try_from(text.width() + 4).unwrap_or(60), 3);
            draw(
                f,
                area,
                theme,
                i18n::action(s.lang, Action::Quit),
                vec![Line::from(Span::styled(text, theme.style(Role::Warning)))],
            );
        }
    }
}

fn offer(s: &AppState, theme: &Theme, f: &mut Frame, body: Rect, from: &str) {
    let l = s.lang;
    let secs = s.offer_secs_left().unwrap_or(0);
    let text = i18n::offer(l, from, secs);
    let mut keys = Vec::new();
    for a in [Action::AcceptTransfer, Action::RefuseTransfer] {
        let k = keys_for(s, a);
        if !k.is_empty() {
            keys.push(Span::styled(key_label(&k, 2), theme.style(Role::HintKey)));
            keys.push(Span::styled(
                format!(" {}  ", i18n::action(l, a)),
                theme.style(Role::Hint),
            ));
        }
    }
    let w = u16::try_from(text.width().max(40) + 4).unwrap_or(60);
    let area = Rect::new(
        body.x + body.width.saturating_sub(w.min(body.width)) / 2,
        body.y + 1,
        w.min(body.width),
        4.min(body.height),
    );
    draw(
        f,
        area,
        theme,
        i18n::t(l, T::Transfer),
        vec![
            Line::from(Span::styled(text, theme.style(Role::Ringing))),
            Line::from(keys),
        ],
    );
}

fn help(s: &AppState, theme: &Theme, f: &mut Frame, screen: Rect, scroll: u16) {
    let l = s.lang;
    // The two-call keys only where the account has them (plain SIP).
    let rows: Vec<_> = s
        .keymap
        .help_rows()
        .into_iter()
        .filter(|(a, ..)| s.caps.multi_call || !Action::MULTI_CALL.contains(a))
        .collect();
    let key_w = rows
        .iter()
        .map(|(_, _, _, k)| key_label(k, 4).width())
        .max()
        .unwrap_or(8)
        .max(8);
    let (held, muted) = (false, false);
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(a, when, desc, keys)| {
            let k = key_label(keys, 4);
            let pad = key_w.saturating_sub(k.width());
            let d = desc
                .clone()
                .unwrap_or_else(|| i18n::action_in_state(l, *a, held, muted).to_string());
            let dpad = 20usize.saturating_sub(d.width());
            Line::from(vec![
                Span::styled(
                    format!(" {k}{} ", " ".repeat(pad)),
                    theme.style(Role::HintKey),
                ),
                Span::styled(format!(" {d}{}", " ".repeat(dpad)), theme.style(Role::Base)),
                Span::styled(
                    format!(" {}", i18n::condition(l, *when)),
                    theme.style(Role::Dim),
                ),
            ])
        })
        .collect();
    lines.push(Line::from(Span::styled(
        format!(" {}", i18n::t(l, T::HelpDigits)),
        theme.style(Role::Hint),
    )));
    lines.push(Line::from(Span::styled(
        format!(" {}", i18n::t(l, T::HelpClose)),
        theme.style(Role::Dim),
    )));
    let want_h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = centered(screen, 78, want_h);
    let max_scroll = want_h.saturating_sub(area.height);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .style(theme.style(Role::Base))
            .scroll((scroll.min(max_scroll), 0))
            .block(popup(i18n::t(l, T::Help), theme)),
        area,
    );
}

fn device(s: &AppState, theme: &Theme, f: &mut Frame, body: Rect) {
    let l = s.lang;
    let current = s.device.as_ref().map(|d| d.code());
    let mut lines = vec![Line::raw(i18n::t(l, T::DevicePrompt)), Line::raw("")];
    for (i, text) in i18n::device_choices(l).into_iter().enumerate() {
        let code = u8::try_from(i + 1).unwrap_or(0);
        let role = if current == Some(code) {
            Role::Selected
        } else {
            Role::Base
        };
        lines.push(Line::from(Span::styled(
            format!(" {text} "),
            theme.style(role),
        )));
    }
    let area = centered(body, 60, 8);
    draw(f, area, theme, i18n::t(l, T::Device), lines);
}

fn mobile(s: &AppState, theme: &Theme, f: &mut Frame, body: Rect, input: &str, invalid: bool) {
    let l = s.lang;
    let ok = matches!(classify_dial(input), Ok(DialTarget::Customer(_)));
    let mut lines = vec![
        Line::raw(i18n::t(l, T::MobilePrompt)),
        Line::from(vec![
            Span::styled(" › ", theme.style(Role::Label)),
            Span::styled(
                input.to_string(),
                theme.style(if ok || input.is_empty() {
                    Role::Input
                } else {
                    Role::InputInvalid
                }),
            ),
            cursor(theme),
        ]),
    ];
    if invalid {
        lines.push(Line::from(Span::styled(
            i18n::t(l, T::MobileInvalid),
            theme.style(Role::Error),
        )));
    }
    let area = centered(body, 56, 5);
    draw(f, area, theme, i18n::t(l, T::Device), lines);
}

fn transfer(s: &AppState, theme: &Theme, f: &mut Frame, body: Rect, p: &TransferPrompt) {
    let l = s.lang;
    let mut tab_spans = Vec::new();
    let tabs = if p.consult {
        vec![TransferTab::Number]
    } else {
        s.caps.transfer_tabs()
    };
    for tab in tabs {
        let name = match tab {
            TransferTab::Agent => T::TransferAgentTab,
            TransferTab::Queue => T::TransferQueueTab,
            TransferTab::Number => T::TransferNumberTab,
        };
        let role = if tab == p.tab {
            Role::Selected
        } else {
            Role::Dim
        };
        tab_spans.push(Span::styled(
            format!(" {} ", i18n::t(l, name)),
            theme.style(role),
        ));
        tab_spans.push(Span::raw(" "));
    }
    let mut lines = vec![Line::from(tab_spans), Line::raw("")];
    let area = centered(body, 64, 14);
    let room = usize::from(area.height.saturating_sub(5));
    match p.tab {
        TransferTab::Agent => match &s.transfer_agents {
            None => lines.push(Line::from(Span::styled(
                i18n::t(l, T::TransferLoading),
                theme.style(Role::Dim),
            ))),
            Some(list) if list.is_empty() => lines.push(Line::from(Span::styled(
                i18n::t(l, T::TransferNoAgents),
                theme.style(Role::Warning),
            ))),
            Some(list) => {
                let start = p.selected.saturating_sub(room.saturating_sub(1));
                for (i, a) in list.iter().enumerate().skip(start).take(room) {
                    let role = if i == p.selected {
                        Role::Selected
                    } else {
                        Role::Base
                    };
                    lines.push(Line::from(Span::styled(
                        format!(
                            " {:<6} {}  ({})",
                            a.id,
                            a.name,
                            i18n::agent_status(l, &a.status)
                        ),
                        theme.style(role),
                    )));
                }
            }
        },
        TransferTab::Queue => {
            let list = &s.caps.queues;
            let start = p.selected.saturating_sub(room.saturating_sub(1));
            for (i, q) in list.iter().enumerate().skip(start).take(room) {
                let role = if i == p.selected {
                    Role::Selected
                } else {
                    Role::Base
                };
                lines.push(Line::from(Span::styled(
                    format!(" {}  ({})", q.name, q.id),
                    theme.style(role),
                )));
            }
        }
        TransferTab::Number => {
            lines.push(Line::from(vec![
                Span::styled(" › ", theme.style(Role::Label)),
                Span::styled(p.input.clone(), theme.style(Role::Input)),
                cursor(theme),
                Span::styled(
                    format!("  {}", i18n::t(l, T::DialPlaceholder)),
                    theme.style(Role::Dim),
                ),
            ]));
            if let Some(e) = &p.error {
                lines.push(Line::from(Span::styled(
                    i18n::dial_error(l, e),
                    theme.style(Role::Error),
                )));
            }
        }
    }
    let title = if p.consult { T::Consult } else { T::Transfer };
    draw(f, area, theme, i18n::t(l, title), lines);
}

fn wrapup(s: &AppState, theme: &Theme, f: &mut Frame, body: Rect, w: &WrapUp) {
    let l = s.lang;
    let lines = vec![
        Line::from(vec![
            Span::raw(format!("{} ", i18n::t(l, T::WrapUpPrompt))),
            Span::styled(w.number.clone(), theme.style(Role::Input)),
        ]),
        Line::from(vec![
            Span::styled(" › ", theme.style(Role::Label)),
            Span::styled(w.input.clone(), theme.style(Role::Input)),
            cursor(theme),
        ]),
        Line::from(Span::styled(
            i18n::t(l, T::WrapUpKeys),
            theme.style(Role::Dim),
        )),
    ];
    let width = 64.min(body.width);
    let area = Rect::new(
        body.x + (body.width - width) / 2,
        body.y + body.height.saturating_sub(6),
        width,
        5.min(body.height),
    );
    draw(f, area, theme, i18n::t(l, T::WrapUp), lines);
}

fn history(s: &AppState, theme: &Theme, f: &mut Frame, body: Rect, h: &HistoryView) {
    let l = s.lang;
    let area = centered(body, 100, body.height);
    let mut lines = vec![Line::from(vec![
        Span::styled(" / ", theme.style(Role::HintKey)),
        Span::styled(
            format!(" {} ", i18n::t(l, T::HistoryFilter)),
            theme.style(Role::Label),
        ),
        Span::styled(h.filter.clone(), theme.style(Role::Input)),
        if h.filtering {
            cursor(theme)
        } else {
            Span::raw("")
        },
    ])];
    if let Some(e) = &h.error {
        lines.push(Line::from(Span::styled(
            i18n::history_failed(l, e),
            theme.style(Role::Error),
        )));
    }
    let visible = h.visible();
    // Borders, the filter line, the keys line.
    let room = usize::from(area.height.saturating_sub(4)).max(1);
    match &h.rows {
        None => lines.push(Line::from(Span::styled(
            i18n::t(l, T::HistoryLoading),
            theme.style(Role::Dim),
        ))),
        Some(rows) if rows.is_empty() && h.error.is_none() => lines.push(Line::from(Span::styled(
            i18n::t(l, T::HistoryEmpty),
            theme.style(Role::Dim),
        ))),
        Some(_) if visible.is_empty() => lines.push(Line::from(Span::styled(
            i18n::t(l, T::HistoryNoMatch),
            theme.style(Role::Dim),
        ))),
        Some(_) => {}
    }
    let start = h.selected.saturating_sub(room.saturating_sub(1));
    let shown: Vec<(&&CallRow, String)> = visible
        .iter()
        .skip(start)
        .take(room)
        .map(|r| {
            let why = i18n::outcome_with_reason(l, r.outcome, r.reason.as_ref());
            (r, truncate(&why, OUTCOME_MAX))
        })
        .collect();
    // As wide as the longest outcome on screen: notes keep their room at 80 columns.
    let outcome_w = shown
        .iter()
        .map(|(_, o)| o.width())
        .max()
        .unwrap_or(0)
        .clamp(12, OUTCOME_MAX);
    for (i, (r, outcome)) in shown.into_iter().enumerate() {
        let i = i + start;
        let talk = r.talk_secs.map(super::clock).unwrap_or_else(|| "–".into());
        let name = r.name.clone().unwrap_or_default();
        // Columns padded by display width (Vietnamese names, wide glyphs).
        let mut text = format!(
            "{:<5} {} {} {} {:>5}  {}",
            r.when,
            super::panels::arrow(r.direction),
            pad(&r.number, 13),
            pad(&truncate(&name, 18), 18),
            talk,
            pad(&outcome, outcome_w),
        );
        if let Some(n) = &r.note {
            text.push_str(&format!(" {n}"));
        }
        let role = if i == h.selected {
            Role::Selected
        } else if r.missed {
            Role::Warning
        } else {
            Role::Base
        };
        lines.push(Line::from(Span::styled(text, theme.style(role))));
    }
    let keys = match &h.editing {
        Some(input) => Line::from(vec![
            Span::styled(" ✎ ", theme.style(Role::Label)),
            Span::styled(input.clone(), theme.style(Role::Input)),
            cursor(theme),
            Span::styled(
                format!("  {}", i18n::t(l, T::NoteEditKeys)),
                theme.style(Role::Dim),
            ),
        ]),
        None => Line::from(Span::styled(
            i18n::t(l, T::HistoryKeys),
            theme.style(Role::Dim),
        )),
    };
    let title = i18n::t(l, T::HistoryToday);
    f.render_widget(Clear, area);
    let block = popup(title, theme).style(theme.style(Role::Base));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [list, bottom] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Fill(1),
        ratatui::layout::Constraint::Length(1),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(lines), list);
    f.render_widget(Paragraph::new(keys), bottom);
}

/// The widest outcome column in the history view (a failed call-out's
/// reason, a transfer's target).
const OUTCOME_MAX: usize = 18;

/// `text` padded with spaces to `width` display columns.
fn pad(text: &str, width: usize) -> String {
    format!("{text}{}", " ".repeat(width.saturating_sub(text.width())))
}

/// At most `max` display columns of `text`.
fn truncate(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
