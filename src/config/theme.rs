//! The theme setting (`[ui] theme`, `colors`, `--theme`): which theme
//! file it names, and that file parsed and checked. These plain types live
//! here, below every feature, so `config/` checks `ui.theme` without
//! importing `app` (tests/layers.rs); turning a file into styles for the
//! terminal's colour depth stays in `app/theme.rs`.

use std::path::{Path, PathBuf};

use ratatui::style::Color;
use serde::Deserialize;

use super::error::{ConfigError, did_you_mean, parse_toml};

/// The built-in themes: (name, file text).
pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ColorDepth {
    /// Decide from `NO_COLOR`, `COLORTERM` and `TERM`.
    #[default]
    Auto,
    #[serde(rename = "truecolor")]
    TrueColor,
    #[serde(rename = "256")]
    Ansi256,
    #[serde(rename = "16")]
    Ansi16,
    /// No colour at all (bold, reversed and underline remain).
    None,
}

macro_rules! roles {
    ($($role:ident => $field:ident,)*) => {
        /// The meanings a theme styles.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Role { $($role,)* }

        impl Role {
            pub const ALL: &[Role] = &[$(Role::$role,)*];
        }

        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct RolesFile { $(#[serde(default)] $field: Option<RoleSpec>,)* }

        impl RolesFile {
            /// The role's entry in the file, if it styles it.
            pub fn get(&self, role: Role) -> Option<&RoleSpec> {
                match role { $(Role::$role => self.$field.as_ref(),)* }
            }
        }
    };
}

roles! {
    Base => base,
    Dim => dim,
    Title => title,
    Header => header,
    Border => border,
    PopupBorder => popup_border,
    Label => label,
    HintKey => hint_key,
    Hint => hint,
    Idle => idle,
    Ringing => ringing,
    Dialing => dialing,
    InCall => in_call,
    Held => held,
    Muted => muted,
    Ended => ended,
    Ok => ok,
    Warning => warning,
    Error => error,
    Input => input,
    InputInvalid => input_invalid,
    Selected => selected,
}

/// A colour as written in a theme file (`#rrggbb`, 0–255, a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorSpec(pub Color);

impl<'de> Deserialize<'de> for ColorSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_color(&s).map(ColorSpec).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a colour: write \"#rrggbb\", a number 0–255, \"reset\", or one of black, red, green, yellow, blue, magenta, cyan, gray, dark_gray, light_red, light_green, light_yellow, light_blue, light_magenta, light_cyan, white"
            ))
        })
    }
}

fn parse_color(s: &str) -> Option<Color> {
    let l = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    if let Some(hex) = l.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    if let Ok(n) = l.parse::<u8>() {
        return Some(Color::Indexed(n));
    }
    Some(match l.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark_gray" | "dark_grey" | "bright_black" => Color::DarkGray,
        "light_red" | "bright_red" => Color::LightRed,
        "light_green" | "bright_green" => Color::LightGreen,
        "light_yellow" | "bright_yellow" => Color::LightYellow,
        "light_blue" | "bright_blue" => Color::LightBlue,
        "light_magenta" | "bright_magenta" => Color::LightMagenta,
        "light_cyan" | "bright_cyan" => Color::LightCyan,
        "white" | "bright_white" => Color::White,
        _ => return None,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    #[serde(default)]
    pub fg: Option<ColorSpec>,
    #[serde(default)]
    pub bg: Option<ColorSpec>,
    #[serde(default)]
    pub bold: bool,
    #[serde(default)]
    pub dim: bool,
    #[serde(default)]
    pub italic: bool,
    #[serde(default)]
    pub underline: bool,
    #[serde(default)]
    pub reversed: bool,
}

/// A theme file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub roles: RolesFile,
}

/// A theme file found and parsed: the name it goes by when the file
/// gives none, its roles, and the `dark` theme's for the roles it leaves
/// out.
#[derive(Debug, Clone)]
pub struct ThemeSource {
    pub name: String,
    pub file: ThemeFile,
    pub base: ThemeFile,
}

fn builtin_file(name: &str) -> Option<(&'static str, &'static str)> {
    let n = name.to_ascii_lowercase().replace('_', "-");
    let n = match n.as_str() {
        "default" => "dark",
        "hc" | "highcontrast" => "high-contrast",
        other => other,
    }
    .to_string();
    BUILTIN.iter().find(|(b, _)| *b == n).copied()
}

fn dark_file() -> Result<ThemeFile, ConfigError> {
    parse_toml(Path::new("themes/dark.toml"), BUILTIN[0].1)
}

/// A built-in theme by name (`dark`, `light`, `high-contrast`).
pub fn builtin(name: &str) -> Result<ThemeSource, ConfigError> {
    let Some((n, text)) = builtin_file(name) else {
        return Err(ConfigError::UnknownTheme {
            name: name.to_string(),
            suggestion: did_you_mean(name, BUILTIN.iter().map(|(n, _)| *n)),
        });
    };
    let file: ThemeFile = parse_toml(&PathBuf::from(format!("themes/{n}.toml")), text)?;
    Ok(ThemeSource {
        name: n.to_string(),
        file,
        base: dark_file()?,
    })
}

/// `--theme` / `ui.theme`: a built-in name, a path to a `.toml` file,
/// or a name in `<config dir>/themes/`. Missing roles come from `dark`.
pub fn find(spec: &str, config_dir: Option<&Path>) -> Result<ThemeSource, ConfigError> {
    if spec.eq_ignore_ascii_case("auto") {
        let light = light_background(std::env::var("COLORFGBG").ok().as_deref());
        let name = if light == Some(true) { "light" } else { "dark" };
        return builtin(name);
    }
    if builtin_file(spec).is_some() {
        return builtin(spec);
    }
    let as_path = PathBuf::from(spec);
    let candidate = if spec.contains('/') || spec.ends_with(".toml") {
        Some(as_path)
    } else {
        config_dir
            .map(|d| d.join("themes").join(format!("{spec}.toml")))
            .filter(|p| p.exists())
    };
    let Some(path) = candidate else {
        return builtin(spec);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let file: ThemeFile = parse_toml(&path, &text)?;
    let base = dark_file()?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| spec.to_string());
    Ok(ThemeSource {
        name: stem,
        file,
        base,
    })
}

/// Whether the terminal's background is light, from `COLORFGBG` (set by
/// rxvt, Konsole, iTerm2 and others as `fg;bg` or `fg;default;bg`): colour
/// 7 or 15 is a light background, 0–6 and 8 a dark one. `None`: unknown
/// (the `auto` theme is then `dark`).
pub fn light_background(colorfgbg: Option<&str>) -> Option<bool> {
    let bg: u8 = colorfgbg?.rsplit(';').next()?.trim().parse().ok()?;
    match bg {
        7 | 15 => Some(true),
        0..=6 | 8 => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colorfgbg_says_which_background() {
        assert_eq!(light_background(Some("0;15")), Some(true));
        assert_eq!(light_background(Some("0;default;7")), Some(true));
        assert_eq!(light_background(Some("15;0")), Some(false));
        assert_eq!(light_background(Some("7;8")), Some(false));
        assert_eq!(light_background(Some("garbage")), None);
        assert_eq!(light_background(None), None);
    }
}
