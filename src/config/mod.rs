//! Configuration: one TOML file layered over compiled-in defaults, then
//! `TONGDAI_*` environment overrides. Errors name the file, line, field and
//! what was expected; unknown keys get a "did you mean". Secrets are never
//! read from here (see [`crate::secret`]).

pub mod audio;
pub mod codec;
pub mod collect;
pub mod crm;
pub mod demo;
pub mod error;
pub mod ice;
pub mod keys;
pub mod lang;
pub mod sip;
pub mod theme;
pub mod vcc;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use demo::DemoConfig;
pub use error::ConfigError;

use audio::AudioConfig;
use crm::CrmConfig;
use keys::KeySpec;
use lang::Lang;
use sip::SipConfig;
use theme::ColorDepth;
use vcc::VccConfig;

/// The commented default printed by `tongdai config --print-default`.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// Which backend drives the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The local switchboard, in-process: no account needed.
    #[default]
    Demo,
    /// A plain SIP account (`[sip]`).
    Sip,
    /// A VCC agent (`[vcc]`).
    Vcc,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Demo => "demo",
            BackendKind::Sip => "sip",
            BackendKind::Vcc => "vcc",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// `en` or `vi`; `None`: from the locale.
    #[serde(default)]
    pub language: Option<Lang>,
    #[serde(default = "default_theme")]
    pub theme: String,
    #[serde(default)]
    pub colors: ColorDepth,
    #[serde(default = "default_true")]
    pub confirm_quit: bool,
    /// Bindings layered over the compiled-in keymap.
    #[serde(default)]
    pub keys: Vec<KeySpec>,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            language: None,
            theme: default_theme(),
            colors: ColorDepth::Auto,
            confirm_quit: true,
            keys: Vec::new(),
        }
    }
}

fn default_theme() -> String {
    "auto".into()
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default = "default_level")]
    pub level: String,
    #[serde(default)]
    pub dir: Option<PathBuf>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: default_level(),
            dir: None,
        }
    }
}

fn default_level() -> String {
    "info".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub backend: BackendKind,
    #[serde(default)]
    pub sip: Option<SipConfig>,
    #[serde(default)]
    pub vcc: Option<VccConfig>,
    #[serde(default)]
    pub audio: AudioConfig,
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub demo: DemoConfig,
    /// The customer lookup for the popup; `None`: local data only.
    #[serde(default)]
    pub crm: Option<CrmConfig>,
    /// The file this came from (None: defaults only).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Environment variables that look like overrides but are secrets or
/// belong to other parts of the program.
const NOT_OVERRIDES: &[&str] = &[
    "TONGDAI_SIP_PASSWORD",
    "TONGDAI_VCC_ACCESS_KEY",
    "TONGDAI_CRM_TOKEN",
    "TONGDAI_CONFIG",
    "TONGDAI_WEBRTC_CHILD",
];

/// Top-level keys and sections an override can name.
const SECTIONS: &[&str] = &["ui", "sip", "vcc", "audio", "log", "demo", "crm"];
const TOP_KEYS: &[&str] = &["backend"];

/// `$XDG_CONFIG_HOME/tongdai`.
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tongdai").map(|d| d.config_dir().to_path_buf())
}

/// `$XDG_CONFIG_HOME/tongdai/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join("config.toml"))
}

/// `$XDG_STATE_HOME/tongdai` (logs).
pub fn state_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tongdai").map(|d| {
        d.state_dir()
            .unwrap_or_else(|| d.data_local_dir())
            .to_path_buf()
    })
}

/// One `TONGDAI_*` override: the variable and the path it sets.
#[derive(Debug, Clone)]
struct Override {
    var: String,
    path: Vec<String>,
    raw: String,
    parsed: bool,
}

fn overrides(env: &[(String, String)]) -> Vec<Override> {
    let mut out: Vec<Override> = env
        .iter()
        .filter(|(k, _)| k.starts_with("TONGDAI_") && !NOT_OVERRIDES.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            let rest = k["TONGDAI_".len()..].to_ascii_lowercase();
            if TOP_KEYS.contains(&rest.as_str()) {
                return Some(Override {
                    var: k.clone(),
                    path: vec![rest],
                    raw: v.clone(),
                    parsed: false,
                });
            }
            let (section, key) = rest.split_once('_')?;
            SECTIONS.contains(&section).then(|| Override {
                var: k.clone(),
                path: vec![section.to_string(), key.to_string()],
                raw: v.clone(),
                parsed: false,
            })
        })
        .collect();
    out.sort_by(|a, b| a.var.cmp(&b.var));
    out
}

