//! Every error of a config file in one run, in file order, each with its
//! line and column: serde stops at the first error, so the file is read
//! again with each bad item blanked out (spaces of the same length, so every
//! later offset still points into the original text) until it parses.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, from_toml, line_col};

/// At most this many errors are collected (a file of garbage says enough).
const MAX_ERRORS: usize = 32;

/// Parse `text` into `T`; on failure, every error found (sorted by
/// position) and, when the rest of the file makes sense, the value read
/// without the bad items (so later checks can run on it too).
pub fn parse_all<T: DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, (Option<T>, Vec<ConfigError>)> {
    // Syntax first: the parser recovers and reports each bad line.
    let (_, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let mut errs: Vec<(usize, ConfigError)> = syntax
            .iter()
            .map(|e| (e.span().map_or(0, |s| s.start), from_toml(path, text, e)))
            .collect();
        errs.sort_by_key(|(at, _)| *at);
        // A bad line often confuses the rest of it: one error per line.
        errs.dedup_by_key(|(at, _)| line_col(text, *at).0);
        return Err((None, errs.into_iter().map(|(_, e)| e).collect()));
    }
    let mut work = text.to_string();
    let mut errs: Vec<(usize, ConfigError)> = Vec::new();
    // Keys already reported and blanked: their "missing field" is an echo.
    let mut blanked: Vec<String> = Vec::new();
    let mut rest = None;
    for _ in 0..MAX_ERRORS * 2 {
        let e = match toml::from_str::<T>(&work) {
            Ok(v) if errs.is_empty() => return Ok(v),
            Ok(v) => {
                rest = Some(v);
                break;
            }
            Err(e) => e,
        };
        let at = e.span().map_or(0, |s| s.start);
        let echo = e
            .message()
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .is_some_and(|k| blanked.iter().any(|b| b == k));
        if !echo {
            // Positions and field names come from the original text (same offsets).
            let err = from_toml(path, text, &e);
            // `sever` reported as a typo of `server`: a missing `server` is
            // the same mistake, not a second one.
            if e.message().starts_with("unknown field")
                && let Some(meant) = err
                    .to_string()
                    .split_once("did you mean `")
                    .and_then(|(_, r)| r.split('`').next().map(str::to_string))
            {
                blanked.push(meant);
            }
            errs.push((at, err));
        }
        let Some((r, key)) = e.span().and_then(|s| removable(&work, s.start)) else {
            break;
        };
        if errs.len() >= MAX_ERRORS {
            break;
        }
        blanked.extend(key);
        blank_out(&mut work, r);
    }
    errs.sort_by_key(|(at, _)| *at);
    Err((rest, errs.into_iter().map(|(_, e)| e).collect()))
}

/// Replace `r` by spaces, keeping line breaks.
fn blank_out(text: &mut String, r: Range<usize>) {
    let replaced: String = text[r.clone()]
        .chars()
        .map(|c| if c == '\n' || c == '\r' { c } else { ' ' })
        .collect();
    // `replaced` may be shorter in bytes (multi-byte chars): pad to keep offsets.
    let pad = r.len() - replaced.len();
    text.replace_range(r, &format!("{replaced}{}", " ".repeat(pad)));
}

/// The range that removes the item an error at `at` is about: the innermost
/// `key = value` (with a following comma), array element, or whole
/// `[section]` holding `at`. `None`: nothing safe to remove.
fn removable(text: &str, at: usize) -> Option<(Range<usize>, Option<String>)> {
    let doc = DeTable::parse(text).ok()?;
    let root = doc.get_ref();
    innermost_in_table(text, root, at, true)
}

type Removable = (Range<usize>, Option<String>);

