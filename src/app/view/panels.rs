//! The body: call panel, customer popup, agent panel, activity, and the
//! first-run screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::bars::{availability_role, conn_text, key_label, keys_for, level_role};
use super::{clock, kv};
use crate::app::action::Action;
use crate::app::i18n::{self, Lang, T};
use crate::app::state::{AppState, Call, CrmState, Phase, Setup};
use crate::app::theme::{Role, Theme};
use crate::engine::{Availability, RegState};

fn block<'a>(title: &str, theme: &Theme, role: Role) -> Block<'a> {
    Block::bordered()
        .padding(Padding::horizontal(1))
        .border_style(theme.style(role))
        .title(Span::styled(format!(" {title} "), theme.style(Role::Title)))
}

fn width_of(lang: Lang, keys: &[T]) -> usize {
    keys.iter()
        .map(|k| i18n::t(lang, *k).width())
        .max()
        .unwrap_or(0)
}

pub(super) fn body(s: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let tall = area.height >= 26;
    let (top, activity) = if tall {
        // The popup's facts and five past calls need more rows than the
        // call panel alone.
        let top_h = if s.popup.as_ref().is_some_and(|p| p.local.is_some()) {
            20.min(area.height.saturating_sub(6))
        } else {
            14
        };
        let [top, bottom] =
            Layout::vertical([Constraint::Length(top_h), Constraint::Fill(1)]).areas(area);
        (top, Some(bottom))
    } else {
        (area, None)
    };
    let customer = s.call().filter(|c| c.has_customer());
    let wide = area.width >= 110;
    if wide && customer.is_some() {
        let [call, cust, agent] = Layout::horizontal([
            Constraint::Percentage(38),
            Constraint::Percentage(34),
            Constraint::Fill(1),
        ])
        .areas(top);
        call_panel(s, theme, f, call);
        agent_panel(s, theme, f, agent);
        if let Some(c) = customer {
            customer_popup(s, c, theme, f, cust);
        }
    } else if area.width < 80 {
        // Narrow: one column, the call above, the customer (or the agent)
        // below, so no panel is drawn over another.
        let [call, below] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(top);
        call_panel(s, theme, f, call);
        match customer {
            Some(c) => customer_popup(s, c, theme, f, below),
            None => agent_panel(s, theme, f, below),
        }
    } else {
        let [call, agent] =
            Layout::horizontal([Constraint::Percentage(52), Constraint::Fill(1)]).areas(top);
        call_panel(s, theme, f, call);
        agent_panel(s, theme, f, agent);
        if let Some(c) = customer {
            // The popup covers the agent panel (the header still shows
            // On/Off, voice and link), never the hint bar.
            let w = agent.width.max(30).min(area.width);
            let popup = Rect::new(area.x + area.width - w, agent.y, w, agent.height);
            customer_popup(s, c, theme, f, popup);
        }
    }
    if let Some(a) = activity {
        activity_panel(s, theme, f, a);
    }
}

fn phase_badge(lang: Lang, c: &Call) -> (String, Role) {
    let (text, role) = match c.phase {
        Phase::Ringing => (i18n::t(lang, T::IncomingCall), Role::Ringing),
        Phase::AgentLeg => (i18n::t(lang, T::AgentLegRinging), Role::Ringing),
        Phase::Dialing => (i18n::t(lang, T::Dialing), Role::Dialing),
        Phase::CustomerRinging => (i18n::t(lang, T::CustomerRinging), Role::Dialing),
        Phase::Talking if c.held => (i18n::t(lang, T::OnHold), Role::Held),
        Phase::Talking => (i18n::t(lang, T::InCall), Role::InCall),
    };
    (format!(" ● {text} "), role)
}

