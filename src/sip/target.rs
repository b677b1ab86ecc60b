//! What may be dialled: the one check every entry point shares (the dial
//! line, a history call-back, a transfer target, the control socket's
//! `call` / `transfer`, and the softphone core itself).
//!
//! A dialled text ends up in the Request-Line and the To header of an
//! INVITE, or in a Refer-To header. Anything that could end a header line
//! or add one is refused here, with a reason the agent can read:
//! - control characters anywhere (CR, LF, NUL, ESC, any C0, DEL, C1);
//! - whitespace inside a `sip:` URI (it would split the Request-Line);
//! - URI headers (`?X=…`, RFC 3261 §19.1.1): a dialled target never needs
//!   them, and they become real headers in the request a proxy or a
//!   REFER target builds from the URI;
//! - anything that is not a SIP URI per the RFC 3261 §25.1 grammar, a
//!   `tel:` number (RFC 3966) or a plain number.
//!
//! Pure text checks: no I/O, no allocation beyond the normalised result.

/// A target that passed the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Digits, `*`, `#`, a leading `+`; visual separators (` -.()`) and a
    /// `tel:` prefix with its parameters removed.
    Number(String),
    /// A `sip:` / `sips:` URI, as written (trimmed).
    Uri(String),
}

impl Target {
    pub fn text(&self) -> &str {
        match self {
            Target::Number(s) | Target::Uri(s) => s,
        }
    }
}

/// Why a text cannot be dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetError {
    /// Nothing (or only separators) to dial.
    Empty,
    /// A control character (CR, LF, NUL, ESC, …): shown as its code point,
    /// never printed raw.
    Control(char),
    /// A number holds a character other than 0-9 * # + and separators.
    BadChar(char),
    /// `+` after the first digit.
    PlusNotFirst,
    /// A `sip:` URI that breaks the grammar.
    Uri(UriError),
}

/// What is wrong with a `sip:` / `sips:` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriError {
    /// Nothing after `sip:`.
    Empty,
    /// A space or tab inside the URI.
    Whitespace,
    /// URI headers (`?…`): refused, they would add headers to our request.
    Headers,
    /// `user:password@`: a password in a dialled address (RFC 3261 §19.1.1
    /// calls it a security risk).
    Password,
    /// A character the user part may not hold.
    UserChar(char),
    /// `%` not followed by two hex digits, or an escaped control character.
    Escape,
    /// No host after the `@`.
    NoHost,
    /// The host is not a host name, an IPv4 address or a bracketed IPv6 one.
    Host,
    /// The port is not 1-65535.
    Port,
    /// A character a `;parameter` may not hold.
    ParamChar(char),
    /// A character outside printable ASCII.
    NotAscii(char),
}

/// Check and normalise a dialled text.
pub fn parse(input: &str) -> Result<Target, TargetError> {
    // Control characters are refused before anything is trimmed: a
    // trailing CR/LF is as suspect as one in the middle.
    if let Some(c) = input.chars().find(|c| c.is_control()) {
        return Err(TargetError::Control(c));
    }
    let t = input.trim();
    let lower = t.get(..5).unwrap_or(t).to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") {
        check_sip_uri(t).map_err(TargetError::Uri)?;
        return Ok(Target::Uri(t.to_string()));
    }
    let number = if lower.starts_with("tel:") {
        // RFC 3966 parameters (`;phone-context=…`) are dropped.
        t[4..].split(';').next().unwrap_or("")
    } else {
        t
    };
    let mut out = String::new();
    for c in number.chars() {
        match c {
            ' ' | '-' | '.' | '(' | ')' => {}
            '0'..='9' | '*' | '#' => out.push(c),
            '+' if out.is_empty() => out.push(c),
            '+' => return Err(TargetError::PlusNotFirst),
            other => return Err(TargetError::BadChar(other)),
        }
    }
    if out.is_empty() {
        return Err(TargetError::Empty);
    }
    Ok(Target::Number(out))
}

/// What a plain number is, by the console's lengths: a customer's has 8
/// to 13 digits and no `*` / `#`; anything shorter, or a service code, is
/// a colleague's extension. The app's dial check (`classify_dial`) and the
/// call cores (which wording a failed call gets) share this one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Customer,
    Extension,
    /// More than 13 digits (how many).
    TooLong(usize),
    /// A `+` number too short for a customer's, or with `*` / `#`.
    ShortWithPlus,
}

/// The kind of a [`Target::Number`]'s text.
pub fn number_kind(n: &str) -> NumberKind {
    let digits = n.chars().filter(char::is_ascii_digit).count();
    let service = n.contains(['*', '#']);
    if digits > 13 {
        return NumberKind::TooLong(digits);
    }
    if n.starts_with('+') {
        return if (8..=13).contains(&digits) && !service {
            NumberKind::Customer
        } else {
            NumberKind::ShortWithPlus
        };
    }
    if digits >= 8 && !service {
        NumberKind::Customer
    } else {
        NumberKind::Extension
    }
}