fn innermost_in_table(text: &str, t: &DeTable<'_>, at: usize, top: bool) -> Option<Removable> {
    for (k, v) in t.iter() {
        let (ks, vs) = (k.span(), v.span());
        // A `[section]`: its span is the header alone.
        let is_section =
            top && matches!(v.get_ref(), DeValue::Table(_)) && text[vs.clone()].starts_with('[');
        if is_section {
            if let DeValue::Table(inner) = v.get_ref()
                && let Some(r) = innermost_in_table(text, inner, at, false)
            {
                return Some(r);
            }
            if vs.contains(&at) || ks.contains(&at) || at == vs.start {
                return Some((section_range(text, vs.start), None));
            }
            continue;
        }
        let whole = ks.start.min(vs.start)..vs.end.max(ks.end);
        if !(whole.contains(&at) || at == whole.end) {
            continue;
        }
        let inner = match v.get_ref() {
            DeValue::Table(inner) => innermost_in_table(text, inner, at, false),
            DeValue::Array(a) => a.iter().find_map(|e| {
                let es = e.span();
                if !es.contains(&at) {
                    return None;
                }
                if let DeValue::Table(inner) = e.get_ref()
                    && let Some(r) = innermost_in_table(text, inner, at, false)
                {
                    return Some(r);
                }
                Some((with_comma(text, es), None))
            }),
            _ => None,
        };
        let key = k.get_ref().as_ref() as &str;
        return Some(inner.unwrap_or_else(|| (with_comma(text, whole), Some(key.to_string()))));
    }
    None
}

/// `r` plus a comma that follows it (inside arrays and inline tables).
fn with_comma(text: &str, r: Range<usize>) -> Range<usize> {
    let rest = &text[r.end..];
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if rest[skipped..].starts_with(',') {
        r.start..r.end + skipped + 1
    } else {
        r
    }
}

/// A `[section]` from its header to the next header (or the end).
fn section_range(text: &str, start: usize) -> Range<usize> {
    let body = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    let mut pos = body;
    for line in text[body..].split_inclusive('\n') {
        if line.trim_start().starts_with('[') {
            return start..pos;
        }
        pos += line.len();
    }
    start..text.len()
}

/// Where the value of `field` (`ui.theme`, `demo.agent`) is written, if it is.
pub fn position_of(text: &str, field: &str) -> Option<(usize, usize)> {
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut parts = field.split('.').peekable();
    while let Some(p) = parts.next() {
        let (_, v) = table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() as &str == p)?;
        if parts.peek().is_none() {
            return Some(line_col(text, v.span().start));
        }
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        a: Option<u32>,
        b: Option<bool>,
        s: Option<Sec>,
        list: Option<Vec<Item>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sec {
        x: u32,
        y: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        on: String,
    }

    fn lines(text: &str) -> Vec<String> {
        match parse_all::<Doc>(Path::new("c.toml"), text) {
            Ok(_) => Vec::new(),
            Err((_, es)) => es
                .iter()
                .map(|e| match e {
                    ConfigError::Parse { line, column, .. } => format!("{line}:{column}"),
                    other => other.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn every_error_in_file_order() {
        let text = "a = \"one\"\nb = 3\n[s]\nx = 1\nzz = 2\ny = 4\n";
        assert_eq!(lines(text), ["1:5", "2:5", "5:1", "6:5"]);
    }

    #[test]
    fn bad_array_elements_and_inline_keys() {
        let text = "list = [\n  { on = 1 },\n  { on = \"ok\", off = 2 },\n]\n";
        assert_eq!(lines(text), ["2:10", "3:16"]);
    }

    #[test]
    fn a_section_missing_a_field_and_an_unknown_section() {
        let text = "[s]\ny = \"k\"\n[t]\nq = 1\n\na = true\n";
        // `a` sits inside [t] (TOML), so it is [t] that is unknown.
        let got = lines(text);
        assert_eq!(got.len(), 2, "{got:?}");
    }

    #[test]
    fn syntax_errors_one_per_line() {
        let got = lines("a = \"x\nb = = 2\nc = 3\n");
        assert_eq!(got, ["1:7", "2:5"]);
    }

    #[test]
    fn a_required_field_with_a_bad_value_is_reported_once() {
        let text = "[s]\nx = \"one\"\ny = 2\n";
        assert_eq!(lines(text), ["2:5", "3:5"]);
    }

    #[test]
    fn positions_of_fields() {
        let text = "[ui]\ntheme = \"x\"\n[demo]\nagent = \"9\"\n";
        assert_eq!(position_of(text, "ui.theme"), Some((2, 9)));
        assert_eq!(position_of(text, "demo.agent"), Some((4, 9)));
        assert_eq!(position_of(text, "log.level"), None);
    }
}
