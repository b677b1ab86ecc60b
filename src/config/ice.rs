//! The ICE settings of a WebRTC account (STUN, TURN, candidate policy): one
//! type for `[sip]` and `[vcc]`, kept in `config/` so neither section's
//! module imports the other (tests/layers.rs).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which ICE candidates WebRTC calls use (RFC 8445; W3C `iceTransportPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IcePolicy {
    /// Host, server-reflexive (STUN) and relay (TURN) candidates.
    #[default]
    All,
    /// TURN relay candidates only.
    Relay,
}

/// The ICE settings of a WebRTC account: `[sip]`'s, and the same keys in
/// `[vcc]` for the platform's voice leg.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceSettings {
    pub stun_servers: Vec<String>,
    pub turn_servers: Vec<String>,
    pub turn_user: Option<String>,
    pub turn_password_file: Option<PathBuf>,
    pub ice_policy: IcePolicy,
}

impl IceSettings {
    /// The TURN servers and their credentials (the password from
    /// `TONGDAI_TURN_PASSWORD` or `turn_password_file`, mode 600); `None`
    /// without `turn_servers`. `Err` says what is wrong, naming the keys
    /// as `{section}.key`.
    pub fn turn(&self, section: &str) -> Result<Option<TurnServers>, String> {
        if self.turn_servers.is_empty() {
            return match self.ice_policy {
                IcePolicy::Relay => Err(format!(
                    "{section}.ice_policy = \"relay\" needs {section}.turn_servers (relay candidates come from TURN)"
                )),
                IcePolicy::All => Ok(None),
            };
        }
        for u in &self.turn_servers {
            if !(u.starts_with("turn:") || u.starts_with("turns:")) {
                return Err(format!(
                    "{section}.turn_servers: {u:?} is not a turn: or turns: URL (STUN servers go in {section}.stun_servers)"
                ));
            }
        }
        let Some(user) = self.turn_user.clone().filter(|u| !u.is_empty()) else {
            return Err(format!(
                "{section}.turn_servers needs {section}.turn_user (TURN long-term credentials)"
            ));
        };
        let password = crate::secret::resolve(
            "the TURN password",
            "TONGDAI_TURN_PASSWORD",
            &format!("{section}.turn_password_file"),
            self.turn_password_file.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        Ok(Some(TurnServers {
            urls: self.turn_servers.clone(),
            user,
            password,
        }))
    }
}

/// TURN servers with their long-term credentials (RFC 8656 §9.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnServers {
    pub urls: Vec<String>,
    pub user: String,
    /// `Debug` prints a placeholder.
    pub password: crate::secret::Secret,
}
