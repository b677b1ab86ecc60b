//! The VCC token (VCC-PROTOCOL.md §1.1): a JWT, HS256, signed with the
//! domain's access key, payload `{"ipphone", "expired": "YYYY-MM-DD HH:MM:SS"}`.
//!
//! `expired` is written in the platform's local time (`utc_offset`, +07:00
//! by default) without a zone, as the SDK's `login.php` does. The token is a
//! [`Secret`]: it never reaches a log.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::vcc::{VccConfig, VccConfigError};
use crate::secret::{Secret, SecretError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub ipphone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("the token cannot be signed: {0}")]
    Sign(String),
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the token expired at {0}")]
    Expired(String),
    #[error("the token's `expired` is not YYYY-MM-DD HH:MM:SS: {0:?}")]
    BadExpired(String),
}

/// Why `tongdai token` could not print a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Config(#[from] VccConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Jwt(#[from] JwtError),
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds → `YYYY-MM-DD HH:MM:SS` at `offset_min` east of UTC.
pub fn format_expired(unix: i64, offset_min: i32) -> String {
    let local = unix + i64::from(offset_min) * 60;
    let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `YYYY-MM-DD HH:MM:SS` (local at `offset_min`) → unix seconds.
pub fn parse_expired(text: &str, offset_min: i32) -> Option<i64> {
    let (date, time) = text.trim().split_once(' ')?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let mut tp = time.split(':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let s: i64 = tp.next().unwrap_or("0").parse().ok()?;
    if dp.next().is_some()
        || tp.next().is_some()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..61).contains(&s)
    {
        return None;
    }
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    Some(local - i64::from(offset_min) * 60)
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Sign a token for `ipphone`, valid until `now + lifetime` (no `expired`
/// claim when `lifetime` is `None`: the server applies its default).
pub fn mint(
    key: &Secret,
    ipphone: &str,
    now: SystemTime,
    lifetime: Option<Duration>,
    offset_min: i32,
) -> Result<Secret, JwtError> {
    let claims = Claims {
        ipphone: ipphone.to_string(),
        expired: lifetime.map(|l| format_expired(unix(now + l), offset_min)),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.expose().as_bytes()),
    )
    .map(Secret::new)
    .map_err(|e| JwtError::Sign(e.to_string()))
}

/// Check a token's signature and `expired` (the switchboard's side).
pub fn verify(
    key: &Secret,
    token: &str,
    now: SystemTime,
    offset_min: i32,
) -> Result<Claims, JwtError> {
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(key.expose().as_bytes()),
        &v,
    )
    .map_err(|e| JwtError::Invalid(e.to_string()))?;
    if let Some(exp) = &data.claims.expired {
        let at = parse_expired(exp, offset_min).ok_or_else(|| JwtError::BadExpired(exp.clone()))?;
        if at <= unix(now) {
            return Err(JwtError::Expired(exp.clone()));
        }
    }
    Ok(data.claims)
}

/// `tongdai token`: a fresh token for the configured agent, like the SDK's
/// `login.php`. The caller prints `expose()` on stdout and nothing else.
pub fn token_command(cfg: &VccConfig, now: SystemTime) -> Result<Secret, TokenError> {
    cfg.validate()?;
    let key = cfg.access_key()?;
    Ok(mint(
        &key,
        &cfg.ipphone,
        now,
        Some(cfg.token_lifetime()),
        cfg.utc_offset_minutes()?,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VN: i32 = 420;

    #[test]
    fn expired_is_local_wall_clock() {
        // 2024-02-29 17:00:00 UTC = 2024-03-01 00:00:00 in Hanoi.
        let t = days_from_civil(2024, 2, 29) * 86_400 + 17 * 3600;
        assert_eq!(format_expired(t, VN), "2024-03-01 00:00:00");
        assert_eq!(parse_expired("2024-03-01 00:00:00", VN), Some(t));
        assert_eq!(format_expired(0, 0), "1970-01-01 00:00:00");
        assert_eq!(format_expired(951_782_400, 0), "2000-02-29 00:00:00");
        for t in [0i64, 1_700_000_000, 4_102_444_799, -86_400 * 365] {
            assert_eq!(parse_expired(&format_expired(t, VN), VN), Some(t));
        }
        assert_eq!(parse_expired("2024-13-01 00:00:00", 0), None);
        assert_eq!(parse_expired("2024-01-01T00:00:00", 0), None);
    }

    #[test]
    fn mint_and_verify() {
        let key = Secret::new("k3y");
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let tok = mint(&key, "1001", now, Some(Duration::from_secs(3600)), VN).unwrap();
        let c = verify(&key, tok.expose(), now, VN).unwrap();
        assert_eq!(c.ipphone, "1001");
        assert_eq!(c.expired.as_deref(), Some("2023-11-15 06:13:20"));
        // The payload is exactly {ipphone, expired}.
        let payload = tok.expose().split('.').nth(1).unwrap().to_string();
        assert!(!payload.is_empty());
        assert!(matches!(
            verify(&Secret::new("other"), tok.expose(), now, VN),
            Err(JwtError::Invalid(_))
        ));
        let later = now + Duration::from_secs(3601);
        assert!(matches!(
            verify(&key, tok.expose(), later, VN),
            Err(JwtError::Expired(_))
        ));
        let no_exp = mint(&key, "1001", now, None, VN).unwrap();
        assert_eq!(
            verify(&key, no_exp.expose(), later, VN).unwrap().expired,
            None
        );
    }

    #[test]
    fn token_command_needs_the_key_and_never_shows_it() {
        let mut cfg = VccConfig::new("acme", "1001");
        cfg.access_key_file = Some("/nonexistent/tongdai-key".into());
        // The env var may be set by another test process: only check the file path error.
        if std::env::var(crate::config::vcc::ACCESS_KEY_ENV).is_err() {
            let e = token_command(&cfg, SystemTime::now()).unwrap_err();
            assert!(e.to_string().contains("/nonexistent/tongdai-key"), "{e}");
        }
    }
}
