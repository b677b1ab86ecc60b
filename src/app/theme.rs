//! Themes: TOML maps from *meaning* (ringing, held, error…) to style, so
//! widgets ask `theme.style(Role::Ringing)` and never name a colour
//! (gitui's `ui/style.rs`, atuin's theme). Colours are degraded once, at
//! load time, to what the terminal can show; `NO_COLOR` keeps only the
//! modifiers.

use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::config::error::{ConfigError, parse_toml};

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

impl ColorDepth {
    /// `NO_COLOR` (any non-empty value, no-color.org) wins over everything.
    pub fn detect(
        configured: ColorDepth,
        no_color: Option<&str>,
        colorterm: Option<&str>,
        term: Option<&str>,
    ) -> ColorDepth {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return ColorDepth::None;
        }
        if configured != ColorDepth::Auto {
            return configured;
        }
        let colorterm = colorterm.unwrap_or("").to_ascii_lowercase();
        let term = term.unwrap_or("").to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            ColorDepth::TrueColor
        } else if term == "dumb" {
            ColorDepth::None
        } else if term.contains("256color") {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }

    pub fn from_env(configured: ColorDepth) -> ColorDepth {
        let var = |k: &str| std::env::var(k).ok();
        ColorDepth::detect(
            configured,
            var("NO_COLOR").as_deref(),
            var("COLORTERM").as_deref(),
            var("TERM").as_deref(),
        )
    }
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
        struct RolesFile { $(#[serde(default)] $field: Option<RoleSpec>,)* }

        impl RolesFile {
            fn get(&self, role: Role) -> Option<&RoleSpec> {
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

/// A colour as written in a theme file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ColorSpec(Color);

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
struct RoleSpec {
    #[serde(default)]
    fg: Option<ColorSpec>,
    #[serde(default)]
    bg: Option<ColorSpec>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: RolesFile,
}

/// The 16 ANSI colours with xterm's RGB values, for degrading.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    // Weighted: the eye is most sensitive to green.
    3 * d(a.0, b.0).pow(2) + 4 * d(a.1, b.1).pow(2) + 2 * d(a.2, b.2).pow(2)
}

fn indexed_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[usize::from(i)].1,
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            (g, g, g)
        }
    }
}

/// The nearest of the 16 ANSI colours by hue, not by distance: a pink
/// stays red and a pale blue text stays white, as a person would pick.
fn to_16(rgb: (u8, u8, u8)) -> Color {
    let (r, g, b) = (i32::from(rgb.0), i32::from(rgb.1), i32::from(rgb.2));
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let chroma = max - min;
    if chroma < 60 {
        let light = (max + min) / 2;
        return match light {
            0..60 => Color::Black,
            60..150 => Color::DarkGray,
            150..200 => Color::Gray,
            _ => Color::White,
        };
    }
    let c = chroma as f32;
    let h = if max == r {
        60.0 * ((g - b) as f32 / c)
    } else if max == g {
        60.0 * ((b - r) as f32 / c + 2.0)
    } else {
        60.0 * ((r - g) as f32 / c + 4.0)
    };
    let h = if h < 0.0 { h + 360.0 } else { h };
    let bright = max > 200;
    let pick = |normal, light| if bright { light } else { normal };
    match h {
        h if !(20.0..330.0).contains(&h) => pick(Color::Red, Color::LightRed),
        h if h < 75.0 => pick(Color::Yellow, Color::LightYellow),
        h if h < 160.0 => pick(Color::Green, Color::LightGreen),
        h if h < 195.0 => pick(Color::Cyan, Color::LightCyan),
        h if h < 250.0 => pick(Color::Blue, Color::LightBlue),
        _ => pick(Color::Magenta, Color::LightMagenta),
    }
}

fn to_256(rgb: (u8, u8, u8)) -> Color {
    let best = (16u8..=255)
        .min_by_key(|i| dist(indexed_rgb(*i), rgb))
        .unwrap_or(16);
    Color::Indexed(best)
}

