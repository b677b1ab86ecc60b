//! Optional customer lookup over HTTP for the popup.
//!
//! The popup shows local data (contacts, history) at once; a configured CRM
//! is asked in the background and its fields fill in when they arrive, or
//! the popup says "CRM unavailable" with the typed [`CrmError`].
//!
//! ```toml
//! [crm]
//! url = "https://crm.example/customers?phone={number}"
//! timeout_ms = 1500                      # default
//! number_format = "national"             # national (0912…) | e164 (+84912…) | as_dialled
//! token_env = "TONGDAI_CRM_TOKEN"        # default; or token_file = "~/.config/tongdai/crm-token" (mode 600)
//! headers = { "X-Tenant" = "acme" }      # plain, non-secret headers
//! [crm.mapping]                          # JSON pointers (RFC 6901) into the response
//! name = "/data/0/full_name"
//! company = "/data/0/company/name"
//! tags = "/data/0/labels"                # an array of strings, or one "a, b" string
//! notes = "/data/0/notes"
//! ```
//!
//! The token goes out as `Authorization: Bearer …`, marked sensitive; it is a
//! [`Secret`], so it is in no `Debug` output, log line or error text.
//! Answers (found or not found) are cached in memory for the shift; errors
//! are not, so the next call asks again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

pub use crate::config::crm::{CrmConfig, CrmMapping, NumberFormat};
use crate::secret::{Secret, SecretError};
use crate::store::{national, phone_key};

/// What the CRM knows about a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CrmRecord {
    pub name: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
}

/// Why a lookup gave nothing. The popup says "CRM unavailable" and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    #[error("CRM: bad [crm] configuration: {0}")]
    Config(String),
    /// The token file is unreadable or too open (the message has the fix).
    #[error("CRM token: {0}")]
    Token(String),
    #[error("CRM unavailable: no answer within {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    #[error("CRM unavailable: HTTP {status}")]
    Status { status: u16 },
    #[error("CRM unavailable: the answer is not the JSON expected ({detail})")]
    MalformedJson { detail: String },
    #[error("CRM unavailable: {detail}")]
    Unreachable { detail: String },
}

/// The largest answer read (a customer record, not a data dump).
const MAX_BODY: usize = 1 << 20;

/// A CRM client with its shift cache. Share it behind an `Arc`.
pub struct Crm {
    cfg: CrmConfig,
    token: Option<Secret>,
    client: reqwest::Client,
    cache: Mutex<HashMap<String, Option<CrmRecord>>>,
}

impl std::fmt::Debug for Crm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crm")
            .field("url", &self.cfg.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout_ms", &self.cfg.timeout_ms)
            .finish_non_exhaustive()
    }
}

impl Crm {
    /// Build from config, reading the token from `token_env` or
    /// `token_file` (no token is fine: no `Authorization` header).
    pub fn new(cfg: CrmConfig) -> Result<Crm, CrmError> {
        let token = match crate::secret::resolve(
            "the CRM token",
            &cfg.token_env,
            "crm.token_file",
            cfg.token_file.as_deref(),
        ) {
            Ok(t) => Some(t),
            Err(SecretError::Missing { .. }) => None,
            Err(e) => return Err(CrmError::Token(e.to_string())),
        };
        Crm::with_token(cfg, token)
    }