/// A dialled text that names a colleague's extension (not a `sip:` URI,
/// not a customer's number): a failed call to it is worded as an internal
/// call ("Internal call to 1001: …").
pub fn is_extension(input: &str) -> bool {
    matches!(parse(input), Ok(Target::Number(n)) if number_kind(&n) == NumberKind::Extension)
}

/// A last check right before a text goes on the wire (the UA's defence in
/// depth): nothing that could end or split a header line.
pub fn wire_safe(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"'))
}

/// `sip:` / `sips:` URI per RFC 3261 §25.1, without URI headers.
pub fn check_sip_uri(uri: &str) -> Result<(), UriError> {
    let rest = match uri.find(':') {
        Some(i) => &uri[i + 1..],
        None => return Err(UriError::Empty),
    };
    if rest.is_empty() {
        return Err(UriError::Empty);
    }
    if let Some(c) = rest.chars().find(|c| !c.is_ascii()) {
        return Err(UriError::NotAscii(c));
    }
    if rest.contains([' ', '\t']) {
        return Err(UriError::Whitespace);
    }
    if rest.contains('?') {
        return Err(UriError::Headers);
    }
    check_escapes(rest)?;
    // The user part ends at the last `@` (a user may not hold `@`, so a
    // second one is caught as a bad user character).
    let (user, hostpart) = match rest.rfind('@') {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    if let Some(user) = user {
        if user.is_empty() {
            return Err(UriError::UserChar('@'));
        }
        if user.contains(':') {
            return Err(UriError::Password);
        }
        if let Some(c) = user.chars().find(|&c| !user_char(c)) {
            return Err(UriError::UserChar(c));
        }
    }
    let (hostport, params) = match hostpart.split_once(';') {
        Some((h, p)) => (h, Some(p)),
        None => (hostpart, None),
    };
    check_hostport(hostport)?;
    for p in params.into_iter().flat_map(|p| p.split(';')) {
        if p.is_empty() {
            return Err(UriError::ParamChar(';'));
        }
        let (name, value) = p.split_once('=').unwrap_or((p, "x"));
        if name.is_empty() || value.is_empty() {
            return Err(UriError::ParamChar('='));
        }
        if let Some(c) = name.chars().chain(value.chars()).find(|&c| !param_char(c)) {
            return Err(UriError::ParamChar(c));
        }
    }
    Ok(())
}

/// `unreserved` (alphanum / mark) of RFC 3261 §25.1.
fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '!' | '~' | '*' | '\'' | '(' | ')')
}

/// `user = 1*( unreserved / escaped / user-unreserved )`; `?` is left out
/// on purpose (see the module comment).
fn user_char(c: char) -> bool {
    unreserved(c) || matches!(c, '%' | '&' | '=' | '+' | '$' | ',' | ';' | '/')
}

/// `paramchar = param-unreserved / unreserved / escaped`.
fn param_char(c: char) -> bool {
    unreserved(c) || matches!(c, '%' | '[' | ']' | '/' | ':' | '&' | '+' | '$')
}

/// Every `%` starts `%HH`, and never encodes a control character (a
/// decoded `%0D%0A` is the same injection one step later).
fn check_escapes(s: &str) -> Result<(), UriError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            match byte {
                Some(v) if v >= 0x20 && v != 0x7f => i += 3,
                _ => return Err(UriError::Escape),
            }
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// `hostport = host [ ":" port ]`.
fn check_hostport(hp: &str) -> Result<(), UriError> {
    if hp.is_empty() {
        return Err(UriError::NoHost);
    }
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        let end = rest.find(']').ok_or(UriError::Host)?;
        let v6 = &rest[..end];
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UriError::Host);
        }
        match &rest[end + 1..] {
            "" => (hp, None),
            p => (hp, Some(p.strip_prefix(':').ok_or(UriError::Host)?)),
        }
    } else {
        match hp.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        }
    };
    if !host.starts_with('[') && !hostname_or_ipv4(host) {
        return Err(UriError::Host);
    }
    if let Some(p) = port {
        let ok = !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n));
        if !ok {
            return Err(UriError::Port);
        }
    }
    Ok(())
}

