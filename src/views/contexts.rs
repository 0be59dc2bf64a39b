//! The all-contexts overview (`:ctx`): one line per context of the config.
//!
//! ```text
//! ┌ CONTEXTS · 3 · read every 10 s · Enter switch · r read now · Esc ──────────────┐
//! │   context            database                  depth critical approvals alerts │
//! │ ▶ acme       PROD ●  db.acme.io/automation       134        1         3      2 │
//! │   staging         ●  staging.db                    0        0         0      0 │
//! │   dead            ✖  unreachable: connection refused (127.0.0.1:1)              │
//! └────────────────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{block, clear};
use crate::domain::sanitize::clean_trunc;
use crate::state::App;
use crate::state::contexts::OPEN_SECS;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    clear(f, area);
    let slots = &app.others.slots;
    let title = format!(
        " CONTEXTS · {} · read every {OPEN_SECS} s · Enter switch · r read now · Esc ",
        slots.len()
    );
    let outer = block(th, title, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let w = inner.width as usize;
    let here = app.context.as_ref().map(|(n, _)| n.as_str());
    let name_w = 18;
    let db_w = w.saturating_sub(2 + name_w + 1 + 5 + 3 + 33).clamp(8, 32);
    let mut lines = vec![Line::styled(
        clean_trunc(
            &format!(
                "  {:<name_w$} {:<5}   {:<db_w$} {:>6} {:>8} {:>9} {:>6}",
                "context", "", "database", "depth", "critical", "approvals", "alerts"
            ),
            w,
        ),
        th.header,
    )];
    for (i, s) in slots.iter().enumerate() {
        let mark = if i == app.others.sel { "▶ " } else { "  " };
        let prod = s.line.as_ref().is_some_and(|l| l.production)
            || (Some(s.name.as_str()) == here && app.context.as_ref().is_some_and(|c| c.1));
        let name = format!(
            "{mark}{:<name_w$} ",
            clean_trunc(
                &if Some(s.name.as_str()) == here {
                    format!("{} (here)", s.name)
                } else {
                    s.name.clone()
                },
                name_w
            )
        );
        let mut spans = vec![
            Span::styled(name, th.base),
            Span::styled(
                format!("{:<5}", if prod { "PROD" } else { "" }),
                if prod { th.crit } else { th.base },
            ),
        ];
        match &s.line {
            None => {
                spans.push(Span::styled(" …  reading", th.dim));
            }
            Some(l) if !l.reachable => {
                spans.push(Span::styled(" ✖ ", th.crit));
                let age =
                    s.at.map(|t| format!(" · {} ago", super::widgets::age(app.now, t)))
                        .unwrap_or_default();
                let room = w.saturating_sub(2 + name_w + 1 + 5 + 3);
                spans.push(Span::styled(
                    clean_trunc(
                        &format!(
                            "{}unreachable: {}{age}",
                            if l.database.is_empty() {
                                String::new()
                            } else {
                                format!("{}  ", l.database)
                            },
                            l.error.as_deref().unwrap_or("?")
                        ),
                        room,
                    ),
                    th.crit,
                ));
            }
            Some(l) => {
                let n = |v: Option<i64>| v.map_or("—".to_string(), |x| x.to_string());
                spans.push(Span::styled(
                    " ● ",
                    if l.needs_a_look() { th.warn } else { th.ok },
                ));
                spans.push(Span::styled(
                    format!("{:<db_w$} ", clean_trunc(&l.database, db_w)),
                    th.dim,
                ));
                let hot = |v: Option<usize>| {
                    if v.unwrap_or(0) > 0 { th.crit } else { th.base }
                };
                spans.push(Span::styled(format!("{:>6} ", n(l.depth)), th.base));
                spans.push(Span::styled(
                    format!("{:>8} ", n(l.critical_errors.map(|x| x as i64))),
                    hot(l.critical_errors),
                ));
                spans.push(Span::styled(
                    format!("{:>9} ", n(l.pending_approvals)),
                    th.base,
                ));
                spans.push(Span::styled(
                    format!("{:>6}", n(l.open_alerts.map(|x| x as i64))),
                    hot(l.open_alerts),
                ));
                if s.reading {
                    spans.push(Span::styled(" …", th.dim));
                }
            }
        }
        if i == app.others.sel {
            for sp in spans.iter_mut() {
                sp.style = sp.style.patch(th.selected);
            }
            spans[0].style = spans[0].style.add_modifier(Modifier::BOLD);
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