    /// Build with a token already resolved.
    pub fn with_token(cfg: CrmConfig, token: Option<Secret>) -> Result<Crm, CrmError> {
        cfg.check().map_err(CrmError::Config)?;
        let mut headers = cfg.header_map().map_err(CrmError::Config)?;
        if let Some(t) = &token {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", t.expose())).map_err(
                    |_| CrmError::Config("the token has characters not allowed in a header".into()),
                )?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // ring and aws-lc-rs are both linked; reqwest needs one chosen.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms.max(1)))
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| {
                CrmError::Config(format!("cannot start the HTTP client: {}", e.without_url()))
            })?;
        Ok(Crm {
            cfg,
            token,
            client,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &CrmConfig {
        &self.cfg
    }

    /// The cached answer for this number, if it was looked up this shift.
    pub fn cached(&self, number: &str) -> Option<Option<CrmRecord>> {
        let key = phone_key(number);
        self.cache.lock().ok()?.get(&key).cloned()
    }

    /// Forget the shift's answers.
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// The URL asked for this number.
    pub fn url_for(&self, number: &str) -> String {
        let key = phone_key(number);
        let n = match self.cfg.number_format {
            NumberFormat::National => national(&key),
            NumberFormat::E164 => key,
            NumberFormat::AsDialled => number.trim().to_string(),
        };
        self.cfg.url.replace("{number}", &percent_encode(&n))
    }

    /// Ask the CRM about `number`. `Ok(None)`: the CRM does not know it
    /// (HTTP 404, `null`, `[]`, or none of the mapped fields present).
    pub async fn lookup(&self, number: &str) -> Result<Option<CrmRecord>, CrmError> {
        if let Some(hit) = self.cached(number) {
            return Ok(hit);
        }
        let result = self.fetch(number).await?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(phone_key(number), result.clone());
        }
        Ok(result)
    }

    async fn fetch(&self, number: &str) -> Result<Option<CrmRecord>, CrmError> {
        let timeout_ms = self.cfg.timeout_ms;
        let http = |e: reqwest::Error| {
            if e.is_timeout() {
                CrmError::Timeout { timeout_ms }
            } else {
                CrmError::Unreachable {
                    detail: error_chain(&e.without_url()),
                }
            }
        };
        let request = self
            .client
            .get(self.url_for(number))
            .header(reqwest::header::ACCEPT, "application/json");
        // reqwest's timeout covers the whole exchange; this one is the
        // backstop should a body trickle in.
        let deadline = Duration::from_millis(timeout_ms.max(1));
        let exchange = async {
            let mut resp = request.send().await.map_err(http)?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(CrmError::Status {
                    status: status.as_u16(),
                });
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(http)? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Err(CrmError::MalformedJson {
                        detail: format!("the answer is larger than {MAX_BODY} bytes"),
                    });
                }
            }
            Ok(Some(body))
        };
        let body = match tokio::time::timeout(deadline, exchange).await {
            Ok(r) => r?,
            Err(_) => return Err(CrmError::Timeout { timeout_ms }),
        };
        match body {
            Some(body) => self.map(&body),
            None => Ok(None),
        }
    }

    /// Map a response body to a record (public for tests of a mapping).
    pub fn map(&self, body: &[u8]) -> Result<Option<CrmRecord>, CrmError> {
        let doc: Value = serde_json::from_slice(body).map_err(|e| CrmError::MalformedJson {
            detail: e.to_string(),
        })?;
        if doc.is_null() || doc.as_array().is_some_and(Vec::is_empty) {
            return Ok(None);
        }
        let m = &self.cfg.mapping;
        let field =
            |p: &str| -> Option<&Value> { if p.is_empty() { None } else { doc.pointer(p) } };
        let record = CrmRecord {
            name: field(&m.name).and_then(text),
            company: field(&m.company).and_then(text),
            tags: field(&m.tags).map(tag_list).unwrap_or_default(),
            notes: field(&m.notes).and_then(text),
        };
        if record == CrmRecord::default() {
            // A 200 that names none of the fields: "not found" in the body
            // (a mapping that does not fit this CRM looks the same; the
            // `tongdai doctor` check is the place to tell them apart).
            return Ok(None);
        }
        Ok(Some(record))
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(text).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Object(_) => None,
    }
}

fn tag_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        Value::String(s) => s
            .split([',', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        other => text(other).into_iter().collect(),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An error and its causes in one line (reqwest's top level alone says
/// only "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::crm::default_token_env;

    fn crm(mapping: CrmMapping) -> Crm {
        Crm::with_token(
            CrmConfig {
                url: "http://127.0.0.1:9/c?phone={number}".into(),
                headers: BTreeMap::new(),
                token_env: default_token_env(),
                token_file: None,
                timeout_ms: 1500,
                number_format: NumberFormat::National,
                mapping,
            },
            None,
        )
        .expect("crm")
    }

    #[test]
    fn url_encodes_the_number_in_the_chosen_form() {
        let c = crm(CrmMapping::default());
        assert_eq!(
            c.url_for("+84 912 345 678"),
            "http://127.0.0.1:9/c?phone=0912345678"
        );
        let mut cfg = c.config().clone();
        cfg.number_format = NumberFormat::E164;
        let c = Crm::with_token(cfg, None).expect("crm");
        assert_eq!(
            c.url_for("0912345678"),
            "http://127.0.0.1:9/c?phone=%2B84912345678"
        );
    }

    #[test]
    fn mapping_reads_strings_numbers_and_tag_lists() {
        let c = crm(CrmMapping {
            name: "/0/n".into(),
            company: "/0/org/name".into(),
            tags: "/0/labels".into(),
            notes: String::new(),
        });
        let r = c
            .map(br#"[{"n":"Chi Lan","org":{"name":"ACME"},"labels":"vip, slow payer"}]"#)
            .expect("ok")
            .expect("found");
        assert_eq!(r.name.as_deref(), Some("Chi Lan"));
        assert_eq!(r.company.as_deref(), Some("ACME"));
        assert_eq!(r.tags, vec!["vip", "slow payer"]);
        assert_eq!(r.notes, None);
        assert_eq!(c.map(b"[]").expect("ok"), None);
        assert_eq!(c.map(b"null").expect("ok"), None);
    }

    #[test]
    fn config_section_rejects_unknown_keys() {
        let e = toml::from_str::<CrmConfig>("url = \"http://x/{number}\"\ntoken = \"abc\"\n")
            .expect_err("unknown field");
        assert!(e.to_string().contains("unknown field `token`"), "{e}");
        let c: CrmConfig = toml::from_str("url = \"http://x/{number}\"\n").expect("minimal");
        assert_eq!(c.timeout_ms, 1500);
        assert_eq!(c.mapping, CrmMapping::default());
    }
}
