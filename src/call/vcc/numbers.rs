//! Dialled strings: mobile numbers as the platform wants them, and what a
//! dialled string is (VCC-PROTOCOL.md §4).

/// A Vietnamese mobile number as the platform wants it (`0` + 9 digits),
/// from `09x…`, `+84 9x…` or `84 9x…` with spaces, dots or dashes.
pub fn normalise_mobile(input: &str) -> Option<String> {
    let digits: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let rest = if let Some(r) = digits.strip_prefix("+84") {
        r.to_string()
    } else if digits.len() == 11 && digits.starts_with("84") {
        digits[2..].to_string()
    } else if let Some(r) = digits.strip_prefix('0') {
        r.to_string()
    } else {
        return None;
    };
    let ok = rest.len() == 9
        && rest.chars().all(|c| c.is_ascii_digit())
        && matches!(rest.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9');
    ok.then(|| format!("0{rest}"))
}

/// What a dialled string is (VCC-PROTOCOL.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    /// 8–13 digits: a customer, called through 2032.
    Customer(String),
    /// 1–7 digits not starting with 0: an extension, dialled in SIP.
    Internal(String),
}

pub fn classify_number(input: &str) -> Option<DialTarget> {
    let t = input.trim();
    let t = t.strip_prefix("tel:").unwrap_or(t);
    let mut d: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    if let Some(r) = d.strip_prefix("+84") {
        d = format!("0{r}");
    }
    if d.is_empty() || !d.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match d.len() {
        1..=7 if !d.starts_with('0') => Some(DialTarget::Internal(d)),
        8..=13 => Some(DialTarget::Customer(d)),
        _ => None,
    }
}
