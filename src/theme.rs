//! Themes: named sets of styles for every part of the UI.
//!
//! Four themes are built in (`themes/*.toml`, embedded in the binary): `default` (dark
//! terminals), `light`, `high-contrast` (bright colours on black) and `mono` (no colour at all).
//! `--theme` takes a built-in name or a path to a file of the same format.
//!
//! # File format
//! TOML, one key per [`Theme`] field, the value a style string:
//! ```toml
//! name = "solarized-ish"          # optional, defaults to the file name
//! warn = "fg=yellow bold"
//! selected = "fg=black bg=#ffaa00"
//! dim = "fg=indexed(244)"
//! border = ""                     # plain: "" or "none"
//! ```
//! Style words: `fg=COLOR`, `bg=COLOR` and the modifiers `bold`, `dim`, `italic`,
//! `underlined`, `reversed`, `crossed_out`. Colours: the ratatui names (`black`, `red`, `green`,
//! `yellow`, `blue`, `magenta`, `cyan`, `gray`, `darkgray`, `lightred`, `lightgreen`,
//! `lightyellow`, `lightblue`, `lightmagenta`, `lightcyan`, `white`, `reset`; `_`/`-` and
//! `grey` spellings accepted), `#rrggbb`, or `indexed(N)` (0–255). A key left out takes the
//! `default` theme's style. An unknown key or a bad value is an error naming `file:line`.
//!
//! The built-in themes use only the 16 named colours and the 256-colour palette, so they look
//! the same under tmux without truecolor.
//!
//! # Colour choice and NO_COLOR
//! [`Theme::resolve`]: an explicit `--theme` wins; otherwise `NO_COLOR` (set and non-empty, see
//! <https://no-color.org>) selects `mono`; otherwise the config file's theme; otherwise `default`.
//! `mono` sets no colour at all, only modifiers, so the UI never depends on crossterm's own
//! NO_COLOR handling (which turns colour commands into an SGR reset that also wipes reverse
//! video): the app should call `crossterm::style::Colored::set_ansi_color_disabled(false)`.
//!
//! Severity is never shown by colour alone: the views' severity (`views::widgets::Sev`) pairs
//! each style with a symbol and a word.

use ratatui::style::{Color, Modifier, Style};

/// The style table of the UI.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Normal text on the background.
    pub base: Style,
    /// Secondary text, ages, stale data (greyed when disconnected).
    pub dim: Style,
    /// Block titles.
    pub title: Style,
    /// Table headers.
    pub header: Style,
    pub border: Style,
    pub border_focus: Style,
    /// The selected row.
    pub selected: Style,
    /// Marked rows (space).
    pub marked: Style,
    pub ok: Style,
    pub info: Style,
    pub warn: Style,
    pub crit: Style,
    /// Keys in the help, tab highlight.
    pub accent: Style,
    pub tab_active: Style,
    pub tab_inactive: Style,
    /// The bottom bar.
    pub status_bar: Style,
    pub mode_demo: Style,
    pub mode_live: Style,
    pub mode_read_only: Style,
    /// Broadcast TEST mode banner/border.
    pub test_mode: Style,
    /// Live broadcast banner/border.
    pub live_alert: Style,
    pub gauge_ok: Style,
    pub gauge_warn: Style,
    pub gauge_crit: Style,
    pub sparkline: Style,
}

/// A theme that could not be loaded. Display: `path:line: what` (or `path: what` without a line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {what}", line_suffix(*.line))]
pub struct ThemeError {
    pub path: String,
    /// 1-based; 0 when the problem is not on a line (unreadable file, unknown name).
    pub line: usize,
    pub what: String,
}

fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

macro_rules! style_fields {
    ($($f:ident),* $(,)?) => {
        /// The style keys of a theme file, in declaration order.
        pub const STYLE_KEYS: &[&str] = &[$(stringify!($f)),*];

        impl Theme {
            fn style_mut(&mut self, key: &str) -> Option<&mut Style> {
                match key {
                    $(stringify!($f) => Some(&mut self.$f),)*
                    _ => None,
                }
            }

            /// Every (key, style) pair, in declaration order.
            pub fn styles(&self) -> Vec<(&'static str, Style)> {
                vec![$((stringify!($f), self.$f)),*]
            }
        }
    };
}