fn raw_value(raw: &str) -> Option<toml::Value> {
    let doc: toml::Table = format!("v = {raw}").parse().ok()?;
    doc.get("v").cloned()
}

fn apply(table: &toml::Table, ovs: &[Override]) -> toml::Table {
    let mut t = table.clone();
    for o in ovs {
        let value = if o.parsed {
            raw_value(&o.raw).unwrap_or_else(|| toml::Value::String(o.raw.clone()))
        } else {
            toml::Value::String(o.raw.clone())
        };
        match o.path.as_slice() {
            [k] => {
                t.insert(k.clone(), value);
            }
            [s, k] => {
                let entry = t
                    .entry(s.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(sec) = entry {
                    sec.insert(k.clone(), value);
                }
            }
            _ => {}
        }
    }
    t
}

/// Apply the overrides; a value that is not a string where the field wants
/// a number, boolean or list is read as TOML on a second try.
fn with_overrides(table: toml::Table, mut ovs: Vec<Override>) -> Result<Config, ConfigError> {
    for _ in 0..=ovs.len() {
        let merged = apply(&table, &ovs);
        let err = match merged.try_into::<Config>() {
            Ok(c) => return Ok(c),
            Err(e) => e,
        };
        let msg = err.message().trim().to_string();
        if msg.starts_with("invalid type: string")
            && let Some(o) = ovs.iter_mut().find(|o| {
                !o.parsed && msg.contains(&format!("{:?}", o.raw)) && raw_value(&o.raw).is_some()
            })
        {
            o.parsed = true;
            continue;
        }
        // Name the variable the message is about.
        let culprit = ovs.iter().find(|o| {
            o.path.last().is_some_and(|k| {
                msg.contains(&format!("`{k}`"))
                    || msg.contains(&format!("{:?}", o.raw))
                    || msg.contains(&format!("`{}`", o.raw))
            })
        });
        let section = culprit
            .filter(|o| o.path.len() == 2)
            .map(|o| o.path[0].clone())
            .unwrap_or_default();
        let field = culprit.map(|o| o.path.join("."));
        let mut message = error::humanize(&msg, field.as_deref(), &section);
        if msg.starts_with("unknown field")
            && let Some(o) = culprit
        {
            // Suggest the variable, not the key.
            let key = o.path.last().cloned().unwrap_or_default();
            let expected: Vec<String> = msg
                .split_once("expected one of ")
                .map(|(_, r)| {
                    r.split(", ")
                        .map(|s| s.trim().trim_matches('`').to_string())
                        .collect()
                })
                .unwrap_or_default();
            let hint = error::closest(&key, expected.iter().map(String::as_str))
                .map(|c| {
                    format!(
                        "; did you mean TONGDAI_{}_{}?",
                        section.to_ascii_uppercase(),
                        c.to_ascii_uppercase()
                    )
                })
                .unwrap_or_default();
            message = format!("unknown key `{key}` in [{section}]{hint}");
        }
        let var = match culprit {
            Some(o) => o.var.clone(),
            None => ovs
                .iter()
                .map(|o| o.var.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        return Err(ConfigError::Env { var, message });
    }
    Err(ConfigError::Env {
        var: "TONGDAI_*".into(),
        message: "the overrides do not fit the configuration".into(),
    })
}

/// Where the secret files are written in the file, for the mode check.
#[derive(Deserialize, Default)]
struct SecretSpans {
    #[serde(default)]
    sip: Option<SecretKeys>,
    #[serde(default)]
    vcc: Option<SecretKeys>,
    #[serde(default)]
    crm: Option<SecretKeys>,
}

#[derive(Deserialize, Default)]
struct SecretKeys {
    #[serde(default)]
    password_file: Option<toml::Spanned<String>>,
    #[serde(default)]
    access_key_file: Option<toml::Spanned<String>>,
    #[serde(default)]
    token_file: Option<toml::Spanned<String>>,
    #[serde(default)]
    tls_key_file: Option<toml::Spanned<String>>,
}

/// A secret file that others can read is refused when the config is
/// loaded (`tongdai config` says so, with the line and the fix), not at
/// the first call: the secret may already have leaked. A missing file is
/// left to the backend, which says which variable or file to set.
fn check_secret_files(
    cfg: &Config,
    path: &Path,
    text: &str,
    ovs: &[Override],
) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let spans: SecretSpans = toml::from_str(text).unwrap_or_default();
    let (sip_password, sip_tls_key) = spans
        .sip
        .map(|k| (k.password_file, k.tls_key_file))
        .unwrap_or_default();
    let files = [
        (
            "sip",
            "password_file",
            cfg.sip.as_ref().and_then(|s| s.password_file.clone()),
            sip_password,
        ),
        (
            "sip",
            "tls_key_file",
            cfg.sip.as_ref().and_then(|s| s.tls_key_file.clone()),
            sip_tls_key,
        ),
        (
            "vcc",
            "access_key_file",
            cfg.vcc.as_ref().and_then(|v| v.access_key_file.clone()),
            spans.vcc.and_then(|k| k.access_key_file),
        ),
        (
            "crm",
            "token_file",
            cfg.crm.as_ref().and_then(|c| c.token_file.clone()),
            spans.crm.and_then(|k| k.token_file),
        ),
    ];
    for (section, key, file, span) in files {
        let Some(file) = file else { continue };
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            continue;
        }
        let message = format!(
            "field `{section}.{key}`: {} can be read by other users (mode {mode:o}); run `chmod 600 {}`",
            file.display(),
            file.display()
        );
        let from_env = ovs
            .iter()
            .find(|o| o.path == [section.to_string(), key.to_string()]);
        return Err(match (from_env, span) {
            (Some(o), _) => ConfigError::Env {
                var: o.var.clone(),
                message,
            },
            (None, Some(span)) => {
                let (line, column) = error::line_col(text, span.span().start);
                ConfigError::Parse {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message,
                }
            }
            (None, None) => ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            },
        });
    }
    Ok(())
}

