//! What the agent chose in the console and finds again after a restart:
//! the language (`L`), the theme (`Ctrl-T`) and the device (`d`). Kept in
//! `$XDG_STATE_HOME/tongdai/console.toml`, mode 0600 (a mobile number is
//! personal data). The loop saves it when a choice changes; `main` reads it
//! at start (a `--lang` or `--theme` on the command line still wins).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::call::errors::Lang;
use crate::engine::Device;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Lang>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// The device code (1–4) the agent last chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<u8>,
    /// The mobile number of device 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

impl Prefs {
    /// Where the console keeps them.
    pub fn default_path() -> Option<PathBuf> {
        crate::config::state_dir().map(|d| d.join("console.toml"))
    }

    /// The saved choices; a missing or unreadable file is no choice (logged).
    pub fn load(path: &Path) -> Prefs {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "console choices not read");
                Prefs::default()
            }),
            Err(_) => Prefs::default(),
        }
    }

    /// Write atomically with mode 0600 (a temporary file, then rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = toml::to_string(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("toml.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }

    /// The device to ask for again.
    pub fn device(&self) -> Option<Device> {
        let code = self.device?;
        let d = Device::from_code(code, self.mobile.as_deref().unwrap_or(""));
        match d {
            Device::Mobile { ref number } if number.is_empty() => None,
            Device::Other { .. } => None,
            d => Some(d),
        }
    }

    pub fn set_device(&mut self, d: &Device) {
        self.device = Some(d.code());
        self.mobile = match d {
            Device::Mobile { number } => Some(number.clone()),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saved_with_mode_600_and_read_back() {
        let dir = std::env::temp_dir().join(format!("tongdai-prefs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("console.toml");
        assert_eq!(Prefs::load(&path), Prefs::default());
        let mut p = Prefs {
            language: Some(Lang::Vi),
            theme: Some("light".into()),
            ..Prefs::default()
        };
        p.set_device(&Device::Mobile {
            number: "0912000002".into(),
        });
        p.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = Prefs::load(&path);
        assert_eq!(back, p);
        assert_eq!(
            back.device(),
            Some(Device::Mobile {
                number: "0912000002".into()
            })
        );
        // Saving again replaces the file.
        p.language = Some(Lang::En);
        p.save(&path).unwrap();
        assert_eq!(Prefs::load(&path).language, Some(Lang::En));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
