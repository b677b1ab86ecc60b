//! Backends behind the engine contract: `sip` (a plain SIP account), `vcc`
//! (the VCC cloud) and `demo` (the local switchboard, in-process).

pub mod sip;
pub mod vcc;

use crate::config::{BackendKind, Config};
use crate::engine::Backend;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    #[error(
        "backend = \"sip\" needs a [sip] section (user, server; password in TONGDAI_SIP_PASSWORD or sip.password_file)"
    )]
    MissingSip,
    #[error(
        "backend = \"vcc\" needs a [vcc] section (domain, ipphone; access key in TONGDAI_VCC_ACCESS_KEY or vcc.access_key_file)"
    )]
    MissingVcc,
    #[error("[vcc] {0}")]
    BadVcc(String),
}

/// The backend the config asks for. `None` for `demo`: the caller starts
/// the local switchboard (it owns its lifetime) and takes the backend from
/// it. A missing secret is not an error here: the engine reports it as
/// `InitFailed` on screen, with how to fix it.
pub fn build(config: &Config) -> Result<Option<Box<dyn Backend>>, BuildError> {
    match config.backend {
        BackendKind::Sip => {
            let sip = config.sip.clone().ok_or(BuildError::MissingSip)?;
            Ok(Some(Box::new(
                sip::SipBackend::new(sip).with_audio(config.audio.clone()),
            )))
        }
        BackendKind::Vcc => {
            let vcc = config.vcc.clone().ok_or(BuildError::MissingVcc)?;
            vcc.validate()
                .map_err(|e| BuildError::BadVcc(e.to_string()))?;
            Ok(Some(vcc::VccBackend::with_audio(vcc, config.audio.clone())))
        }
        BackendKind::Demo => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_without_a_section_says_what_is_missing() {
        let cfg = Config {
            backend: BackendKind::Sip,
            ..Config::default()
        };
        assert_eq!(build(&cfg).err(), Some(BuildError::MissingSip));
        let cfg = Config {
            backend: BackendKind::Vcc,
            ..Config::default()
        };
        assert_eq!(build(&cfg).err(), Some(BuildError::MissingVcc));
        assert!(build(&Config::default()).expect("demo").is_none());
    }
}
