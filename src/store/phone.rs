//! Phone numbers as the agent, the CSV file and the platform write them,
//! reduced to one key so that `+84 912 345 678`, `84912345678` and
//! `0912.345.678` find the same contact and the same history.
//!
//! Vietnamese numbers are kept in E.164 (`+84…`); numbers that do not look
//! Vietnamese national or international (extensions like `1002`, hotlines
//! like `19001234`, short codes) are kept as their digits.

/// Why a text is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the number is empty")]
    Empty,
    #[error(
        "{0:?} is not a phone number (only digits, spaces, `+`, `.`, `-`, `(`, `)` are allowed)"
    )]
    BadCharacter(String),
    #[error("{0:?} is not a phone number (3 to 15 digits expected)")]
    BadLength(String),
}

/// Normalise a phone number to its lookup key.
///
/// ```
/// use tongdai::store::normalize_phone;
/// assert_eq!(normalize_phone("0912 345 678").unwrap(), "+84912345678");
/// assert_eq!(normalize_phone("+84 912-345-678").unwrap(), "+84912345678");
/// assert_eq!(normalize_phone("84912345678").unwrap(), "+84912345678");
/// assert_eq!(normalize_phone("1002").unwrap(), "1002");
/// ```
pub fn normalize_phone(text: &str) -> Result<String, PhoneError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let mut plus = false;
    let mut digits = String::with_capacity(trimmed.len());
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '.' | '-' | '(' | ')' | '\u{a0}' => {}
            _ => return Err(PhoneError::BadCharacter(trimmed.to_string())),
        }
    }
    if !(3..=15).contains(&digits.len()) {
        // `00` international prefix plus 15 digits is still fine.
        if !(digits.starts_with("00") && digits.len() <= 17 && digits.len() > 5) {
            return Err(PhoneError::BadLength(trimmed.to_string()));
        }
    }
    let international = if plus {
        Some(digits.as_str())
    } else if let Some(rest) = digits.strip_prefix("00") {
        Some(rest)
    } else if digits.starts_with("84") && (11..=12).contains(&digits.len()) {
        Some(digits.as_str())
    } else {
        None
    };
    if let Some(intl) = international {
        // `+84 0912…`: people write the trunk zero after the country code.
        if let Some(rest) = intl.strip_prefix("840") {
            return Ok(format!("+84{rest}"));
        }
        if intl.len() < 3 {
            return Err(PhoneError::BadLength(trimmed.to_string()));
        }
        return Ok(format!("+{intl}"));
    }
    if let Some(rest) = digits.strip_prefix('0')
        && (9..=10).contains(&rest.len())
    {
        return Ok(format!("+84{rest}"));
    }
    Ok(digits)
}

/// The key for a number from the engine or a history row: normalised when
/// it is a phone number, else the text itself (a SIP URI, a name).
pub fn phone_key(text: &str) -> String {
    normalize_phone(text).unwrap_or_else(|_| text.trim().to_string())
}

/// The national form of a normalised Vietnamese number (`+84912…` →
/// `0912…`); anything else unchanged. What agents and most local CRMs use.
pub fn national(normalized: &str) -> String {
    match normalized.strip_prefix("+84") {
        Some(rest) => format!("0{rest}"),
        None => normalized.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_forms_are_one_number() {
        for t in [
            "0912345678",
            "+84912345678",
            "84912345678",
            "0084912345678",
            "+84 0912 345 678",
            "(091) 234-5678",
            "0912.345.678",
        ] {
            assert_eq!(normalize_phone(t).unwrap(), "+84912345678", "{t}");
        }
        // 11-digit landlines (02x…).
        assert_eq!(normalize_phone("02838123456").unwrap(), "+842838123456");
        assert_eq!(normalize_phone("842838123456").unwrap(), "+842838123456");
    }

    #[test]
    fn other_numbers_keep_their_digits() {
        assert_eq!(normalize_phone("1002").unwrap(), "1002");
        assert_eq!(normalize_phone("19001234").unwrap(), "19001234");
        assert_eq!(normalize_phone("+1 415 555 0100").unwrap(), "+14155550100");
        assert_eq!(normalize_phone("8412").unwrap(), "8412");
    }

    #[test]
    fn junk_is_refused() {
        assert!(matches!(normalize_phone(""), Err(PhoneError::Empty)));
        assert!(matches!(
            normalize_phone("abc"),
            Err(PhoneError::BadCharacter(_))
        ));
        assert!(matches!(
            normalize_phone("09+12"),
            Err(PhoneError::BadCharacter(_))
        ));
        assert!(matches!(
            normalize_phone("12"),
            Err(PhoneError::BadLength(_))
        ));
        assert!(matches!(
            normalize_phone("1234567890123456"),
            Err(PhoneError::BadLength(_))
        ));
    }

    #[test]
    fn national_form() {
        assert_eq!(national("+84912345678"), "0912345678");
        assert_eq!(national("1002"), "1002");
    }
}