style_fields!(
    base,
    dim,
    title,
    header,
    border,
    border_focus,
    selected,
    marked,
    ok,
    info,
    warn,
    crit,
    accent,
    tab_active,
    tab_inactive,
    status_bar,
    mode_demo,
    mode_live,
    mode_read_only,
    test_mode,
    live_alert,
    gauge_ok,
    gauge_warn,
    gauge_crit,
    sparkline,
);

const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../themes/mono.toml")),
];

impl Theme {
    /// The built-in theme names: `["default", "light", "high-contrast", "mono"]`.
    pub fn names() -> &'static [&'static str] {
        &["default", "light", "high-contrast", "mono"]
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        let path = format!("themes/{name}.toml");
        let base = if name == "default" {
            Theme::empty()
        } else {
            Theme::default_theme()
        };
        Some(parse(text, &path, base).unwrap_or_else(|e| panic!("embedded theme is broken: {e}")))
    }

    /// Parses a theme file; keys left out take the `default` theme's style.
    pub fn from_toml(text: &str, path: &str) -> Result<Theme, ThemeError> {
        parse(text, path, Theme::default_theme())
    }

    /// Reads a theme file (see [`Theme::from_toml`]).
    pub fn from_file(path: &std::path::Path) -> Result<Theme, ThemeError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ThemeError {
            path: shown.clone(),
            line: 0,
            what: e.to_string(),
        })?;
        Theme::from_toml(&text, &shown)
    }

    /// Picks the theme: `cli` (`--theme`) if given; else `mono` when `no_color`; else `config`
    /// (the config file's `theme`); else `default`. `cli` and `config` are each a built-in name
    /// or a path to a theme file; a built-in name wins over a file of that name (write `./light`
    /// for the file). An explicit `--theme` overrides NO_COLOR (the user asked for it); a theme
    /// in the config file does not.
    pub fn resolve(
        cli: Option<&str>,
        config: Option<&str>,
        no_color: bool,
    ) -> Result<Theme, ThemeError> {
        match (cli, config) {
            (Some(arg), _) => Theme::named_or_file(arg),
            (None, _) if no_color => Ok(Theme::builtin("mono").expect("mono is built in")),
            (None, Some(arg)) => Theme::named_or_file(arg),
            (None, None) => Ok(Theme::default_theme()),
        }
    }

    /// The `default` theme.
    pub fn default_theme() -> Theme {
        Theme::builtin("default").expect("default is built in")
    }

    /// A built-in name, else a file path.
    fn named_or_file(arg: &str) -> Result<Theme, ThemeError> {
        if let Some(t) = Theme::builtin(arg) {
            return Ok(t);
        }
        let path = std::path::Path::new(arg);
        if !path.exists() {
            return Err(ThemeError {
                path: arg.to_string(),
                line: 0,
                what: format!(
                    "no such theme: not a built-in ({}) nor an existing file",
                    Theme::names().join(", ")
                ),
            });
        }
        Theme::from_file(path)
    }

    fn empty() -> Theme {
        let s = Style::new();
        Theme {
            name: String::new(),
            base: s,
            dim: s,
            title: s,
            header: s,
            border: s,
            border_focus: s,
            selected: s,
            marked: s,
            ok: s,
            info: s,
            warn: s,
            crit: s,
            accent: s,
            tab_active: s,
            tab_inactive: s,
            status_bar: s,
            mode_demo: s,
            mode_live: s,
            mode_read_only: s,
            test_mode: s,
            live_alert: s,
            gauge_ok: s,
            gauge_warn: s,
            gauge_crit: s,
            sparkline: s,
        }
    }
}

impl Default for Theme {
    /// The `default` theme.
    fn default() -> Theme {
        Theme::default_theme()
    }
}

