//! The `[sip]` section of the config: one plain SIP account.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use super::codec::AudioCodec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }
}

/// The media an account offers when it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MediaMode {
    /// Plain RTP (`RTP/AVP`), for UDP/TCP PBXs.
    #[default]
    Rtp,
    /// WebRTC (ICE, DTLS-SRTP, `UDP/TLS/RTP/SAVPF`), for WebRTC gateways.
    /// WebRTC offers from the peer are answered with WebRTC either way.
    Webrtc,
}

// The ICE settings live below every feature (config/ice.rs), so `[vcc]`
// can take them without importing this module.
pub use crate::config::ice::{IcePolicy, IceSettings, TurnServers};

/// What to do with a second inbound call while one is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SecondCall {
    /// Answer it with 486 Busy Here at once (the call-center default).
    #[default]
    Reject,
    /// Ring; accepting puts the first call on hold.
    Offer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    /// Our address of record user part, e.g. `alice`.
    pub user: String,
    /// The registrar/proxy host[:port], e.g. `pbx.example.com:5060`.
    #[serde(deserialize_with = "server_address")]
    pub server: String,
    #[serde(default)]
    pub transport: Transport,
    /// For `ws`/`wss`: the WebSocket URL (default `ws(s)://{server}`).
    #[serde(default)]
    pub ws_url: Option<String>,
    /// Domain of the AOR when it differs from `server`.
    #[serde(default)]
    pub domain: Option<String>,
    /// Digest user name when it differs from `user`.
    #[serde(default)]
    pub auth_user: Option<String>,
    /// A file holding the password (mode 600). `TONGDAI_SIP_PASSWORD` wins.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Requested registration lifetime in seconds.
    #[serde(default = "default_expires")]
    pub expires: u32,
    /// Register at all (some trunks take calls without).
    #[serde(default = "default_true")]
    pub register: bool,
    /// UDP accounts: every this many seconds, OPTIONS to our own address
    /// through the registrar checks that it still knows us; a registrar
    /// that restarted and forgot us is noticed within this time and we
    /// register again (`sip::binding_check`). 0: off.
    #[serde(default = "default_keepalive")]
    pub keepalive_s: u32,
    /// Local address (optionally `addr:port`) to bind SIP and RTP to.
    #[serde(default = "default_bind", deserialize_with = "bind_address")]
    pub bind: String,
    /// Skip TLS certificate checks. Lab PBXs only: warned on screen.
    #[serde(default)]
    pub insecure_tls: bool,
    /// CA bundle (PEM) that signs the server's TLS certificate; default:
    /// the system bundle. Certificates are always verified.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// `transport = "tls"`: our server certificate (PEM, the chain after
    /// it), so a trunk can call us over TLS (with `register = false` it
    /// has no connection of ours to reuse). With `tls_key_file`.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// Its private key (PEM, PKCS#8 or RSA); mode 600 like the other secrets.
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    #[serde(default)]
    pub second_call: SecondCall,
    /// No answer to an outbound INVITE within this many seconds ends it.
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_s: u32,
    /// A call to us nobody answers within this many seconds gets 480
    /// Temporarily Unavailable and is recorded as missed (a caller that
    /// vanished without CANCEL must not ring forever).
    #[serde(default = "default_ring_timeout")]
    pub inbound_ring_timeout_s: u32,
    /// STUN servers for WebRTC calls (`stun:host:port`); host candidates
    /// are always offered. Gathering is bounded, so a dead server costs at
    /// most ~1.5 s of call setup.
    #[serde(default)]
    pub stun_servers: Vec<String>,
    /// TURN servers for WebRTC calls (`turn:host:port[?transport=udp|tcp]`,
    /// `turns:host:port`): relay candidates for agents behind strict NATs
    /// and firewalls. Long-term credentials: `turn_user`, and the password
    /// from `TONGDAI_TURN_PASSWORD` or `turn_password_file` (mode 600);
    /// never logged. A dead server costs at most the gathering bound.
    #[serde(default)]
    pub turn_servers: Vec<String>,
    #[serde(default)]
    pub turn_user: Option<String>,
    #[serde(default)]
    pub turn_password_file: Option<PathBuf>,
    /// `all` (default) or `relay`: offer and use only TURN relay
    /// candidates (our address never reaches the peer; needs a TURN server).
    #[serde(default)]
    pub ice_policy: IcePolicy,
    /// `rtp` (default) or `webrtc`: the media of the calls we place.
    #[serde(default)]
    pub media: MediaMode,
    /// Plain RTP codecs in our order of preference: offered in this
    /// order, and an offer is answered with the first of them it lists.
    #[serde(default)]
    pub codecs: CodecPrefs,
}

/// `[sip] codecs`: a non-empty list of distinct codec names (`opus`,
/// `g722`, `pcmu`, `pcma`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CodecPrefs(pub Vec<AudioCodec>);

impl Default for CodecPrefs {
    fn default() -> Self {
        CodecPrefs(AudioCodec::ALL.to_vec())
    }
}

impl CodecPrefs {
    pub fn as_slice(&self) -> &[AudioCodec] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CodecPrefs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let list = Vec::<AudioCodec>::deserialize(d)?;
        if list.is_empty() {
            return Err(D::Error::custom(
                "the codec list is empty: name at least one of opus, g722, pcmu, pcma",
            ));
        }
        for (i, c) in list.iter().enumerate() {
            if list[..i].contains(c) {
                return Err(D::Error::custom(format!(
                    "codec `{}` is listed twice",
                    c.config_name()
                )));
            }
        }
        Ok(CodecPrefs(list))
    }
}