/// `[audio] record_dir`: created (0700) when missing, and it must take
/// files; otherwise ringtones and recordings would fail call after call
/// with nothing on screen. Called when the console starts.
pub fn prepare_record_dir(cfg: &Config) -> Result<(), ConfigError> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(dir) = &cfg.audio.record_dir else {
        return Ok(());
    };
    let fail = |reason: String| ConfigError::Invalid {
        path: cfg
            .source
            .clone()
            .unwrap_or_else(|| PathBuf::from("the configuration")),
        message: format!(
            "audio.record_dir = {:?}: {reason}; create it or point record_dir at a folder you can write",
            dir.display().to_string()
        ),
    };
    crate::private_fs::create_dir_all(dir)
        .map_err(|e| fail(format!("cannot create the folder ({e})")))?;
    let probe = dir.join(format!(".tongdai-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(crate::private_fs::FILE_MODE)
        .open(&probe)
        .map_err(|e| fail(format!("cannot write there ({e})")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Checks the types cannot express.
fn validate(cfg: &Config, path: &Path) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    keys::bindings(&cfg.ui.keys).map_err(|e| invalid(e.to_string()))?;
    if let Some(v) = &cfg.vcc {
        v.validate().map_err(|e| invalid(e.to_string()))?;
    }
    if let Some(s) = &cfg.sip
        && s.server.trim().is_empty()
    {
        return Err(invalid(
            "sip.server is empty: write the PBX as host or host:port".into(),
        ));
    }
    if let Some(c) = &cfg.crm {
        // The URL and mapping checks, without reading the token.
        c.check().map_err(|m| invalid(format!("crm: {m}")))?;
    }
    if let Err(e) = cfg.log.level.parse::<tracing_subscriber::EnvFilter>() {
        return Err(invalid(format!(
            "log.level = {:?} is not a filter ({e}); write e.g. \"info\" or \"tongdai=debug\"",
            cfg.log.level
        )));
    }
    Ok(())
}

/// Load from `text` (the contents of `path`) and the given environment.
/// Every error of the file is reported, in file order, with its line and
/// column (`ConfigError::Many` when there are several).
pub fn parse(path: &Path, text: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
    // The file alone first, so its errors carry line numbers.
    let mut cfg: Config = match collect::parse_all(path, text) {
        Ok(c) => c,
        Err((rest, mut errs)) => {
            // The rest of the file is checked too: one run, every error.
            if let Some(rest) = rest {
                errs.extend(checks(&rest, path, text));
            }
            errs.sort_by_key(ConfigError::position);
            return Err(ConfigError::from_list(errs));
        }
    };
    let ovs = overrides(env);
    if !ovs.is_empty() {
        let table: toml::Table = text.parse().map_err(|e| error::from_toml(path, text, &e))?;
        cfg = with_overrides(table, ovs.clone())?;
    }
    let mut errs = checks(&cfg, path, text);
    if let Err(e) = validate(&cfg, path) {
        errs.push(placed(e, text));
    }
    if let Err(e) = check_secret_files(&cfg, path, text, &ovs) {
        errs.push(placed(e, text));
    }
    if !errs.is_empty() {
        errs.sort_by_key(ConfigError::position);
        return Err(ConfigError::from_list(errs));
    }
    cfg.source = Some(path.to_path_buf());
    Ok(cfg)
}

/// An error about `field` at the place the file sets it (or the file alone).
fn at_field(path: &Path, text: &str, field: &str, message: String) -> ConfigError {
    match collect::position_of(text, field) {
        Some((line, column)) => ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        },
        None => ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        },
    }
}

/// A [`validate`] error, placed at the first `section.key` it names that
/// the file sets (`sip.server is empty` → the line of `server`).
fn placed(e: ConfigError, text: &str) -> ConfigError {
    let ConfigError::Invalid { path, message } = e else {
        return e;
    };
    let field = message
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| w.contains('.') && SECTIONS.iter().any(|s| w.starts_with(&format!("{s}."))))
        .find(|w| collect::position_of(text, w).is_some())
        .map(str::to_string);
    match field {
        Some(f) => at_field(&path, text, &f, message),
        None => ConfigError::Invalid { path, message },
    }
}

