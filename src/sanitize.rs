//! Text from the network or from a file, made safe for a terminal and a
//! spreadsheet.
//!
//! Numbers and names come from SIP headers (`From`, `P-Asserted-Identity`),
//! VCC push frames and CSV files; any of them can carry an ESC (`\x1b[31m`,
//! an OSC that sets the window title or writes the clipboard), a BEL, a NUL
//! or a C1 control (`\u{9b}` is CSI on some terminals). They are replaced
//! with U+FFFD where they come in (the SIP UA, the VCC ring, the store) and
//! again where text goes out (`tongdai history`, `contacts export`), so an
//! old database written before this check is safe to print too.
//!
//! CSV cells also get the OWASP "CSV injection" guard: a cell that starts
//! with `=`, `+`, `-`, `@`, a tab or a CR is prefixed with `'`, which every
//! spreadsheet reads as "this is text" (<https://owasp.org/www-community/attacks/CSV_Injection>).

use std::borrow::Cow;

/// What a removed control character becomes: visible, and never a control.
pub const REPLACEMENT: char = '\u{fffd}';

/// Characters that would change what a terminal shows beyond the text
/// itself: C0 (`\0`–`\x1f`), DEL, C1 (`\u{80}`–`\u{9f}`), and the Unicode
/// bidirectional overrides that reorder a line (a number shown reversed).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}'
        )
}

fn clean(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let keep = |c: char| keep_newlines && c == '\n';
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                c if keep(c) => c,
                // Whitespace controls read as the space they stand for.
                '\t' | '\n' | '\r' => ' ',
                c if is_unsafe(c) => REPLACEMENT,
                c => c,
            })
            .collect(),
    )
}

/// A one-line field (a number, a display name, a hotline, a tag): every
/// control character replaced, line breaks and tabs become spaces.
pub fn one_line(text: &str) -> Cow<'_, str> {
    clean(text, false)
}

/// A multi-line field (notes): like [`one_line`] but `\n` is kept.
pub fn multi_line(text: &str) -> Cow<'_, str> {
    clean(text, true)
}

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell for `contacts export`: controls replaced (line breaks in
/// notes kept: the CSV writer quotes them), and a cell a spreadsheet would
/// run as a formula (`=cmd|' /C calc'!A0`, `@SUM(A1)`) prefixed with `'`.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let formula = text.starts_with(FORMULA_START);
    let cleaned = multi_line(text);
    if formula {
        Cow::Owned(format!("'{cleaned}"))
    } else {
        cleaned
    }
}

/// The inverse of [`csv_cell`]'s guard, for `contacts import`: a cell
/// that is `'` followed by a formula character loses the `'`, so an
/// exported file reads back as it was.
pub fn csv_unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_replaced_and_clean_text_is_not_copied() {
        assert_eq!(one_line("0912555002\x1b[31m"), "0912555002\u{fffd}[31m");
        assert_eq!(
            one_line("a\x07b\0c\u{9b}d\x7f"),
            "a\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}"
        );
        assert_eq!(one_line("Lê\tVăn\r\nAn"), "Lê Văn  An");
        assert_eq!(one_line("\u{202e}8765"), "\u{fffd}8765");
        assert!(matches!(one_line("Nguyễn Thị Hồng"), Cow::Borrowed(_)));
        assert_eq!(
            multi_line("line 1\nline\x1b]0;pwned\x07 2"),
            "line 1\nline\u{fffd}]0;pwned\u{fffd} 2"
        );
    }

    #[test]
    fn formula_cells_are_guarded_and_read_back() {
        for (raw, cell) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            (
                "@SUM(1+1)*cmd|' /C calc'!A0",
                "'@SUM(1+1)*cmd|' /C calc'!A0",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("\t=1", "'\u{20}=1"),
            ("\r=1", "'\u{20}=1"),
            ("An", "An"),
            ("'quoted", "'quoted"),
        ] {
            assert_eq!(csv_cell(raw), cell, "{raw:?}");
        }
        assert_eq!(csv_unguard("'=cmd"), "=cmd");
        assert_eq!(csv_unguard("'+84912345678"), "+84912345678");
        assert_eq!(csv_unguard("'Tis"), "'Tis");
        assert_eq!(csv_unguard("=x"), "=x");
    }
}
