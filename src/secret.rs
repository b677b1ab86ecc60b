//! Secrets (the VCC access key, SIP passwords) that must never reach a log,
//! the screen, a panic message or test output.
//!
//! They come from an environment variable or a file readable only by its
//! owner; a group- or world-readable file is refused (DESIGN.md
//! "Configuration").

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret string. `Debug` and `Display` print a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that needs it (digest, HMAC).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error(
        "{path}: this secret file can be read by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{path}: cannot read the secret file: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "{what} is not set: put it in the environment variable {env} or in a file named by `{file_key}` (mode 600)"
    )]
    Missing {
        what: String,
        env: String,
        file_key: String,
    },
}

/// Read a secret file, refusing one that others can read.
pub fn read_secret_file(path: &Path) -> Result<Secret, SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| SecretError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

/// Resolve a secret: the environment variable wins, then the file.
pub fn resolve(
    what: &str,
    env: &str,
    file_key: &str,
    file: Option<&Path>,
) -> Result<Secret, SecretError> {
    if let Ok(v) = std::env::var(env)
        && !v.is_empty()
    {
        return Ok(Secret::new(v));
    }
    match file {
        Some(path) => read_secret_file(path),
        None => Err(SecretError::Missing {
            what: what.to_string(),
            env: env.to_string(),
            file_key: file_key.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
    }

    #[test]
    fn world_readable_file_is_refused_with_the_fix() {
        let dir = std::env::temp_dir().join(format!("tongdai-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("key");
        std::fs::write(&p, "abc\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_secret_file(&p).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret_file(&p).unwrap().expose(), "abc");
    }
}
