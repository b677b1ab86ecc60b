//! `render(&AppState, &Theme, &mut Frame)`: a pure function of the state.
//! No I/O, no clock: what it draws depends on nothing else, so a snapshot
//! of a state is the same on every run.
//!
//! ```text
//!  header   tongdai · call console            On │ voice here │ connected
//!  body     ┌ Call ───────────────┐┌ Agent ─────────┐   (≥ 110 columns: Call │ Customer │ Agent)
//!           │ badge, number, time ││ status, voice… │   customer popup over Agent at 80 columns
//!           └─────────────────────┘└────────────────┘
//!           ┌ Activity ───────────────────────────┐     (≥ 32 rows)
//!  dial     Dial › 0912345678   customer number · 10 digits
//!  notice   ! The customer is busy (SIP 486)
//!  hints    Enter/F2 call  o On/Off  …  ? help  q quit      (from the keymap)
//! ```

mod bars;
mod overlays;
mod panels;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::state::AppState;
use super::theme::{Role, Theme};

/// Below this the panels cannot be drawn without overlapping: the screen
/// says to enlarge the terminal (and how to hang up meanwhile).
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 12;

pub fn render(s: &AppState, theme: &Theme, f: &mut Frame) {
    let area = f.area();
    f.buffer_mut().set_style(area, theme.style(Role::Base));
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return too_small(s, theme, f, area);
    }
    let hints = bars::hint_lines(s, theme, area.width);
    let hint_h = u16::try_from(hints.len()).unwrap_or(2);
    let [header, body, dial, notice, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(hint_h),
    ])
    .areas(area);
    bars::header(s, theme, f, header);
    match &s.first_run {
        Some(setup) => panels::first_run(s, setup, theme, f, body),
        None => panels::body(s, theme, f, body),
    }
    bars::dial(s, theme, f, dial);
    bars::notice(s, theme, f, notice);
    f.render_widget(ratatui::widgets::Paragraph::new(hints), hint);
    overlays::render(s, theme, f, body);
}

/// One line: enlarge the terminal; in a call, the key that hangs up still
/// works and is named.
fn too_small(s: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let l = s.lang;
    let mut text = super::i18n::too_small(l, MIN_WIDTH, MIN_HEIGHT);
    if s.call().is_some() {
        let keys = bars::keys_for(s, super::action::Action::End);
        let key = bars::key_label(&keys, 2);
        if !key.is_empty() {
            text = format!(
                "{text} · {key} {}",
                super::i18n::action(l, super::action::Action::End)
            );
        }
    }
    let lines: Vec<Line> = vec![Line::from(Span::styled(text, theme.style(Role::Warning)))];
    f.render_widget(
        ratatui::widgets::Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
        area,
    );
}

/// `text` cut to `width` display columns, ending in "…" when cut.
pub(crate) fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in text.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// `label` padded to `width` display columns, then a space.
pub(crate) fn label<'a>(text: &str, width: usize, style: Style) -> Span<'a> {
    let pad = width.saturating_sub(text.width());
    Span::styled(format!("{text}{} ", " ".repeat(pad)), style)
}

/// A `label  value` line.
pub(crate) fn kv<'a>(theme: &Theme, text: &str, width: usize, value: Vec<Span<'a>>) -> Line<'a> {
    let mut spans = vec![label(text, width, theme.style(Role::Label))];
    spans.extend(value);
    Line::from(spans)
}

/// mm:ss, or h:mm:ss from an hour on.
pub fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}
