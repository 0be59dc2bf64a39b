//! Themes. TEMPORARY SHIM on branch `ui` with the signatures of the `infra` module (the lead takes
//! the `infra` version on merge).

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub base: Style,
    pub dim: Style,
    pub title: Style,
    pub header: Style,
    pub border: Style,
    pub border_focus: Style,
    pub selected: Style,
    pub marked: Style,
    pub ok: Style,
    pub info: Style,
    pub warn: Style,
    pub crit: Style,
    pub accent: Style,
    pub tab_active: Style,
    pub tab_inactive: Style,
    pub status_bar: Style,
    pub mode_demo: Style,
    pub mode_live: Style,
    pub mode_read_only: Style,
    pub test_mode: Style,
    pub live_alert: Style,
    pub gauge_ok: Style,
    pub gauge_warn: Style,
    pub gauge_crit: Style,
    pub sparkline: Style,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown theme '{0}'")]
    Unknown(String),
}

impl Theme {
    pub fn names() -> Vec<&'static str> {
        vec!["default", "mono"]
    }

    pub fn builtin(name: &str) -> Option<Theme> {
        let s = Style::default;
        let b = Modifier::BOLD;
        let r = Modifier::REVERSED;
        match name {
            "default" => Some(Theme {
                name: name.into(),
                base: s(),
                dim: s().fg(Color::DarkGray),
                title: s().fg(Color::Cyan).add_modifier(b),
                header: s().fg(Color::Yellow).add_modifier(b),
                border: s().fg(Color::DarkGray),
                border_focus: s().fg(Color::Cyan),
                selected: s().add_modifier(r),
                marked: s().fg(Color::Magenta),
                ok: s().fg(Color::Green),
                info: s().fg(Color::Blue),
                warn: s().fg(Color::Yellow),
                crit: s().fg(Color::Red).add_modifier(b),
                accent: s().fg(Color::Cyan),
                tab_active: s().fg(Color::Black).bg(Color::Cyan).add_modifier(b),
                tab_inactive: s().fg(Color::Gray),
                status_bar: s().bg(Color::DarkGray).fg(Color::White),
                mode_demo: s().fg(Color::Black).bg(Color::Magenta).add_modifier(b),
                mode_live: s().fg(Color::Black).bg(Color::Green).add_modifier(b),
                mode_read_only: s().fg(Color::Black).bg(Color::Yellow).add_modifier(b),
                test_mode: s().fg(Color::Magenta),
                live_alert: s().fg(Color::White).bg(Color::Red).add_modifier(b),
                gauge_ok: s().fg(Color::Green),
                gauge_warn: s().fg(Color::Yellow),
                gauge_crit: s().fg(Color::Red),
                sparkline: s().fg(Color::Cyan),
            }),
            "mono" => Some(Theme {
                name: name.into(),
                base: s(),
                dim: s().add_modifier(Modifier::DIM),
                title: s().add_modifier(b),
                header: s().add_modifier(b | Modifier::UNDERLINED),
                border: s(),
                border_focus: s().add_modifier(b),
                selected: s().add_modifier(r),
                marked: s().add_modifier(Modifier::UNDERLINED),
                ok: s(),
                info: s(),
                warn: s().add_modifier(b),
                crit: s().add_modifier(b | r),
                accent: s().add_modifier(b),
                tab_active: s().add_modifier(r | b),
                tab_inactive: s(),
                status_bar: s().add_modifier(r),
                mode_demo: s().add_modifier(b),
                mode_live: s().add_modifier(b),
                mode_read_only: s().add_modifier(b),
                test_mode: s().add_modifier(b),
                live_alert: s().add_modifier(b | r),
                gauge_ok: s(),
                gauge_warn: s().add_modifier(b),
                gauge_crit: s().add_modifier(b),
                sparkline: s(),
            }),
            _ => None,
        }
    }

    pub fn resolve(
        cli: Option<&str>,
        config: Option<&str>,
        no_color: bool,
    ) -> Result<Theme, ThemeError> {
        let name = cli
            .or(config)
            .unwrap_or(if no_color { "mono" } else { "default" });
        Theme::builtin(name).ok_or_else(|| ThemeError::Unknown(name.to_string()))
    }
}