/// Levels a bare `log.level` word may be (anything else needs `target=level`).
const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// The checks the console would otherwise fail on at start, each placed on
/// its line: the theme exists, the log level is a level, the demo agent
/// is one of the demo switchboard's agents.
fn checks(cfg: &Config, path: &Path, text: &str) -> Vec<ConfigError> {
    let mut errs = Vec::new();
    match theme::find(&cfg.ui.theme, config_dir().as_deref()) {
        Err(e @ ConfigError::UnknownTheme { .. }) => {
            errs.push(at_field(
                path,
                text,
                "ui.theme",
                format!("field `ui.theme`: {e}"),
            ));
        }
        Err(ConfigError::Read { path: p, reason }) => errs.push(at_field(
            path,
            text,
            "ui.theme",
            format!(
                "field `ui.theme`: cannot read the theme {}: {reason}",
                p.display()
            ),
        )),
        // A theme file with its own errors names that file and line.
        Err(e) => errs.push(e),
        Ok(_) => {}
    }
    for word in cfg.log.level.split(',').map(str::trim) {
        let bare = !word.contains(['=', '[', ':']) && !word.is_empty();
        if bare && !LEVELS.contains(&word.to_ascii_lowercase().as_str()) {
            errs.push(at_field(
                path,
                text,
                "log.level",
                format!(
                    "field `log.level`: `{word}` is not a level{} (expected one of {}, or target=level such as \"tongdai=debug\")",
                    error::did_you_mean(word, LEVELS.iter().copied()).trim_end_matches('.'),
                    LEVELS.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", "),
                ),
            ));
        }
    }
    let agents: Vec<&str> = demo::CONSOLE_AGENTS.iter().map(|a| a.ipphone).collect();
    if !agents.contains(&cfg.demo.agent.as_str()) {
        errs.push(at_field(
            path,
            text,
            "demo.agent",
            format!(
                "field `demo.agent`: the demo switchboard has no agent `{}` (expected one of {})",
                cfg.demo.agent,
                agents
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    errs
}

/// Load the config: `explicit` (`--config`, must exist) or the default
/// path (may be missing: defaults), then the process environment.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    load_with_env(explicit, default_path().as_deref(), &env)
}

pub fn load_with_env(
    explicit: Option<&Path>,
    default: Option<&Path>,
    env: &[(String, String)],
) -> Result<Config, ConfigError> {
    let (path, required) = match (explicit, default) {
        (Some(p), _) => (p.to_path_buf(), true),
        (None, Some(p)) => (p.to_path_buf(), false),
        (None, None) => (PathBuf::from("config.toml"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            let mut cfg = parse(&path, "", env)?;
            cfg.source = None;
            return Ok(cfg);
        }
        Err(e) => {
            return Err(ConfigError::Read {
                path,
                reason: e.to_string(),
            });
        }
    };
    parse(&path, &text, env)
}

/// The language from the locale: `LC_ALL`, then `LC_MESSAGES`, then `LANG`.
pub fn lang_from_locale(
    lc_all: Option<&str>,
    lc_messages: Option<&str>,
    lang: Option<&str>,
) -> Lang {
    let pick = [lc_all, lc_messages, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .unwrap_or("");
    if pick.to_ascii_lowercase().starts_with("vi") {
        Lang::Vi
    } else {
        Lang::En
    }
}

impl Config {
    /// The agent's language: `ui.language`, else the locale.
    pub fn language(&self) -> Lang {
        self.ui.language.unwrap_or_else(|| {
            let v = |k: &str| std::env::var(k).ok();
            lang_from_locale(
                v("LC_ALL").as_deref(),
                v("LC_MESSAGES").as_deref(),
                v("LANG").as_deref(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_printed_default_parses_to_the_defaults() {
        let cfg = parse(Path::new("default.toml"), DEFAULT_CONFIG, &[]).unwrap();
        let want = Config {
            source: Some(PathBuf::from("default.toml")),
            ..Config::default()
        };
        assert_eq!(cfg, want);
    }

    #[test]
    fn env_overrides_every_kind_of_field() {
        let cfg = parse(
            Path::new("c.toml"),
            "[sip]\nuser = \"alice\"\nserver = \"pbx\"\n",
            &env(&[
                ("TONGDAI_BACKEND", "sip"),
                ("TONGDAI_UI_LANGUAGE", "vi"),
                ("TONGDAI_SIP_SERVER", "pbx.example.com:5070"),
                ("TONGDAI_SIP_USER", "1001"),
                ("TONGDAI_SIP_EXPIRES", "120"),
                ("TONGDAI_SIP_REGISTER", "false"),
                ("TONGDAI_SIP_PASSWORD", "never-a-config-key"),
                ("TONGDAI_UNRELATED_THING", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.backend, BackendKind::Sip);
        assert_eq!(cfg.ui.language, Some(Lang::Vi));
        let sip = cfg.sip.unwrap();
        assert_eq!(sip.server, "pbx.example.com:5070");
        assert_eq!(sip.user, "1001");
        assert_eq!(sip.expires, 120);
        assert!(!sip.register);
    }

    #[test]
    fn env_typos_name_the_variable() {
        let e = parse(
            Path::new("c.toml"),
            "",
            &env(&[("TONGDAI_UI_THEMEE", "light")]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable TONGDAI_UI_THEMEE: unknown key `themee` in [ui]; did you mean TONGDAI_UI_THEME?"
        );
        let e = parse(
            Path::new("c.toml"),
            "",
            &env(&[("TONGDAI_BACKEND", "sipp")]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable TONGDAI_BACKEND: field `backend`: unknown value `sipp`; did you mean `sip`? (expected one of `demo`, `sip`, `vcc`)"
        );
    }

    #[test]
    fn crm_section_is_optional_and_its_token_is_not_an_override() {
        let cfg = parse(Path::new("c.toml"), "", &[]).unwrap();
        assert_eq!(cfg.crm, None);
        let cfg = parse(
            Path::new("c.toml"),
            "[crm]\nurl = \"https://crm.example/c?phone={number}\"\ntimeout_ms = 800\n",
            &env(&[
                ("TONGDAI_CRM_TOKEN", "tok-not-a-config-key"),
                ("TONGDAI_CRM_NUMBER_FORMAT", "e164"),
            ]),
        )
        .unwrap();
        let crm = cfg.crm.unwrap();
        assert_eq!(crm.timeout_ms, 800);
        assert_eq!(crm.number_format, crm::NumberFormat::E164);
        assert_eq!(crm.token_env, "TONGDAI_CRM_TOKEN");
        let e = parse(
            Path::new("c.toml"),
            "[crm]\nurl = \"https://crm.example/c\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.toml: crm: url \"https://crm.example/c\" has no {number} placeholder"
        );
    }

    #[test]
    fn locale_picks_the_language() {
        assert_eq!(lang_from_locale(None, None, Some("vi_VN.UTF-8")), Lang::Vi);
        assert_eq!(
            lang_from_locale(Some("en_US.UTF-8"), None, Some("vi_VN.UTF-8")),
            Lang::En
        );
        assert_eq!(lang_from_locale(Some(""), None, Some("vi_VN")), Lang::Vi);
        assert_eq!(lang_from_locale(None, None, None), Lang::En);
    }
}