/// `server`: a port, when given, is a number from 1 to 65535 (a bad one
/// used to reach the stack and fail later as a network error).
fn server_address<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_server(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

/// `bind`: an IP address with an optional port (an invalid one used to be
/// replaced by a random port without a word).
fn bind_address<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_bind(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

fn port_problem(port: &str, whole: &str) -> Option<String> {
    match port.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => None,
        Ok(p) => Some(format!(
            "port {p} in {whole:?} is out of range: a port is 1 to 65535"
        )),
        Err(_) => Some(format!(
            "{whole:?}: the port after `:` must be a number from 1 to 65535"
        )),
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` (a bare IPv6 address has no port).
pub fn check_server(server: &str) -> Result<(), String> {
    let s = server.trim();
    let port = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((_, "")) => None,
            Some((_, tail)) => match tail.strip_prefix(':') {
                Some(p) => Some(p),
                None => return Err(format!("{server:?}: write an IPv6 server as [addr]:port")),
            },
            None => {
                return Err(format!(
                    "{server:?}: the `[` of an IPv6 address is not closed"
                ));
            }
        }
    } else if s.matches(':').count() == 1 {
        s.split_once(':').map(|(_, p)| p)
    } else {
        None
    };
    match port.and_then(|p| port_problem(p, server)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// An IP address, or an IP address and port (`0` lets the system choose).
pub fn check_bind(bind: &str) -> Result<(), String> {
    use std::net::{IpAddr, SocketAddr};
    if bind.parse::<IpAddr>().is_ok() || bind.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    if let Some((ip, port)) = bind.rsplit_once(':')
        && ip.trim_matches(['[', ']']).parse::<IpAddr>().is_ok()
        && !port.is_empty()
        && port.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!(
            "port {port} in {bind:?} is out of range: a port is 0 to 65535"
        ));
    }
    Err(format!(
        "{bind:?} is not a local IP address: write one such as \"0.0.0.0\", \"192.168.1.20\" or \"192.168.1.20:5062\" (host names are not looked up)"
    ))
}

fn default_expires() -> u32 {
    600
}
fn default_keepalive() -> u32 {
    30
}
fn default_true() -> bool {
    true
}
fn default_bind() -> String {
    "0.0.0.0".to_string()
}
fn default_ring_timeout() -> u32 {
    60
}

impl SipConfig {
    pub fn domain(&self) -> &str {
        self.domain.as_deref().unwrap_or_else(|| {
            self.server
                .rsplit_once(':')
                .map(|(h, _)| h)
                .unwrap_or(&self.server)
        })
    }

    pub fn auth_user(&self) -> &str {
        self.auth_user.as_deref().unwrap_or(&self.user)
    }

    /// The TURN servers and their credentials; `None` without
    /// `turn_servers`. `Err` says what is wrong with the settings.
    pub fn turn(&self) -> Result<Option<TurnServers>, String> {
        self.ice().turn("sip")
    }

    /// The account's ICE settings.
    pub fn ice(&self) -> IceSettings {
        IceSettings {
            stun_servers: self.stun_servers.clone(),
            turn_servers: self.turn_servers.clone(),
            turn_user: self.turn_user.clone(),
            turn_password_file: self.turn_password_file.clone(),
            ice_policy: self.ice_policy,
        }
    }

    /// Password from `TONGDAI_SIP_PASSWORD` or `password_file`.
    pub fn password(&self) -> Result<crate::secret::Secret, crate::secret::SecretError> {
        crate::secret::resolve(
            "the SIP password",
            "TONGDAI_SIP_PASSWORD",
            "sip.password_file",
            self.password_file.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(extra: &str) -> SipConfig {
        toml::from_str(&format!("user = \"bob\"\nserver = \"pbx:5060\"\n{extra}"))
            .expect("a valid [sip]")
    }

    #[test]
    fn turn_settings_are_checked_and_the_password_never_printed() {
        assert_eq!(sip("").turn(), Ok(None));
        let e = sip("ice_policy = \"relay\"").turn().unwrap_err();
        assert!(e.contains("needs sip.turn_servers"), "{e}");
        let e = sip("turn_servers = [\"stun:s:3478\"]\nturn_user = \"a\"")
            .turn()
            .unwrap_err();
        assert!(e.contains("sip.stun_servers"), "{e}");
        let e = sip("turn_servers = [\"turn:s:3478\"]").turn().unwrap_err();
        assert!(e.contains("turn_user"), "{e}");

        let dir = std::env::temp_dir().join(format!("tongdai-turn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let pw = dir.join("turn");
        std::fs::write(&pw, "s3cret-turn").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let t = sip(&format!(
            "turn_servers = [\"turn:s:3478?transport=udp\"]\nturn_user = \"a\"\nturn_password_file = \"{}\"\nice_policy = \"relay\"",
            pw.display()
        ))
        .turn()
        .expect("valid")
        .expect("some");
        assert_eq!(t.password.expose(), "s3cret-turn");
        assert!(!format!("{t:?}").contains("s3cret"));
        // Readable by others: refused.
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = sip(&format!(
            "turn_servers = [\"turn:s:3478\"]\nturn_user = \"a\"\nturn_password_file = \"{}\"",
            pw.display()
        ))
        .turn()
        .unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