fn call_panel(s: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let l = s.lang;
    let lw = width_of(l, &[T::Number, T::CallId, T::Time, T::Name, T::Quality]).max(7);
    let mut lines: Vec<Line> = Vec::new();
    if s.book.len() > 1 {
        // Every call, one row each (the keys act on the marked one); the
        // marked call's details follow.
        for c in s.book.calls() {
            let mark = if s.book.selected_id() == Some(c.id) {
                "▸"
            } else {
                " "
            };
            let (badge, role) = phase_badge(l, c);
            let id = format!("{mark}{} ", c.id);
            // One line per call, whatever the width: the name gives way.
            let room = usize::from(area.width.saturating_sub(4))
                .saturating_sub(id.width() + badge.width() + 1 + c.number.width());
            let mut row = vec![
                Span::styled(id, theme.style(Role::Label)),
                Span::styled(badge, theme.style(role)),
                Span::raw(" "),
                Span::styled(c.number.clone(), theme.style(Role::Input)),
            ];
            if let Some(n) = c.name.as_ref().filter(|n| !is_number(n, &c.number))
                && room > 3
            {
                row.push(Span::styled(
                    format!(" {}", super::fit(n, room - 1)),
                    theme.style(Role::Dim),
                ));
            }
            if c.muted {
                row.push(Span::styled(
                    format!(" {} ", i18n::t(l, T::Muted)),
                    theme.style(Role::Muted),
                ));
            }
            lines.push(Line::from(row));
        }
    }
    match s.call() {
        Some(c) => {
            let (badge, role) = phase_badge(l, c);
            let mut first = vec![Span::styled(badge, theme.style(role)), Span::raw(" ")];
            if c.muted {
                first.push(Span::styled(
                    format!(" {} ", i18n::t(l, T::Muted)),
                    theme.style(Role::Muted),
                ));
                first.push(Span::raw(" "));
            }
            first.push(Span::styled(
                i18n::direction(l, c.direction),
                theme.style(Role::Dim),
            ));
            if s.book.len() > 1 {
                // The badge is in the list above: the details start at once.
                lines.push(Line::raw(""));
            } else {
                lines.push(Line::from(first));
                lines.push(Line::raw(""));
            }
            lines.push(kv(
                theme,
                i18n::t(l, T::Number),
                lw,
                vec![Span::styled(c.number.clone(), theme.style(Role::Input))],
            ));
            if let Some(id) = &c.platform_id {
                lines.push(kv(
                    theme,
                    i18n::t(l, T::CallId),
                    lw,
                    vec![Span::raw(id.clone())],
                ));
            }
            let secs = s.timer_secs().unwrap_or(0);
            lines.push(kv(
                theme,
                i18n::t(l, T::Time),
                lw,
                vec![Span::styled(clock(secs), theme.style(Role::Input))],
            ));
            if !c.dtmf_sent.is_empty() || !c.dtmf_received.is_empty() {
                let mut v = vec![Span::raw(format!("→ {}", c.dtmf_sent))];
                if !c.dtmf_received.is_empty() {
                    v.push(Span::raw(format!("  ← {}", c.dtmf_received)));
                }
                lines.push(kv(theme, i18n::t(l, T::DtmfSent), lw, v));
            }
            if let Some(q) = s.call().and_then(|c| c.quality.as_ref()) {
                lines.push(kv(
                    theme,
                    i18n::t(l, T::Quality),
                    lw,
                    vec![Span::raw(format!(
                        "MOS {:.1} · {:.0} ms · {:.1} % · rtt {:.0} ms",
                        q.mos, q.jitter_ms, q.loss_pct, q.rtt_ms
                    ))],
                ));
            }
            if let Some((mic, spk)) = s.levels {
                let bar = |v: u8| {
                    format!(
                        "{}{}",
                        "▮".repeat(usize::from(v)),
                        "▯".repeat(usize::from(8 - v.min(8)))
                    )
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{} ", i18n::t(l, T::Mic)), theme.style(Role::Label)),
                    Span::styled(bar(mic), theme.style(Role::Ok)),
                    Span::styled(
                        format!("  {} ", i18n::t(l, T::Speaker)),
                        theme.style(Role::Label),
                    ),
                    Span::styled(bar(spk), theme.style(Role::Ok)),
                ]));
            }
        }
        None => {
            lines.push(Line::from(Span::styled(
                format!(" ○ {} ", i18n::t(l, T::Idle)),
                theme.style(Role::Idle),
            )));
            lines.push(Line::raw(""));
            lines.push(Line::from(Span::styled(
                i18n::t(l, T::IdleHint),
                theme.style(Role::Dim),
            )));
            if let Some(last) = &s.last_call {
                lines.push(Line::raw(""));
                lines.push(Line::from(Span::styled(
                    i18n::t(l, T::LastCall),
                    theme.style(Role::Label).add_modifier(Modifier::BOLD),
                )));
                let talk = last
                    .talk
                    .map(|d| format!(" · {}", clock(d.as_secs())))
                    .unwrap_or_default();
                lines.push(Line::from(vec![
                    Span::styled(last.number.clone(), theme.style(Role::Input)),
                    Span::styled(
                        format!(" · {}{talk}", i18n::direction(l, last.direction)),
                        theme.style(Role::Ended),
                    ),
                ]));
                if let Some(id) = &last.call_id {
                    lines.push(kv(
                        theme,
                        i18n::t(l, T::CallId),
                        lw,
                        vec![Span::raw(id.clone())],
                    ));
                }
                lines.push(Line::from(Span::styled(
                    i18n::end_reason(l, &last.reason),
                    theme.style(Role::Ended),
                )));
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(i18n::t(l, T::Call), theme, Role::Border)),
        area,
    );
}

