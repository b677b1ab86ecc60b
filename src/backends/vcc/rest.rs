//! The HTTP bootstrap (VCC-PROTOCOL.md §1): `thirdParty/login` (retried once
//! with a fresh token when `code != "ok"`) and account discovery
//! (`check-partner`, both SDK generations).
//!
//! Tokens travel in a query string (older discovery) or a header (newer):
//! no URL with a token is ever logged, and reqwest errors are stripped of
//! their URL before they are shown.

use serde_json::Value;

use super::jwt::JwtError;
use crate::config::vcc::{Generation, LoginBody, VccConfig};
use crate::engine::{InitFailure, InitStep};
use crate::secret::Secret;
use crate::vcc_wire::{field_i64, field_str};

/// What discovery tells us (the SDK's `csUser` and `account`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// `user.username`: `agentId` on every push frame.
    pub username: String,
    /// `user.agent_id`: the extension, `extension` on every push frame and
    /// the SIP user of the device-1 voice leg.
    pub agent_id: String,
    pub phone_no: String,
    pub role: u8,
    /// SIP domain of the voice leg.
    pub sip_server_url: String,
    /// `ws://` or `wss://` URL of the SIP WebSocket.
    pub sip_socket: String,
    /// `host[:port]` of the push socket, no scheme.
    pub agent_server_url: String,
    /// Newer SDK: the push `authenToken`.
    pub token3c: Option<Secret>,
}