/// `NO_COLOR` is set and non-empty (<https://no-color.org>).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn parse(text: &str, path: &str, mut theme: Theme) -> Result<Theme, ThemeError> {
    let err = |offset: usize, what: String| ThemeError {
        path: path.to_string(),
        line: line_of(text, offset),
        what,
    };
    let table = toml::de::DeTable::parse(text)
        .map_err(|e| err(e.span().map_or(0, |s| s.start), e.message().to_string()))?;
    theme.name = std::path::Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned());
    for (key, value) in table.get_ref() {
        let at = key.span().start;
        let key = key.get_ref().as_ref();
        let Some(s) = value.get_ref().as_str() else {
            return Err(err(
                at,
                format!(
                    "\"{key}\" must be a string, not {}",
                    value.get_ref().type_str()
                ),
            ));
        };
        if key == "name" {
            theme.name = s.to_string();
            continue;
        }
        let Some(slot) = theme.style_mut(key) else {
            return Err(err(
                at,
                format!(
                    "unknown key \"{key}\" (known: name, {})",
                    STYLE_KEYS.join(", ")
                ),
            ));
        };
        *slot = parse_style(s).map_err(|e| err(at, format!("bad value for \"{key}\": {e}")))?;
    }
    Ok(theme)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses a style string such as `"fg=yellow bg=black bold"`; `""` and `"none"` are plain.
pub fn parse_style(s: &str) -> Result<Style, String> {
    let mut style = Style::new();
    for word in s.split_whitespace() {
        if let Some(c) = word.strip_prefix("fg=") {
            style = style.fg(parse_color(c)?);
        } else if let Some(c) = word.strip_prefix("bg=") {
            style = style.bg(parse_color(c)?);
        } else {
            let m = match word {
                "none" => Modifier::empty(),
                "bold" => Modifier::BOLD,
                "dim" => Modifier::DIM,
                "italic" => Modifier::ITALIC,
                "underlined" | "underline" => Modifier::UNDERLINED,
                "reversed" | "reverse" => Modifier::REVERSED,
                "crossed_out" => Modifier::CROSSED_OUT,
                _ => {
                    return Err(format!(
                        "unknown word \"{word}\" (expected fg=COLOR, bg=COLOR, bold, dim, \
                         italic, underlined, reversed or crossed_out)"
                    ));
                }
            };
            style = style.add_modifier(m);
        }
    }
    Ok(style)
}

