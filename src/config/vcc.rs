//! The `[vcc]` section of the config: one VCC (CareSoft white-label) agent.
//!
//! Every URL, path and objectId is configurable, with the defaults of
//! `VCC-PROTOCOL.md`; the access key never lives in this file (it comes from
//! `TONGDAI_VCC_ACCESS_KEY` or an owner-only file, see [`crate::secret`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, SecretError};
use crate::vcc_wire::ObjectIds;

/// The environment variable that holds the domain's access key.
pub const ACCESS_KEY_ENV: &str = "TONGDAI_VCC_ACCESS_KEY";

/// Which web-embed SDK generation the platform runs (VCC-PROTOCOL.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    /// `init-3.0.7.js`: query-string discovery, client keepalive, reconnect.
    #[default]
    Older,
    /// The reseller copy: `Authorization` discovery, `token3C`, no
    /// client pings, device 1 forced when voice is enabled. Its web page
    /// reloads on a drop; a terminal console reconnects as for the older.
    Newer,
}

/// How `thirdParty/login` carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LoginBody {
    /// `{"token": "<jwt>"}`
    #[default]
    Json,
    /// `token=<jwt>` as a form field (the PHP demo).
    Form,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VccConfig {
    /// The tenant, e.g. `acme` (`/{domain}/thirdParty/login`).
    pub domain: String,
    /// The agent's extension (`ipphone` in the JWT).
    pub ipphone: String,
    #[serde(default)]
    pub generation: Generation,
    /// Scheme and host of the web app, no trailing slash.
    #[serde(default = "default_web_base")]
    pub web_base: String,
    /// `API_SERVER` for account discovery; defaults to `web_base` (unknown for VCC).
    #[serde(default)]
    pub api_base: Option<String>,
    /// `{domain}` is replaced. Empty: skip `thirdParty/login`.
    #[serde(default = "default_login_path")]
    pub login_path: String,
    #[serde(default)]
    pub login_body: LoginBody,
    /// Defaults by generation: `/api/login/check-partner` (older) or
    /// `/v1/api/calls/check-partner` (newer).
    #[serde(default)]
    pub check_partner_path: Option<String>,
    /// `wss` (default) or `ws`, for `{scheme}://{agent_server_url}{push_path}`.
    #[serde(default = "default_push_scheme")]
    pub push_scheme: String,
    #[serde(default = "default_push_path")]
    pub push_path: String,
    /// A full push URL that replaces the one built from discovery.
    #[serde(default)]
    pub push_url: Option<String>,
    /// How long a minted token is valid (`expired`), in seconds: a shift by default.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_s: u64,
    /// The platform's clock for `expired` (`YYYY-MM-DD HH:MM:SS`), e.g. `+07:00`.
    #[serde(default = "default_utc_offset")]
    pub utc_offset: String,
    /// A file (mode 600) with the access key; `TONGDAI_VCC_ACCESS_KEY` wins.
    #[serde(default)]
    pub access_key_file: Option<PathBuf>,
    /// Overrides `user.role` from discovery (decides the device handed back on exit).
    #[serde(default)]
    pub role: Option<u8>,
    /// Seconds between reconnect attempts.
    #[serde(default = "default_reconnect_interval")]
    pub reconnect_interval_s: u64,
    /// Attempts before giving up; default 20 (both generations).
    #[serde(default)]
    pub reconnect_max: Option<u32>,
    /// The older SDK pings after this many idle seconds.
    #[serde(default = "default_keepalive")]
    pub keepalive_idle_s: u64,
    /// Answer a transfer offer within this many seconds, else it is refused.
    #[serde(default = "default_transfer_offer")]
    pub transfer_offer_timeout_s: u64,
    /// How long the exit path waits for the device reset to be acknowledged.
    #[serde(default = "default_exit_wait")]
    pub exit_wait_ms: u64,
    /// HTTP timeout for login and discovery.
    #[serde(default = "default_http_timeout")]
    pub http_timeout_s: u64,
    #[serde(default)]
    pub object_ids: ObjectIds,
    /// The queues a call can be transferred to (the platform gives no
    /// list): `queues = [{ id = "q-sales", name = "Sales" }]`.
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    /// ICE for the device-1 voice leg's WebRTC media, as in `[sip]`: the
    /// platform's web embed uses none, but an agent behind a strict NAT or
    /// firewall needs a TURN relay (`turn:host:port`, `turn_user`, the
    /// password from `TONGDAI_TURN_PASSWORD` or `turn_password_file`, mode
    /// 600; `ice_policy = "relay"` to use the relay only).
    #[serde(default)]
    pub stun_servers: Vec<String>,
    #[serde(default)]
    pub turn_servers: Vec<String>,
    #[serde(default)]
    pub turn_user: Option<String>,
    #[serde(default)]
    pub turn_password_file: Option<PathBuf>,
    #[serde(default)]
    pub ice_policy: super::ice::IcePolicy,
}

/// One transfer queue: the platform's `acdId` and the name agents read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub id: String,
    pub name: String,
}