/// A logged-in session: the account and the JWT it was opened with.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: Account,
    pub jwt: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("{step}: cannot reach the server: {reason}")]
    Unreachable { step: &'static str, reason: String },
    #[error("{step}: the server answered HTTP {status}{}", message_suffix(.message))]
    Status {
        step: &'static str,
        status: u16,
        message: String,
    },
    #[error("{step}: refused: {message}")]
    Refused { step: &'static str, message: String },
    #[error("{step}: the reply is not what the SDK expects: {reason}")]
    BadReply { step: &'static str, reason: String },
    #[error(transparent)]
    Token(#[from] JwtError),
}

impl RestError {
    /// The console's typed view: which step failed, in the platform's (or
    /// the system's) own words, without our English around them.
    pub fn init_failure(&self) -> InitFailure {
        match self {
            RestError::Unreachable { reason, .. } => {
                InitFailure::new(InitStep::Unreachable, reason.clone())
            }
            RestError::Status {
                status, message, ..
            } => InitFailure::new(InitStep::HttpStatus { status: *status }, message.clone()),
            RestError::Refused { message, .. } => {
                InitFailure::new(InitStep::Refused, message.clone())
            }
            RestError::BadReply { reason, .. } => {
                InitFailure::new(InitStep::BadReply, reason.clone())
            }
            RestError::Token(e) => InitFailure::new(InitStep::Credentials, e.to_string()),
        }
    }
}

fn message_suffix(m: &str) -> String {
    if m.is_empty() {
        String::new()
    } else {
        format!(": {m}")
    }
}

fn unreachable(step: &'static str, e: reqwest::Error) -> RestError {
    RestError::Unreachable {
        step,
        reason: e.without_url().to_string(),
    }
}

async fn json_reply(step: &'static str, resp: reqwest::Response) -> Result<Value, RestError> {
    let status = resp.status();
    let text = resp.text().await.map_err(|e| unreachable(step, e))?;
    let v: Option<Value> = serde_json::from_str(&text).ok();
    if !status.is_success() {
        let message = v
            .as_ref()
            .map(|v| field_str(v, "message"))
            .unwrap_or_default();
        return Err(RestError::Status {
            step,
            status: status.as_u16(),
            message,
        });
    }
    v.ok_or_else(|| RestError::BadReply {
        step,
        reason: format!("not JSON ({} bytes)", text.len()),
    })
}

/// `POST {web_base}/{domain}/thirdParty/login`. `Ok` on `code: "ok"`.
pub async fn login(
    client: &reqwest::Client,
    cfg: &VccConfig,
    token: &Secret,
) -> Result<(), RestError> {
    const STEP: &str = "thirdParty/login";
    let Some(url) = cfg.login_url() else {
        return Ok(());
    };
    let req = client.post(&url);
    let req = match cfg.login_body {
        LoginBody::Json => req.json(&serde_json::json!({ "token": token.expose() })),
        LoginBody::Form => req.form(&[("token", token.expose())]),
    };
    let resp = req.send().await.map_err(|e| unreachable(STEP, e))?;
    let v = json_reply(STEP, resp).await?;
    if field_str(&v, "code").eq_ignore_ascii_case("ok") {
        Ok(())
    } else {
        let m = field_str(&v, "message");
        Err(RestError::Refused {
            step: STEP,
            message: if m.is_empty() { "no message".into() } else { m },
        })
    }
}

/// `check-partner`: older `?authToken=&domain=`, newer `Authorization: <jwt>`.
pub async fn check_partner(
    client: &reqwest::Client,
    cfg: &VccConfig,
    token: &Secret,
) -> Result<Account, RestError> {
    const STEP: &str = "check-partner";
    let base = cfg.check_partner_url();
    let req = match cfg.generation {
        Generation::Older => {
            let url = reqwest::Url::parse_with_params(
                &base,
                &[
                    ("authToken", token.expose()),
                    ("domain", cfg.domain.as_str()),
                ],
            )
            .map_err(|e| RestError::BadReply {
                step: STEP,
                reason: format!("bad discovery URL {base}: {e}"),
            })?;
            client.get(url)
        }
        Generation::Newer => client.get(&base).header("Authorization", token.expose()),
    };
    let resp = req.send().await.map_err(|e| unreachable(STEP, e))?;
    let v = json_reply(STEP, resp).await?;
    parse_account(&v)
}

/// The discovery reply: `code` 200, `user`, `account`, optional `token3C`.
pub fn parse_account(v: &Value) -> Result<Account, RestError> {
    const STEP: &str = "check-partner";
    let code = field_i64(v, "code");
    if code != Some(200) {
        let m = field_str(v, "message");
        return Err(RestError::Refused {
            step: STEP,
            message: format!("code {}{}", field_str(v, "code"), message_suffix(&m)),
        });
    }
    let (Some(user), Some(account)) = (v.get("user"), v.get("account")) else {
        return Err(RestError::BadReply {
            step: STEP,
            reason: "no `user` or `account`".into(),
        });
    };
    let a = Account {
        username: field_str(user, "username"),
        agent_id: field_str(user, "agent_id"),
        phone_no: field_str(user, "phone_no"),
        role: field_i64(user, "role")
            .and_then(|r| u8::try_from(r).ok())
            .unwrap_or(0),
        sip_server_url: field_str(account, "sip_server_url"),
        sip_socket: field_str(account, "sip_socket"),
        agent_server_url: field_str(account, "agent_server_url"),
        token3c: Some(field_str(v, "token3C"))
            .filter(|t| !t.is_empty())
            .map(Secret::new),
    };
    if a.agent_id.is_empty() || a.agent_server_url.is_empty() {
        return Err(RestError::BadReply {
            step: STEP,
            reason: "`user.agent_id` or `account.agent_server_url` is empty".into(),
        });
    }
    Ok(a)
}

/// Login (retried once with a fresh token) then discovery.
pub async fn bootstrap(
    client: &reqwest::Client,
    cfg: &VccConfig,
    mint: &(dyn Fn() -> Result<Secret, JwtError> + Send + Sync),
) -> Result<Session, RestError> {
    let mut jwt = mint()?;
    if let Err(first) = login(client, cfg, &jwt).await {
        match first {
            RestError::Refused { .. } => {
                tracing::info!("vcc: login refused ({first}); retrying once with a fresh token");
                jwt = mint()?;
                login(client, cfg, &jwt).await?;
            }
            other => return Err(other),
        }
    }
    let account = check_partner(client, cfg, &jwt).await?;
    tracing::info!(
        agent = %account.username,
        extension = %account.agent_id,
        role = account.role,
        push = %account.agent_server_url,
        sip = %account.sip_socket,
        token3c = account.token3c.is_some(),
        "vcc: account discovered"
    );
    Ok(Session { account, jwt })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discovery_reply_is_parsed_tolerantly() {
        let v = json!({"code": "200", "token3C": "t3",
            "user": {"username": "an", "agent_id": 1001, "phone_no": "", "role": "6"},
            "account": {"sip_server_url": "sip.x", "sip_socket": "wss://sip.x/ws",
                        "agent_server_url": "as.x:8443"}});
        let a = parse_account(&v).unwrap();
        assert_eq!(a.agent_id, "1001");
        assert_eq!(a.role, 6);
        assert_eq!(a.token3c.as_ref().map(|t| t.expose()), Some("t3"));
        let e = parse_account(&json!({"code": 401, "message": "bad token"})).unwrap_err();
        assert!(e.to_string().contains("bad token"), "{e}");
        assert!(parse_account(&json!({"code": 200})).is_err());
    }
}