/// Map a colour onto what `depth` can show.
pub fn degrade(c: Color, depth: ColorDepth) -> Option<Color> {
    match (depth, c) {
        (ColorDepth::None, _) => None,
        (ColorDepth::TrueColor | ColorDepth::Auto, c) => Some(c),
        (ColorDepth::Ansi256, Color::Rgb(r, g, b)) => Some(to_256((r, g, b))),
        (ColorDepth::Ansi16, Color::Rgb(r, g, b)) => Some(to_16((r, g, b))),
        (ColorDepth::Ansi16, Color::Indexed(i)) if i > 15 => Some(to_16(indexed_rgb(i))),
        (_, c) => Some(c),
    }
}

/// A loaded theme: one style per role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub depth: ColorDepth,
    styles: Vec<Style>,
}

fn style_of(spec: &RoleSpec, depth: ColorDepth) -> Style {
    let mut s = Style::default();
    if let Some(c) = spec.fg.and_then(|c| degrade(c.0, depth)) {
        s = s.fg(c);
    }
    if let Some(c) = spec.bg.and_then(|c| degrade(c.0, depth)) {
        s = s.bg(c);
    }
    let mut m = Modifier::empty();
    for (on, flag) in [
        (spec.bold, Modifier::BOLD),
        (spec.dim, Modifier::DIM),
        (spec.italic, Modifier::ITALIC),
        (spec.underline, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
    ] {
        if on {
            m |= flag;
        }
    }
    if depth == ColorDepth::None && spec.bg.is_some() && !spec.reversed {
        // A badge drawn with a background keeps standing out without colour.
        m |= Modifier::REVERSED;
    }
    s.add_modifier(m)
}

impl Theme {
    fn from_file(
        name: &str,
        file: &ThemeFile,
        base: Option<&ThemeFile>,
        depth: ColorDepth,
    ) -> Theme {
        let styles = Role::ALL
            .iter()
            .map(|r| {
                file.roles
                    .get(*r)
                    .or_else(|| base.and_then(|b| b.roles.get(*r)))
                    .map(|spec| style_of(spec, depth))
                    .unwrap_or_default()
            })
            .collect();
        Theme {
            name: file.name.clone().unwrap_or_else(|| name.to_string()),
            depth,
            styles,
        }
    }

    /// The style of a meaning.
    pub fn style(&self, role: Role) -> Style {
        let i = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
        self.styles.get(i).copied().unwrap_or_default()
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
    pub fn builtin(name: &str, depth: ColorDepth) -> Result<Theme, ConfigError> {
        let Some((n, text)) = Theme::builtin_file(name) else {
            return Err(ConfigError::UnknownTheme {
                name: name.to_string(),
                suggestion: crate::config::error::did_you_mean(
                    name,
                    BUILTIN.iter().map(|(n, _)| *n),
                ),
            });
        };
        let file: ThemeFile = parse_toml(&PathBuf::from(format!("themes/{n}.toml")), text)?;
        let dark = Theme::dark_file()?;
        Ok(Theme::from_file(n, &file, Some(&dark), depth))
    }

    /// `--theme` / `ui.theme`: a built-in name, a path to a `.toml` file,
    /// or a name in `<config dir>/themes/`. Missing roles come from `dark`.
    pub fn load(
        spec: &str,
        depth: ColorDepth,
        config_dir: Option<&Path>,
    ) -> Result<Theme, ConfigError> {
        if spec.eq_ignore_ascii_case("auto") {
            let light = light_background(std::env::var("COLORFGBG").ok().as_deref());
            let name = if light == Some(true) { "light" } else { "dark" };
            return Theme::builtin(name, depth);
        }
        if Theme::builtin_file(spec).is_some() {
            return Theme::builtin(spec, depth);
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
            return Theme::builtin(spec, depth);
        };
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let file: ThemeFile = parse_toml(&path, &text)?;
        let dark = Theme::dark_file()?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.to_string());
        Ok(Theme::from_file(&stem, &file, Some(&dark), depth))
    }

    /// The built-ins in cycling order, with `first` (already loaded) first.
    pub fn cycle(first: Theme) -> Vec<Theme> {
        let depth = first.depth;
        let mut out = vec![first];
        for (n, _) in BUILTIN {
            if out.iter().all(|t| t.name != n)
                && let Ok(t) = Theme::builtin(n, depth)
            {
                out.push(t);
            }
        }
        out
    }
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

    #[test]
    fn the_light_theme_paints_its_own_background() {
        let t = Theme::builtin("light", ColorDepth::TrueColor).unwrap();
        assert!(
            t.style(Role::Base).bg.is_some(),
            "unreadable on a dark terminal"
        );
    }

    #[test]
    fn builtins_load_at_every_depth() {
        for (n, _) in BUILTIN {
            for d in [
                ColorDepth::TrueColor,
                ColorDepth::Ansi256,
                ColorDepth::Ansi16,
                ColorDepth::None,
            ] {
                let t = Theme::builtin(n, d).unwrap();
                assert_eq!(t.name, n);
                assert_ne!(t.style(Role::Ringing), Style::default(), "{n} {d:?}");
            }
        }
    }

    #[test]
    fn no_color_wins_and_keeps_modifiers() {
        assert_eq!(
            ColorDepth::detect(ColorDepth::TrueColor, Some("1"), Some("truecolor"), None),
            ColorDepth::None
        );
        assert_eq!(
            ColorDepth::detect(ColorDepth::Auto, Some(""), Some("truecolor"), None),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorDepth::detect(ColorDepth::Auto, None, None, Some("xterm-256color")),
            ColorDepth::Ansi256
        );
        assert_eq!(
            ColorDepth::detect(ColorDepth::Auto, None, None, Some("linux")),
            ColorDepth::Ansi16
        );
        let t = Theme::builtin("dark", ColorDepth::None).unwrap();
        let s = t.style(Role::Ringing);
        assert_eq!(s.fg, None);
        assert!(s.add_modifier.contains(Modifier::REVERSED | Modifier::BOLD));
    }

    #[test]
    fn degrades_to_16_colours() {
        assert_eq!(
            degrade(Color::Rgb(0xe0, 0xaf, 0x68), ColorDepth::Ansi16),
            Some(Color::LightYellow)
        );
        assert_eq!(
            degrade(Color::Rgb(0x9a, 0x67, 0x00), ColorDepth::Ansi16),
            Some(Color::Yellow)
        );
        assert_eq!(
            degrade(Color::Rgb(0xbb, 0x9a, 0xf7), ColorDepth::Ansi16),
            Some(Color::LightMagenta)
        );
        assert_eq!(
            degrade(Color::Rgb(0xc0, 0xca, 0xf5), ColorDepth::Ansi16),
            Some(Color::White)
        );
        assert_eq!(
            degrade(Color::Rgb(0x41, 0x48, 0x68), ColorDepth::Ansi16),
            Some(Color::DarkGray)
        );
        assert_eq!(
            degrade(Color::Rgb(0xf7, 0x76, 0x8e), ColorDepth::Ansi16),
            Some(Color::LightRed)
        );
        assert_eq!(
            degrade(Color::Rgb(0, 0, 0), ColorDepth::Ansi256),
            Some(Color::Indexed(16))
        );
        assert_eq!(
            degrade(Color::Indexed(196), ColorDepth::Ansi16),
            Some(Color::LightRed)
        );
        let t = Theme::builtin("dark", ColorDepth::Ansi16).unwrap();
        for r in Role::ALL {
            let s = t.style(*r);
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert!(
                    !matches!(c, Color::Rgb(..) | Color::Indexed(16..)),
                    "{r:?}: {c:?}"
                );
            }
        }
    }

    #[test]
    fn unknown_theme_suggests() {
        let e = Theme::load("ligth", ColorDepth::Auto, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown theme `ligth`; did you mean `light`? Built-in themes: dark, light, high-contrast; or give the path of a .toml file"
        );
    }
}