fn default_web_base() -> String {
    "https://web.vcc-vinaphone.com.vn".into()
}
fn default_login_path() -> String {
    "/{domain}/thirdParty/login".into()
}
fn default_push_scheme() -> String {
    "wss".into()
}
fn default_push_path() -> String {
    "/websocket".into()
}
fn default_token_lifetime() -> u64 {
    12 * 3600
}
fn default_utc_offset() -> String {
    "+07:00".into()
}
fn default_reconnect_interval() -> u64 {
    10
}
fn default_keepalive() -> u64 {
    10
}
fn default_transfer_offer() -> u64 {
    10
}
fn default_exit_wait() -> u64 {
    1500
}
fn default_http_timeout() -> u64 {
    10
}

/// A `[vcc]` value the code cannot use, with what to write instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VccConfigError {
    #[error("vcc.utc_offset = {0:?}: write it as +HH:MM or -HH:MM, e.g. \"+07:00\"")]
    UtcOffset(String),
    #[error("vcc.push_scheme = {0:?}: use \"wss\" or \"ws\"")]
    PushScheme(String),
    #[error("vcc.{field} is empty")]
    Empty { field: &'static str },
    #[error("vcc.queues: queue {0:?} has an empty id or name")]
    QueueEmpty(String),
    #[error("vcc.queues: queue id {0:?} is listed twice")]
    QueueTwice(String),
}

impl VccConfig {
    /// A config with every default, for `domain` and `ipphone`.
    pub fn new(domain: impl Into<String>, ipphone: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            ipphone: ipphone.into(),
            generation: Generation::default(),
            web_base: default_web_base(),
            api_base: None,
            login_path: default_login_path(),
            login_body: LoginBody::default(),
            check_partner_path: None,
            push_scheme: default_push_scheme(),
            push_path: default_push_path(),
            push_url: None,
            token_lifetime_s: default_token_lifetime(),
            utc_offset: default_utc_offset(),
            access_key_file: None,
            role: None,
            reconnect_interval_s: default_reconnect_interval(),
            reconnect_max: None,
            keepalive_idle_s: default_keepalive(),
            transfer_offer_timeout_s: default_transfer_offer(),
            exit_wait_ms: default_exit_wait(),
            http_timeout_s: default_http_timeout(),
            object_ids: ObjectIds::default(),
            queues: Vec::new(),
            stun_servers: Vec::new(),
            turn_servers: Vec::new(),
            turn_user: None,
            turn_password_file: None,
            ice_policy: Default::default(),
        }
    }

    /// The voice leg's ICE settings.
    pub fn ice(&self) -> super::ice::IceSettings {
        super::ice::IceSettings {
            stun_servers: self.stun_servers.clone(),
            turn_servers: self.turn_servers.clone(),
            turn_user: self.turn_user.clone(),
            turn_password_file: self.turn_password_file.clone(),
            ice_policy: self.ice_policy,
        }
    }

    /// Check the values the types cannot (call after loading).
    pub fn validate(&self) -> Result<(), VccConfigError> {
        if self.domain.trim().is_empty() {
            return Err(VccConfigError::Empty { field: "domain" });
        }
        if self.ipphone.trim().is_empty() {
            return Err(VccConfigError::Empty { field: "ipphone" });
        }
        self.utc_offset_minutes()?;
        if !matches!(self.push_scheme.as_str(), "ws" | "wss") {
            return Err(VccConfigError::PushScheme(self.push_scheme.clone()));
        }
        for (i, q) in self.queues.iter().enumerate() {
            if q.id.trim().is_empty() || q.name.trim().is_empty() {
                return Err(VccConfigError::QueueEmpty(format!("{}{}", q.id, q.name)));
            }
            if self.queues[..i].iter().any(|o| o.id == q.id) {
                return Err(VccConfigError::QueueTwice(q.id.clone()));
            }
        }
        Ok(())
    }

    /// The access key: `TONGDAI_VCC_ACCESS_KEY`, else `access_key_file`.
    pub fn access_key(&self) -> Result<Secret, SecretError> {
        crate::secret::resolve(
            "the VCC access key",
            ACCESS_KEY_ENV,
            "vcc.access_key_file",
            self.access_key_file.as_deref(),
        )
    }

    pub fn utc_offset_minutes(&self) -> Result<i32, VccConfigError> {
        parse_utc_offset(&self.utc_offset)
            .ok_or_else(|| VccConfigError::UtcOffset(self.utc_offset.clone()))
    }

    pub fn api_base(&self) -> &str {
        self.api_base.as_deref().unwrap_or(&self.web_base)
    }

    pub fn login_url(&self) -> Option<String> {
        if self.login_path.is_empty() {
            return None;
        }
        Some(format!(
            "{}{}",
            self.web_base.trim_end_matches('/'),
            self.login_path.replace("{domain}", &self.domain)
        ))
    }

    pub fn check_partner_url(&self) -> String {
        let path = self
            .check_partner_path
            .as_deref()
            .unwrap_or(match self.generation {
                Generation::Older => "/api/login/check-partner",
                Generation::Newer => "/v1/api/calls/check-partner",
            });
        format!("{}{}", self.api_base().trim_end_matches('/'), path)
    }

    /// `{scheme}://{agent_server_url}{push_path}` unless `push_url` is set.
    pub fn push_url_for(&self, agent_server_url: &str) -> String {
        if let Some(u) = &self.push_url {
            return u.clone();
        }
        let host = agent_server_url
            .trim_start_matches("wss://")
            .trim_start_matches("ws://")
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        format!("{}://{}{}", self.push_scheme, host, self.push_path)
    }

    pub fn token_lifetime(&self) -> Duration {
        Duration::from_secs(self.token_lifetime_s)
    }

    pub fn reconnect_max(&self) -> u32 {
        // The newer SDK never retries (its page reloads instead); a
        // terminal has no page to reload, so both generations reconnect
        // with the same visible backoff (issue 15).
        self.reconnect_max.unwrap_or(20)
    }
}