/// Parses a colour: a ratatui name, `#rrggbb` or `indexed(N)`.
pub fn parse_color(s: &str) -> Result<Color, String> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() == 6
            && let Ok(v) = u32::from_str_radix(hex, 16)
        {
            return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return Err(format!("bad colour \"{s}\" (expected #rrggbb)"));
    }
    if let Some(n) = s.strip_prefix("indexed(").and_then(|r| r.strip_suffix(')')) {
        return n
            .trim()
            .parse::<u8>()
            .map(Color::Indexed)
            .map_err(|_| format!("bad colour \"{s}\" (expected indexed(0..255))"));
    }
    let name: String = s
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Ok(match name.as_str() {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return Err(format!("unknown colour \"{s}\"")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defined_keys(text: &str) -> Vec<String> {
        let table = toml::de::DeTable::parse(text).unwrap();
        table
            .get_ref()
            .keys()
            .map(|k| k.get_ref().to_string())
            .collect()
    }

    #[test]
    fn builtins_parse_and_define_every_key() {
        for (name, text) in BUILTIN {
            let t = Theme::builtin(name).unwrap();
            assert_eq!(t.name, *name);
            let keys = defined_keys(text);
            for k in STYLE_KEYS {
                assert!(keys.iter().any(|d| d == k), "{name} lacks {k}");
            }
        }
        assert_eq!(Theme::names().len(), BUILTIN.len());
        assert!(Theme::builtin("nope").is_none());
    }

    #[test]
    fn mono_has_no_colour_and_visible_selection() {
        let t = Theme::builtin("mono").unwrap();
        for (key, s) in t.styles() {
            assert_eq!((s.fg, s.bg), (None, None), "mono {key} has a colour");
        }
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert_ne!(t.warn, t.base);
        assert_ne!(t.crit, t.warn);
    }

    #[test]
    fn builtins_avoid_truecolor() {
        for name in Theme::names() {
            for (key, s) in Theme::builtin(name).unwrap().styles() {
                for c in [s.fg, s.bg].into_iter().flatten() {
                    assert!(!matches!(c, Color::Rgb(..)), "{name}.{key} uses truecolor");
                }
            }
        }
    }

    #[test]
    fn style_strings() {
        assert_eq!(
            parse_style("fg=yellow bg=black bold").unwrap(),
            Style::new()
                .fg(Color::Yellow)
                .bg(Color::Black)
                .add_modifier(Modifier::BOLD)
        );
        assert_eq!(
            parse_style("fg=#ffaa00 reversed").unwrap(),
            Style::new()
                .fg(Color::Rgb(0xff, 0xaa, 0x00))
                .add_modifier(Modifier::REVERSED)
        );
        assert_eq!(
            parse_style("fg=indexed(244) dim italic underlined crossed_out").unwrap(),
            Style::new().fg(Color::Indexed(244)).add_modifier(
                Modifier::DIM | Modifier::ITALIC | Modifier::UNDERLINED | Modifier::CROSSED_OUT
            )
        );
        assert_eq!(parse_style("").unwrap(), Style::new());
        assert_eq!(parse_style("none").unwrap(), Style::new());
        assert_eq!(parse_color("dark_gray"), Ok(Color::DarkGray));
        assert_eq!(parse_color("LightRed"), Ok(Color::LightRed));
        assert_eq!(parse_color("reset"), Ok(Color::Reset));
        assert!(parse_color("#ffaa0").is_err());
        assert!(parse_color("indexed(256)").is_err());
        assert!(parse_style("blod").is_err());
    }

    #[test]
    fn user_file_falls_back_to_default() {
        let t = Theme::from_toml("warn = \"fg=#ffaa00 bold\"\n", "/home/u/mine.toml").unwrap();
        let d = Theme::default_theme();
        assert_eq!(t.name, "mine");
        assert_eq!(t.warn, parse_style("fg=#ffaa00 bold").unwrap());
        assert_eq!(t.crit, d.crit);
        assert_eq!(t.selected, d.selected);
        let named = Theme::from_toml("name = \"x\"\n", "a.toml").unwrap();
        assert_eq!(named.name, "x");
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = Theme::from_toml("ok = \"fg=green\"\n\nbogus = \"bold\"\n", "t.toml").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.to_string().starts_with("t.toml:3: unknown key \"bogus\""),
            "{e}"
        );

        let e = Theme::from_toml("# c\nwarn = \"fg=yelow\"\n", "t.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.toml:2: bad value for \"warn\": unknown colour \"yelow\""
        );

        let e = Theme::from_toml("warn = 3\n", "t.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.toml:1: \"warn\" must be a string, not integer"
        );

        let e = Theme::from_toml("a\nwarn = = 3\n", "t.toml").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn resolve_order() {
        let name = |r: Result<Theme, ThemeError>| r.unwrap().name;
        assert_eq!(name(Theme::resolve(None, None, false)), "default");
        assert_eq!(name(Theme::resolve(None, Some("light"), false)), "light");
        assert_eq!(name(Theme::resolve(None, Some("light"), true)), "mono");
        assert_eq!(
            name(Theme::resolve(Some("high-contrast"), Some("light"), true)),
            "high-contrast"
        );
        let e = Theme::resolve(Some("no-such-theme"), None, false).unwrap_err();
        assert!(
            e.to_string().starts_with("no-such-theme: no such theme"),
            "{e}"
        );
    }

    #[test]
    fn resolve_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ocean.toml");
        std::fs::write(&p, "accent = \"fg=blue\"\n").unwrap();
        let t = Theme::resolve(Some(p.to_str().unwrap()), None, true).unwrap();
        assert_eq!(t.name, "ocean");
        assert_eq!(t.accent, Style::new().fg(Color::Blue));
        std::fs::write(&p, "accent = \"fg=blu\"\n").unwrap();
        let e = Theme::resolve(None, Some(p.to_str().unwrap()), false).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.path.ends_with("ocean.toml"));
    }
}