/// `hostname = *( domainlabel "." ) toplabel [ "." ]`, or an IPv4 address
/// (which the label grammar also accepts).
fn hostname_or_ipv4(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.is_empty() || h.len() > 253 {
        return false;
    }
    h.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri_err(s: &str) -> UriError {
        match parse(s) {
            Err(TargetError::Uri(e)) => e,
            other => panic!("{s:?}: {other:?}"),
        }
    }

    #[test]
    fn the_injections_of_issue_15_are_refused() {
        for (text, want) in [
            (
                "sip:evil@host\r\nX-Injected: yes",
                TargetError::Control('\r'),
            ),
            (
                "sip:a@b>;tag=1\r\nVia: SIP/2.0/UDP 6.6.6.6",
                TargetError::Control('\r'),
            ),
            ("sip:a@b\r\n\r\nBODY", TargetError::Control('\r')),
            ("sip:a@b\n", TargetError::Control('\n')),
            ("0912\u{1b}[31m345678", TargetError::Control('\u{1b}')),
            ("sip:a\0@b", TargetError::Control('\0')),
            ("sip:a@b\u{7f}", TargetError::Control('\u{7f}')),
            ("sip:a@b\u{85}", TargetError::Control('\u{85}')),
            ("sip:a@b c", TargetError::Uri(UriError::Whitespace)),
            ("sip:a@b\tc", TargetError::Control('\t')),
            (
                "sip:a@b?X-Injected=yes",
                TargetError::Uri(UriError::Headers),
            ),
            (
                "sip:a@b;transport=udp?Via=x",
                TargetError::Uri(UriError::Headers),
            ),
        ] {
            assert_eq!(parse(text), Err(want), "{text:?}");
        }
    }

    #[test]
    fn good_uris_and_numbers_pass() {
        for ok in [
            "sip:1001@pbx.example.com",
            "SIP:bob@Example.COM:5060",
            "sips:alice@10.0.0.1:5061;transport=tls",
            "sip:pbx.example.com",
            "sip:0912345678@pbx;user=phone",
            "sip:%2B84912345678@pbx",
            "sip:a.b-c_d!~*'()&=+$,;/@[2001:db8::1]:5070;lr;maddr=10.0.0.1",
            "sip:alice@example.com.",
        ] {
            assert_eq!(parse(ok), Ok(Target::Uri(ok.to_string())), "{ok}");
        }
        assert_eq!(
            parse(" tel:+84-912-345-678;phone-context=x "),
            Ok(Target::Number("+84912345678".into()))
        );
        assert_eq!(
            parse("(091) 234.5678"),
            Ok(Target::Number("0912345678".into()))
        );
        assert_eq!(parse("*97#"), Ok(Target::Number("*97#".into())));
    }

    #[test]
    fn each_uri_fault_has_its_reason() {
        assert_eq!(uri_err("sip:"), UriError::Empty);
        assert_eq!(uri_err("sip:a:secret@host"), UriError::Password);
        assert_eq!(uri_err("sip:@host"), UriError::UserChar('@'));
        assert_eq!(uri_err("sip:a@b@host"), UriError::UserChar('@'));
        assert_eq!(uri_err("sip:a<b@host"), UriError::UserChar('<'));
        assert_eq!(uri_err("sip:a\"@host"), UriError::UserChar('"'));
        assert_eq!(uri_err("sip:a@"), UriError::NoHost);
        assert_eq!(uri_err("sip:a@ho_st"), UriError::Host);
        assert_eq!(uri_err("sip:a@-host"), UriError::Host);
        assert_eq!(uri_err("sip:a@host>"), UriError::Host);
        assert_eq!(uri_err("sip:a@[::1"), UriError::Host);
        assert_eq!(uri_err("sip:a@[zz::1]"), UriError::Host);
        assert_eq!(uri_err("sip:a@host:0"), UriError::Port);
        assert_eq!(uri_err("sip:a@host:65536"), UriError::Port);
        assert_eq!(uri_err("sip:a@host:"), UriError::Port);
        assert_eq!(uri_err("sip:a@host;x<y"), UriError::ParamChar('<'));
        assert_eq!(uri_err("sip:a@host;"), UriError::ParamChar(';'));
        assert_eq!(uri_err("sip:a%0d%0aVia@host"), UriError::Escape);
        assert_eq!(uri_err("sip:a%0@host"), UriError::Escape);
        assert_eq!(uri_err("sip:a%zz@host"), UriError::Escape);
        assert_eq!(uri_err("sip:nguyễn@host"), UriError::NotAscii('ễ'));
    }

    #[test]
    fn numbers_keep_their_old_rules() {
        assert_eq!(parse(""), Err(TargetError::Empty));
        assert_eq!(parse(" - "), Err(TargetError::Empty));
        assert_eq!(parse("tel:"), Err(TargetError::Empty));
        assert_eq!(parse("09x1"), Err(TargetError::BadChar('x')));
        assert_eq!(parse("1+2"), Err(TargetError::PlusNotFirst));
        assert_eq!(parse("alice"), Err(TargetError::BadChar('a')));
    }

    #[test]
    fn wire_safe_refuses_what_splits_a_header() {
        assert!(wire_safe("sip:a@b"));
        assert!(wire_safe("0912345678"));
        for bad in [
            "", "a b", "a\r\nb", "a\nb", "a>b", "a<b", "a\"b", "a\tb", "é",
        ] {
            assert!(!wire_safe(bad), "{bad:?}");
        }
    }
}