/// `+07:00`, `-05:30`, `+7`, `Z` → minutes east of UTC.
pub fn parse_utc_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None => (rest, "0"),
    };
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(sign * (h * 60 + m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_toml_takes_protocol_defaults() {
        let c: VccConfig = toml::from_str("domain = \"acme\"\nipphone = \"1001\"\n").unwrap();
        assert_eq!(c, VccConfig::new("acme", "1001"));
        assert_eq!(
            c.login_url().unwrap(),
            "https://web.vcc-vinaphone.com.vn/acme/thirdParty/login"
        );
        assert_eq!(
            c.check_partner_url(),
            "https://web.vcc-vinaphone.com.vn/api/login/check-partner"
        );
        assert_eq!(
            c.push_url_for("as.example:8443"),
            "wss://as.example:8443/websocket"
        );
        assert_eq!(c.object_ids.callout, 2032);
        assert_eq!(c.reconnect_max(), 20);
        c.validate().unwrap();
    }

    #[test]
    fn newer_generation_defaults() {
        let c: VccConfig =
            toml::from_str("domain = \"a\"\nipphone = \"1\"\ngeneration = \"newer\"\n").unwrap();
        assert!(
            c.check_partner_url()
                .ends_with("/v1/api/calls/check-partner")
        );
        assert_eq!(c.reconnect_max(), 20);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_name() {
        let e =
            toml::from_str::<VccConfig>("domain = \"a\"\nipphone = \"1\"\naccess_key = \"x\"\n")
                .unwrap_err();
        assert!(e.to_string().contains("access_key"), "{e}");
        let e = toml::from_str::<VccConfig>(
            "domain = \"a\"\nipphone = \"1\"\n[object_ids]\ncallot = 1\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("callot"), "{e}");
        let mut c = VccConfig::new("a", "1");
        c.utc_offset = "7".into();
        assert!(c.validate().unwrap_err().to_string().contains("+HH:MM"));
    }

    #[test]
    fn object_ids_are_overridable_one_by_one() {
        let c: VccConfig =
            toml::from_str("domain = \"a\"\nipphone = \"1\"\n[object_ids]\ncallout = 9032\n")
                .unwrap();
        assert_eq!(c.object_ids.callout, 9032);
        assert_eq!(c.object_ids.callout_status, 1055);
    }

    /// `[vcc]` takes `[sip]`'s ICE keys for the voice leg; a mistake is
    /// named with its `vcc.` key, and the TURN password comes from a 0600
    /// file and never shows in `Debug`.
    #[test]
    fn ice_keys_reach_the_voice_leg() {
        let dir = std::env::temp_dir().join(format!("tongdai-vcc-turn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let pw = dir.join("turn");
        std::fs::write(&pw, "vcc-turn-s3cret").expect("write");
        std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        let c: VccConfig = toml::from_str(&format!(
            "domain = \"a\"\nipphone = \"1\"\nstun_servers = [\"stun:s:3478\"]\n\
             turn_servers = [\"turn:t:3478?transport=udp\"]\nturn_user = \"agent\"\n\
             turn_password_file = \"{}\"\nice_policy = \"relay\"\n",
            pw.display()
        ))
        .expect("parse");
        let ice = c.ice();
        assert_eq!(ice.stun_servers, vec!["stun:s:3478".to_string()]);
        assert_eq!(ice.ice_policy, crate::config::ice::IcePolicy::Relay);
        let turn = ice.turn("vcc").expect("turn").expect("some");
        assert_eq!(turn.user, "agent");
        assert_eq!(turn.password.expose(), "vcc-turn-s3cret");
        assert!(!format!("{turn:?}").contains("vcc-turn-s3cret"));
        let mut bad = c.ice();
        bad.turn_user = None;
        let e = bad.turn("vcc").unwrap_err();
        assert!(e.contains("vcc.turn_user"), "{e}");
        let e = VccConfig::new("a", "1").ice();
        assert_eq!(e.turn("vcc"), Ok(None));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+07:00"), Some(420));
        assert_eq!(parse_utc_offset("-05:30"), Some(-330));
        assert_eq!(parse_utc_offset("Z"), Some(0));
        assert_eq!(parse_utc_offset("+7"), Some(420));
        assert_eq!(parse_utc_offset("07:00"), None);
    }
}
