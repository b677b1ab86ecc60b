//! Config errors the agent can act on: the file, the line, the field, and
//! what was expected (bottom's `tests/invalid_configs/` style: each failure
//! has one test asserting this text).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{}: cannot read the file: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error(
        "unknown theme `{name}`{suggestion} Built-in themes: dark, light, high-contrast; or give the path of a .toml file"
    )]
    UnknownTheme { name: String, suggestion: String },
    /// Several errors of one file, in file order (one per line).
    #[error("{}", many(.0))]
    Many(Vec<ConfigError>),
}

fn many(errs: &[ConfigError]) -> String {
    errs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// One error as is; several as [`ConfigError::Many`].
    pub fn from_list(mut errs: Vec<ConfigError>) -> ConfigError {
        if errs.len() == 1 {
            errs.remove(0)
        } else {
            ConfigError::Many(errs)
        }
    }

    /// Where in the file, for sorting: (line, column); unplaced errors last.
    pub fn position(&self) -> (usize, usize) {
        match self {
            ConfigError::Parse { line, column, .. } => (*line, *column),
            _ => (usize::MAX, 0),
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&w, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| {
            let n = c.chars().count();
            *d <= (n / 3).max(1) + usize::from(n > 4)
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `"; did you mean `x`?"` or `"."`, to end a sentence.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => ".".to_string(),
    }
}

/// The names inside backticks of a serde message after `expected one of`.
fn expected_list(message: &str) -> Vec<&str> {
    let rest = match message.split_once("expected one of ") {
        Some((_, r)) => r,
        None => match message.split_once("expected ") {
            Some((_, r)) => r,
            None => return Vec::new(),
        },
    };
    rest.split(", ")
        .flat_map(|s| s.split(" or "))
        .map(|s| s.trim().trim_matches('`'))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The first name in backticks.
fn first_ticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Rewrite a serde message for a person: unknown keys and values get a
/// suggestion, the expected list stays, `field` names where it happened.
pub fn humanize(message: &str, field: Option<&str>, section: &str) -> String {
    let message = message.trim().trim_end_matches('\n');
    let in_section = if section.is_empty() {
        "at the top level".to_string()
    } else if section.contains('[') {
        format!("in {section}")
    } else {
        format!("in [{section}]")
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let key = first_ticked(rest).unwrap_or("");
        let expected = expected_list(rest);
        let hint = match closest(key, expected.iter().copied()) {
            Some(c) => format!("; did you mean `{c}`?"),
            None => String::new(),
        };
        let list = if expected.is_empty() {
            String::new()
        } else {
            format!(
                " (expected one of {})",
                expected
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return format!("unknown key `{key}` {in_section}{hint}{list}");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let value = first_ticked(rest).unwrap_or("");
        let expected = expected_list(rest);
        let hint = match closest(value, expected.iter().copied()) {
            Some(c) => format!("; did you mean `{c}`?"),
            None => String::new(),
        };
        let list = expected
            .iter()
            .map(|e| format!("`{e}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let f = field.map(|f| format!("field `{f}`: ")).unwrap_or_default();
        return format!("{f}unknown value `{value}`{hint} (expected one of {list})");
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing field {rest} {in_section}");
    }
    match field {
        Some(f) => format!("field `{f}`: {message}"),
        None => message.to_string(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

/// The table header in force at `offset` (`sip`, `ui.keys`), or "".
pub fn section_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_end = text[offset..]
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(text.len());
    let mut section = String::new();
    for line in text[..line_end].lines() {
        let t = line.trim();
        if t.starts_with('[') {
            let name = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            section = name;
        }
    }
    section
}

/// The key written just before the last `=` of `text`.
fn ident_before_eq(text: &str) -> Option<String> {
    let (head, _) = text.rsplit_once('=')?;
    let head = head.trim_end();
    let start = head
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '"' || c == '.'))
        .map(|i| i + 1)
        .unwrap_or(0);
    let key = head[start..].trim_matches('"');
    (!key.is_empty()).then(|| key.to_string())
}

/// The dotted path of the value at `offset`, relative to its table:
/// `transport`, `ringing.fg`, or `keys[1].run` inside an array of inline tables.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[offset..]
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(text.len());
    let line = &text[start..line_end];
    let before = &text[start..offset];
    let trimmed = line.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('#') {
        return None;
    }
    let inner = ident_before_eq(before);
    if trimmed.starts_with('{') {
        // An entry of `key = [ {…}, {…} ]` written one per line.
        let mut index = 0;
        for prev in text[..start].lines().rev() {
            let t = prev.trim();
            if t.starts_with('{') {
                index += 1;
            } else if t.ends_with('[') && t.contains('=') {
                let array = ident_before_eq(t.trim_end_matches('[').trim_end())
                    .or_else(|| t.split('=').next().map(|k| k.trim().to_string()))?;
                return Some(match inner {
                    Some(k) => format!("{array}[{index}].{k}"),
                    None => format!("{array}[{index}]"),
                });
            } else if !t.is_empty() && !t.starts_with('#') {
                break;
            }
        }
        return inner;
    }
    let first = line.split_once('=')?.0.trim().trim_matches('"').to_string();
    if first.is_empty() {
        return None;
    }
    match inner {
        Some(k) if before.matches('=').count() > 1 && k != first => Some(format!("{first}.{k}")),
        _ => Some(first),
    }
}

fn field_path(section: &str, key: Option<String>) -> Option<String> {
    let key = key?;
    Some(if section.is_empty() {
        key
    } else {
        format!("{section}.{key}")
    })
}

/// Turn a `toml` error into [`ConfigError::Parse`] with line, column and field.
pub fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let span: Range<usize> = err.span().unwrap_or(0..0);
    let (line, column) = line_col(text, span.start);
    let mut section = section_at(text, span.start);
    let line_start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    if err.message().starts_with("unknown field")
        && text[line_start..].trim_start().starts_with('[')
    {
        // The error is about the header itself: it lives in the parent table.
        section = section
            .rsplit_once('.')
            .map(|(p, _)| p.to_string())
            .unwrap_or_default();
    }
    let key = key_at(text, span.start);
    let field = field_path(&section, key.clone());
    // Unknown keys inside an inline table: name that table.
    if err.message().starts_with("unknown field")
        && let Some(k) = &key
        && let Some((table, _)) = k.rsplit_once('.')
    {
        section = if section.is_empty() {
            table.to_string()
        } else {
            format!("{section}.{table}")
        };
    }
    ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message: humanize(err.message(), field.as_deref(), &section),
    }
}

/// Parse a TOML file into `T`, with a person-readable error.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| from_toml(path, text, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_only_for_typos() {
        assert_eq!(
            closest("sever", ["user", "server", "transport"]),
            Some("server")
        );
        assert_eq!(closest("langauge", ["language", "theme"]), Some("language"));
        assert_eq!(closest("zzz", ["language", "theme"]), None);
    }

    #[test]
    fn positions() {
        let t = "a = 1\n[sip]\nuser = 2\n";
        assert_eq!(line_col(t, 13), (3, 2));
        assert_eq!(section_at(t, 13), "sip");
        assert_eq!(key_at(t, 13).as_deref(), Some("user"));
    }
}
