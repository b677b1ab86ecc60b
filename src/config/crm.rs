//! The `[crm]` section: where the popup asks about a caller. The plain
//! settings and the checks that need no token live here, below every
//! feature, so `config/` need not import `crm` (tests/layers.rs); the HTTP
//! client and the lookups stay in `crm.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[crm]` config section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmConfig {
    /// URL template; `{number}` is replaced by the caller's number
    /// (percent-encoded).
    pub url: String,
    /// Extra request headers (not secret: they may be logged).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The environment variable that holds the bearer token.
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// A file (mode 600) that holds the bearer token, when the variable is unset.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub number_format: NumberFormat,
    #[serde(default)]
    pub mapping: CrmMapping,
}

pub(crate) fn default_token_env() -> String {
    "TONGDAI_CRM_TOKEN".into()
}

fn default_timeout_ms() -> u64 {
    1500
}

/// How `{number}` is written into the URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberFormat {
    /// `0912345678` (Vietnamese numbers; others as normalised).
    #[default]
    National,
    /// `+84912345678`.
    E164,
    /// Exactly as the engine gave it.
    AsDialled,
}

/// JSON pointers from the response to the popup fields; an empty pointer
/// leaves the field out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrmMapping {
    pub name: String,
    pub company: String,
    pub tags: String,
    pub notes: String,
}

impl Default for CrmMapping {
    fn default() -> Self {
        CrmMapping {
            name: "/name".into(),
            company: "/company".into(),
            tags: "/tags".into(),
            notes: "/notes".into(),
        }
    }
}

impl CrmConfig {
    /// The URL, mapping and header checks, which need no token: `tongdai
    /// config` runs them, and so does [`crate::crm::Crm`] when it starts.
    /// `Err`: what is wrong, for "bad [crm] configuration: …".
    pub fn check(&self) -> Result<(), String> {
        if !self.url.starts_with("http://") && !self.url.starts_with("https://") {
            return Err(format!(
                "url {:?} must start with http:// or https://",
                self.url
            ));
        }
        if !self.url.contains("{number}") {
            return Err(format!("url {:?} has no {{number}} placeholder", self.url));
        }
        for (what, p) in [
            ("name", &self.mapping.name),
            ("company", &self.mapping.company),
            ("tags", &self.mapping.tags),
            ("notes", &self.mapping.notes),
        ] {
            if !p.is_empty() && !p.starts_with('/') {
                return Err(format!(
                    "mapping.{what} = {p:?} is not a JSON pointer (it starts with `/`, e.g. \"/data/0/{what}\")"
                ));
            }
        }
        self.header_map().map(|_| ())
    }

    /// The plain `headers`, checked as HTTP header names and values.
    pub fn header_map(&self) -> Result<reqwest::header::HeaderMap, String> {
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &self.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("header name {k:?} is not valid"))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| format!("header {k:?} has a value that is not valid"))?;
            headers.insert(name, value);
        }
        Ok(headers)
    }
}
