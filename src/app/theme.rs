//! Themes: TOML maps from *meaning* (ringing, held, error…) to style, so
//! widgets ask `theme.style(Role::Ringing)` and never name a colour
//! (gitui's `ui/style.rs`, atuin's theme). Colours are degraded once, at
//! load time, to what the terminal can show; `NO_COLOR` keeps only the
//! modifiers.

use std::path::Path;

use crate::config::error::ConfigError;
pub use crate::config::theme::{BUILTIN, ColorDepth, Role, light_background};
use crate::config::theme::{RoleSpec, ThemeFile, ThemeSource};
use ratatui::style::{Color, Modifier, Style};

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

    fn from_source(src: &ThemeSource, depth: ColorDepth) -> Theme {
        Theme::from_file(&src.name, &src.file, Some(&src.base), depth)
    }

    /// A built-in theme by name (`dark`, `light`, `high-contrast`).
    pub fn builtin(name: &str, depth: ColorDepth) -> Result<Theme, ConfigError> {
        crate::config::theme::builtin(name).map(|src| Theme::from_source(&src, depth))
    }

    /// `--theme` / `ui.theme`: a built-in name, a path to a `.toml` file,
    /// or a name in `<config dir>/themes/`. Missing roles come from `dark`.
    pub fn load(
        spec: &str,
        depth: ColorDepth,
        config_dir: Option<&Path>,
    ) -> Result<Theme, ConfigError> {
        crate::config::theme::find(spec, config_dir).map(|src| Theme::from_source(&src, depth))
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

#[cfg(test)]
mod tests {
    use super::*;

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