fn agent_panel(s: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let l = s.lang;
    let lw = width_of(l, &[T::Status, T::Voice, T::Link, T::Sip, T::Device]);
    let unknown = || Span::styled("–", theme.style(Role::Dim));
    let mut lines = Vec::new();
    lines.push(kv(
        theme,
        i18n::t(l, T::Status),
        lw,
        match s.availability {
            Some(a) => {
                let mut spans = vec![Span::styled(
                    format!("● {}", i18n::availability(l, a)),
                    theme.style(availability_role(a)),
                )];
                if a == Availability::NoAnswer {
                    // No calls come until the agent goes On again.
                    let key = key_label(&keys_for(s, Action::Availability), 1);
                    spans.push(Span::styled(
                        format!(" {}", i18n::no_answer_key(l, &key)),
                        theme.style(Role::Hint),
                    ));
                }
                spans
            }
            None => vec![unknown()],
        },
    ));
    let voice = match s.voice_here {
        Some(true) => Span::styled(i18n::t(l, T::VoiceHere), theme.style(Role::Ok)),
        Some(false) => {
            let key = key_label(&keys_for(s, Action::ClaimVoice), 1);
            Span::styled(i18n::voice_elsewhere(l, &key), theme.style(Role::Warning))
        }
        None => Span::styled(i18n::t(l, T::VoiceUnknown), theme.style(Role::Dim)),
    };
    lines.push(kv(theme, i18n::t(l, T::Voice), lw, vec![voice]));
    let (c, role) = conn_text(s);
    lines.push(kv(
        theme,
        i18n::t(l, T::Link),
        lw,
        vec![Span::styled(c, theme.style(role))],
    ));
    if let Some(r) = &s.registration {
        let role = match r {
            RegState::Registered { .. } => Role::Ok,
            RegState::Failed { .. } => Role::Error,
            RegState::Retrying { .. } => Role::Warning,
            RegState::None | RegState::Registering => Role::Dim,
        };
        lines.push(kv(
            theme,
            i18n::t(l, T::Sip),
            lw,
            vec![Span::styled(i18n::registration(l, r), theme.style(role))],
        ));
    }
    lines.push(kv(
        theme,
        i18n::t(l, T::Device),
        lw,
        vec![match &s.device {
            Some(d) => Span::styled(i18n::device(l, d), theme.style(Role::Base)),
            None => unknown(),
        }],
    ));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(i18n::t(l, T::Agent), theme, Role::Border)),
        area,
    );
}

/// The popup's facts: local contact first, the CRM fills what it lacks.
struct Facts {
    name: Option<String>,
    company: Option<String>,
    tags: Vec<String>,
    notes: Vec<String>,
}

fn facts(s: &AppState, c: &Call) -> Facts {
    let local = s.popup.as_ref().and_then(|p| p.local.as_ref());
    let crm = match s.popup.as_ref().map(|p| &p.crm) {
        Some(CrmState::Found(r)) => Some(r),
        _ => None,
    };
    let pick = |a: Option<&String>, b: Option<&String>| {
        a.or(b)
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_string())
    };
    let name = pick(
        local.and_then(|i| i.name.as_ref()),
        crm.and_then(|r| r.name.as_ref()),
    )
    // A device-1 INVITE's display name is often the number itself: no name.
    .or_else(|| c.name.clone().filter(|n| !is_number(n, &c.number)));
    let company = pick(
        local.and_then(|i| i.company.as_ref()),
        crm.and_then(|r| r.company.as_ref()),
    );
    let mut tags: Vec<String> = Vec::new();
    for t in local
        .map(|i| i.tags.iter())
        .into_iter()
        .flatten()
        .chain(crm.map(|r| r.tags.iter()).into_iter().flatten())
    {
        let t = t.trim();
        if !t.is_empty() && !tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            tags.push(t.to_string());
        }
    }
    let mut notes: Vec<String> = Vec::new();
    for n in [
        local.and_then(|i| i.notes.as_ref()),
        crm.and_then(|r| r.notes.as_ref()),
    ]
    .into_iter()
    .flatten()
    {
        let n = n.trim();
        if !n.is_empty() && !notes.iter().any(|x| x == n) {
            notes.push(n.to_string());
        }
    }
    Facts {
        name,
        company,
        tags,
        notes,
    }
}

