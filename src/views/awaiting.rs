//! The approval screen: broadcasts awaiting a second operator, and one of them opened with
//! everything the approver must see before saying yes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::broadcast::{decision_line, elapsed, frame_block, level_style};
use super::widgets::clear;
use crate::domain::broadcast::Level;
use crate::domain::broadcast::Waiting;
use crate::domain::sanitize::{clean, clean_trunc};
use crate::state::App;
use crate::state::awaiting::{AwaitUi, Confirm};

fn waited(app: &App, w: &Waiting) -> String {
    w.created_at
        .map(|t| elapsed((app.now - t).num_seconds()))
        .unwrap_or_else(|| "?".into())
}

/// The colour of `w`'s level (an unknown level reads as info).
fn wait_style(app: &App, w: &Waiting) -> ratatui::style::Style {
    level_style(app, Level::parse(&w.level).unwrap_or(Level::Info))
}

pub fn draw(f: &mut Frame, app: &App, area: Rect, u: &AwaitUi) {
    clear(f, area);
    let n = app.awaiting.len();
    let title = format!(
        " BROADCASTS AWAITING APPROVAL ({n}) · you are {} ",
        clean_trunc(&app.operator, 30)
    );
    let outer = frame_block(app, false, title);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &app.awaiting_error {
        lines.push(Line::styled(
            format!("could not read them: {} (showing the last list)", clean(e)),
            app.theme.warn,
        ));
    }
    let help: (String, ratatui::style::Style) = match &u.open {
        None => {
            if app.awaiting.is_empty() {
                lines.push(Line::styled("No broadcast awaits approval.", app.theme.dim));
            } else {
                lines.push(Line::styled(
                    format!(
                        "  {:<9}{:<28}{:<22}{:>11}{:>9}",
                        "level", "event / venue", "triggered by", "deliveries", "waiting"
                    ),
                    app.theme.header,
                ));
            }
            for (i, w) in app.awaiting.iter().enumerate() {
                let sel = i == u.sel;
                let row = format!(
                    "{}{:<9}{:<28}{:<22}{:>11}{:>9}",
                    if sel { "▶ " } else { "  " },
                    w.level.to_uppercase(),
                    clean_trunc(&format!("{} {}", w.scope, w.target), 27),
                    clean_trunc(&w.triggered_by, 21),
                    w.deliveries(),
                    waited(app, w)
                );
                lines.push(if sel {
                    Line::styled(row, app.theme.selected)
                } else {
                    Line::styled(row, wait_style(app, w))
                });
            }
            ("↑↓ choose · Enter open · Esc close".into(), app.theme.dim)
        }
        Some(w) => {
            detail(app, u, w, &mut lines);
            confirm_help(app, u, w)
        }
    };
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
    f.render_widget(Paragraph::new(Line::styled(help.0, help.1)), foot);
}

fn detail<'a>(app: &App, u: &AwaitUi, w: &'a Waiting, lines: &mut Vec<Line<'a>>) {
    let row = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<13}"), app.theme.header),
            Span::styled(v, app.theme.base),
        ])
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{:<13}", "level"), app.theme.header),
        Span::styled(
            format!(" LIVE {} ", w.level.to_uppercase()),
            wait_style(app, w).add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ),
    ]));
    lines.push(row("scope", format!("{} '{}'", w.scope, clean(&w.target))));
    lines.push(row(
        "triggered by",
        format!("{} · waiting {}", clean(&w.triggered_by), waited(app, w)),
    ));
    let chans: Vec<String> = w
        .by_channel
        .iter()
        .map(|(c, n)| format!("{} {n}", clean(c)))
        .collect();
    lines.push(row(
        "deliveries",
        format!("{} ({})", w.deliveries(), chans.join(" · ")),
    ));
    lines.push(row(
        "unreachable",
        format!("{} · duplicates sent once {}", w.unreachable, w.duplicates),
    ));
    lines.push(row("id", w.id.to_string()));
    lines.push(Line::styled("message", app.theme.header));
    for l in w.message.lines().take(6) {
        lines.push(Line::styled(format!("  {}", clean(l)), app.theme.base));
    }
    lines.push(Line::raw(""));
    if w.is_own(&app.operator) {
        lines.push(Line::styled(
            "You triggered this broadcast: the four-eyes rule needs a different operator to approve it.",
            app.theme.warn,
        ));
    }
    if !u.still_waiting(&app.awaiting) && u.result.is_none() {
        lines.push(Line::styled(
            "No longer awaiting approval: approved or cancelled elsewhere.",
            app.theme.warn,
        ));
    }
    lines.extend(decision_line(app, u.result.as_ref()));
    if let Some(n) = &u.note {
        lines.push(Line::styled(clean(n), app.theme.warn));
    }
}

fn confirm_help(app: &App, u: &AwaitUi, w: &Waiting) -> (String, ratatui::style::Style) {
    match &u.confirm {
        Some(Confirm::TypeName(typed)) => (
            format!(
                "APPROVE LIVE CRITICAL: type the {} name to confirm: {}▏ (Esc back)",
                w.scope,
                clean(typed)
            ),
            app.theme.live_alert,
        ),
        Some(Confirm::Approve) => (
            format!(
                "APPROVE: send this LIVE {} broadcast to {} deliveries? y / n",
                w.level.to_uppercase(),
                w.deliveries()
            ),
            app.theme.live_alert,
        ),
        Some(Confirm::Cancel) => (
            "CANCEL this broadcast? Nothing has been sent. y / n".into(),
            app.theme.warn,
        ),
        None if u.deciding(&app.inflight) => ("…".into(), app.theme.dim),
        None => (
            "a approve · x cancel it · Esc back to the list · q close".into(),
            app.theme.dim,
        ),
    }
}
