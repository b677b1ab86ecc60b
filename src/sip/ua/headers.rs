//! Parsing what peers send in headers and bodies: caller identity,
//! name-addr, dtmf-relay, sipfrag; and redacting digest credentials
//! out of error text. `pub` for the fuzz targets (fuzz/), not an API.

use rsipstack::sip::Header;
use rsipstack::sip::prelude::*;

/// Digest credentials must never reach a notice or a log.
pub(super) fn redact(text: &str) -> String {
    match text.find("Authorization") {
        Some(i) => format!("{}<redacted>", &text[..i]),
        None => text.to_string(),
    }
}

/// The caller's number and name: P-Asserted-Identity first (RFC 3325),
/// then From. `pub` only for the fuzz targets (fuzz/), which parse raw
/// datagrams with the same rsipstack parser; not an API.
#[doc(hidden)]
pub fn caller_identity(req: &rsipstack::sip::Request) -> (String, Option<String>) {
    for h in req.headers.iter() {
        if let Header::Other(name, value) = h
            && name.eq_ignore_ascii_case("P-Asserted-Identity")
            && let Some(id) = parse_name_addr(value)
        {
            return id;
        }
    }
    if let Ok(from) = req.from_header()
        && let Some(id) = parse_name_addr(from.value())
    {
        return id;
    }
    ("unknown".to_string(), None)
}

/// `"Name" <sip:user@host>;tag=x` → (user, Some(Name)).
pub fn parse_name_addr(value: &str) -> Option<(String, Option<String>)> {
    let value = value.trim();
    let (name, uri) = match value.find('<') {
        Some(i) => {
            let end = value[i..].find('>').map(|j| i + j)?;
            (
                value[..i].trim().trim_matches('"').trim(),
                &value[i + 1..end],
            )
        }
        None => ("", value.split(';').next().unwrap_or(value)),
    };
    let uri = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .or_else(|| uri.strip_prefix("tel:"))
        .unwrap_or(uri);
    // Header text reaches the screen and the history: no terminal controls.
    let user = crate::sanitize::one_line(uri.split(['@', ';']).next().unwrap_or(uri)).into_owned();
    if user.is_empty() {
        return None;
    }
    let name = (!name.is_empty()).then(|| crate::sanitize::one_line(name).into_owned());
    Some((user, name))
}

/// `Signal=5` in an `application/dtmf-relay` INFO body.
pub fn parse_dtmf_relay(body: &str) -> Option<char> {
    body.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("signal") {
            v.trim().chars().next()
        } else {
            None
        }
    })
}

/// Percent-escape a URI header value (RFC 3261 §25.1 `hvalue`): only
/// unreserved characters stay as they are.
pub fn escape_uri_header(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 2);
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `SIP/2.0 200 OK` in a `message/sipfrag` NOTIFY body (RFC 3515 §2.4.5).
pub fn parse_sipfrag(body: &str) -> Option<u16> {
    let line = body.lines().next()?;
    let mut it = line.split_whitespace();
    if !it.next()?.starts_with("SIP/") {
        return None;
    }
    it.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        assert_eq!(
            parse_name_addr("\"Nguyễn Văn A\" <sip:0912345678@pbx;user=phone>;tag=1"),
            Some(("0912345678".into(), Some("Nguyễn Văn A".into())))
        );
        assert_eq!(
            parse_name_addr("sip:alice@127.0.0.1;tag=9"),
            Some(("alice".into(), None))
        );
        assert_eq!(
            parse_name_addr("<tel:+84912345678>"),
            Some(("+84912345678".into(), None))
        );
        // Terminal controls from the wire never leave the parser raw.
        assert_eq!(
            parse_name_addr("\"Evil\x1b]0;x\x07\" <sip:0912555002\x1b[31m@pbx>;tag=1"),
            Some((
                "0912555002\u{fffd}[31m".into(),
                Some("Evil\u{fffd}]0;x\u{fffd}".into())
            ))
        );
    }

    #[test]
    fn dtmf_and_sipfrag_bodies() {
        assert_eq!(parse_dtmf_relay("Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(parse_dtmf_relay("nothing"), None);
        assert_eq!(parse_sipfrag("SIP/2.0 180 Ringing\r\n"), Some(180));
        assert_eq!(parse_sipfrag("garbage"), None);
    }

    #[test]
    pub(super) fn redact_hides_digest() {
        assert_eq!(
            redact("failed: Authorization: Digest username=\"a\", response=\"x\""),
            "failed: <redacted>"
        );
    }
}