/// Whether a display name is only the caller's number (digits, `+`, spaces).
fn is_number(name: &str, number: &str) -> bool {
    let digits: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    digits == number || digits.chars().all(|c| c.is_ascii_digit() || c == '+')
}

fn customer_popup(s: &AppState, c: &Call, theme: &Theme, f: &mut Frame, area: Rect) {
    let l = s.lang;
    let lw = width_of(
        l,
        &[T::Name, T::Company, T::Tags, T::Notes, T::Hotline, T::Ivr],
    );
    let facts = facts(s, c);
    let mut lines = vec![Line::from(Span::styled(
        c.number.clone(),
        theme.style(Role::Input),
    ))];
    let field = |lines: &mut Vec<Line>, key: T, value: Span<'static>| {
        lines.push(kv(theme, i18n::t(l, key), lw, vec![value]));
    };
    if let Some(n) = &facts.name {
        field(&mut lines, T::Name, Span::raw(n.clone()));
    }
    if let Some(co) = &facts.company {
        field(&mut lines, T::Company, Span::raw(co.clone()));
    }
    if !facts.tags.is_empty() {
        let tags = facts
            .tags
            .iter()
            .map(|t| format!("[{t}]"))
            .collect::<Vec<_>>()
            .join(" ");
        field(
            &mut lines,
            T::Tags,
            Span::styled(tags, theme.style(Role::Ok)),
        );
    }
    for (i, n) in facts.notes.iter().enumerate() {
        let label = if i == 0 { i18n::t(l, T::Notes) } else { "" };
        lines.push(kv(theme, label, lw, vec![Span::raw(n.clone())]));
    }
    if let Some(line) = &c.line {
        field(&mut lines, T::Hotline, Span::raw(line.clone()));
    }
    if let Some(q) = &c.queue {
        field(&mut lines, T::Ivr, Span::raw(q.clone()));
    }
    match s.popup.as_ref().map(|p| &p.crm) {
        Some(CrmState::Pending) => lines.push(Line::from(Span::styled(
            i18n::t(l, T::CrmLooking),
            theme.style(Role::Dim),
        ))),
        Some(CrmState::Failed(e)) => lines.push(Line::from(Span::styled(
            i18n::crm_unavailable(l, e),
            theme.style(Role::Warning),
        ))),
        Some(CrmState::NotFound) if facts.name.is_none() => lines.push(Line::from(Span::styled(
            i18n::t(l, T::CrmNotFound),
            theme.style(Role::Dim),
        ))),
        _ => {}
    }
    // The answer / reject keys come first, so the popup never hides them.
    let mut keys_line = Vec::new();
    if c.phase == Phase::Ringing {
        // While the agent types, only the command keys reach the ring.
        let typing = s.ring_behind_focus();
        for a in [Action::Answer, Action::Reject] {
            let mut k = keys_for(s, a);
            if typing {
                k.retain(crate::app::keymap::Key::is_command_key);
            }
            if !k.is_empty() {
                keys_line.push(Span::styled(key_label(&k, 3), theme.style(Role::HintKey)));
                keys_line.push(Span::styled(
                    format!(" {}  ", i18n::action(l, a)),
                    theme.style(Role::Hint),
                ));
            }
        }
    }
    let inner_h = usize::from(area.height.saturating_sub(2));
    let reserved = lines.len() + 1 + 2 * usize::from(!keys_line.is_empty());
    let room = inner_h.saturating_sub(reserved + 1);
    lines.push(Line::from(Span::styled(
        i18n::t(l, T::RecentCalls),
        theme.style(Role::Label).add_modifier(Modifier::BOLD),
    )));
    match s.popup.as_ref().and_then(|p| p.local.as_ref()) {
        // The store's rows: with outcome and note.
        Some(info) => {
            if info.first_call || info.recent.is_empty() {
                // Our call-out is a first call *to* the number.
                let first = if c.direction == crate::engine::Direction::Inbound {
                    T::FirstCall
                } else {
                    T::FirstCallTo
                };
                lines.push(Line::from(Span::styled(
                    format!("  {}", i18n::t(l, first)),
                    theme.style(Role::Ok),
                )));
            }
            for r in info.recent.iter().take(room.max(1)) {
                let talk = r
                    .talk_secs
                    .map(|t| format!(" · {}", clock(t)))
                    .unwrap_or_default();
                let role = if r.missed { Role::Warning } else { Role::Dim };
                lines.push(Line::from(Span::styled(
                    format!(
                        "{} {}{talk} · {}",
                        r.when,
                        arrow(r.direction),
                        i18n::outcome_with_reason(l, r.outcome, r.reason.as_ref())
                    ),
                    theme.style(role),
                )));
                if let Some(n) = &r.note {
                    lines.push(Line::from(Span::styled(
                        format!("  ✎ {n}"),
                        theme.style(Role::Base),
                    )));
                }
            }
        }
        // Until the store answers (or without one): this session's calls.
        None => {
            let recent: Vec<_> = s
                .recent
                .iter()
                .filter(|r| r.number == c.number)
                .take(room.max(1))
                .collect();
            if recent.is_empty() {
                lines.push(Line::from(Span::styled(
                    format!("  {}", i18n::t(l, T::NoRecentCalls)),
                    theme.style(Role::Dim),
                )));
            }
            for r in recent {
                let when = r
                    .when
                    .clone()
                    .unwrap_or_else(|| i18n::t(l, T::ThisSession).to_string());
                let talk = r
                    .talk_secs
                    .map(|t| format!(" · {}", clock(t)))
                    .unwrap_or_default();
                let why = r
                    .reason
                    .as_ref()
                    .map(|e| format!(" · {}", i18n::end_reason(l, e)))
                    .unwrap_or_default();
                lines.push(Line::from(Span::styled(
                    format!("{when} {}{talk}{why}", arrow(r.direction)),
                    theme.style(Role::Dim),
                )));
            }
        }
    }
    let block = block(i18n::t(l, T::Customer), theme, Role::PopupBorder);
    let inner = block.inner(area);
    f.render_widget(Clear, area);
    f.render_widget(block.style(theme.style(Role::Base)), area);
    let [text_area, keys_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(u16::from(!keys_line.is_empty())),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
    // The answer / reject keys sit on the popup's last line, always visible.
    f.render_widget(Paragraph::new(Line::from(keys_line)), keys_area);
}

/// A compact direction mark for history rows.
pub(super) fn arrow(d: crate::engine::Direction) -> &'static str {
    match d {
        crate::engine::Direction::Inbound => "↘",
        crate::engine::Direction::Outbound => "↗",
        crate::engine::Direction::Internal => "↔",
    }
}

fn activity_panel(s: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let room = usize::from(area.height.saturating_sub(2));
    let start = s.activity.len().saturating_sub(room);
    let lines: Vec<Line> = s.activity[start..]
        .iter()
        .map(|n| {
            Line::from(Span::styled(
                // Borders and padding take four columns.
                super::fit(
                    &i18n::notice_text(s.lang, &n.text),
                    usize::from(area.width.saturating_sub(4)),
                ),
                theme.style(level_role(n.level)),
            ))
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(block(i18n::t(s.lang, T::Activity), theme, Role::Border)),
        area,
    );
}

pub(super) fn first_run(s: &AppState, setup: &Setup, theme: &Theme, f: &mut Frame, area: Rect) {
    let l = s.lang;
    let code = theme.style(Role::Input);
    let lines = vec![
        Line::from(Span::styled(
            i18n::t(l, T::NotConfigured),
            theme.style(Role::Warning),
        )),
        Line::raw(""),
        Line::raw(i18n::t(l, T::NotConfiguredWrite)),
        Line::from(vec![
            Span::styled(format!("  {}", setup.config_path), code),
            Span::styled(
                format!(" {}", i18n::t(l, T::NotConfiguredPath)),
                theme.style(Role::Dim),
            ),
        ]),
        Line::raw(""),
        Line::from(Span::styled("    backend = \"sip\"", code)),
        Line::from(Span::styled("    [sip]", code)),
        Line::from(Span::styled("    user = \"1001\"", code)),
        Line::from(Span::styled("    server = \"pbx.example.com:5060\"", code)),
        Line::raw(""),
        Line::raw(i18n::t(l, T::NotConfiguredPassword)),
        Line::raw(""),
        Line::from(Span::styled(
            i18n::t(l, T::NotConfiguredDemo),
            theme.style(Role::Ok),
        )),
    ];
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block("tongdai", theme, Role::PopupBorder)),
        area,
    );
}
