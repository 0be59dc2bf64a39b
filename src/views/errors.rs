//! Errors: the seed's hourly analysis — (workflow × error type) patterns with counts, first and
//! last seen, examples; critical ones marked, retriable types shown.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::fast::{ListCell, draw_list};
use super::widgets::{age, draw_doc, heading, kv, kv_styled, list_title, txt};
use crate::domain::model::ErrorPattern;
use crate::state::App;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    if app.errors.detail.is_some() {
        return detail(f, app, area);
    }
    let th = &app.theme;
    let l = &app.errors;
    let now = app.now;
    // the example column only when there is room for it (Enter shows them all)
    let all = l.table.columns();
    let cols = if area.width >= 120 {
        all
    } else {
        &all[..all.len() - 1]
    };
    draw_list(
        f,
        area,
        th,
        list_title(&l.table, "Error patterns · last hour", &l.filter.text),
        &l.table,
        cols,
        &app.empty_text("workflow_errors", "no errors in the last hour"),
        |p: &ErrorPattern| {
            let crit = p.is_critical();
            vec![
                if crit {
                    ListCell::from("✖ CRIT").style(th.crit)
                } else {
                    ListCell::from("▲ warn").style(th.warn)
                },
                ListCell::from(txt(&p.workflow_name, 60)),
                ListCell::from(txt(&p.error_type, 30)),
                ListCell::from(format!("{:>5}", p.count)),
                ListCell::from(format!("{:>6}", age(now, p.first_seen))),
                ListCell::from(format!("{:>6}", age(now, p.last_seen))),
                if p.is_retriable() {
                    ListCell::from("↻ yes").style(th.info)
                } else {
                    ListCell::from("no").style(th.dim)
                },
                ListCell::from(p.examples.first().map_or(String::new(), |e| txt(e, 80))),
            ]
        },
    );
}

fn detail(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let width = area.width.saturating_sub(4) as usize;
    let Some(p) = app.errors.detail_row() else {
        let lines = vec![Line::styled(
            "the pattern left the window — Esc goes back",
            th.dim,
        )];
        return draw_doc(
            f,
            area,
            th,
            " Error pattern ".into(),
            lines,
            &Default::default(),
        );
    };
    let crit = p.is_critical();
    let why = if p.count > 10 {
        format!("✖ CRITICAL — {} in the window (> 10)", p.count)
    } else if crit {
        format!(
            "✖ CRITICAL — {} errors are always critical",
            txt(&p.error_type, 30)
        )
    } else {
        "▲ not critical (≤ 10 in the window, not timeout / authentication)".into()
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(txt(&p.workflow_name, 60), th.title),
            Span::styled(format!("  {}", txt(&p.error_type, 30)), th.base),
        ]),
        kv_styled(th, "severity", why, if crit { th.crit } else { th.warn }),
        kv(th, "count", p.count.to_string()),
        kv(
            th,
            "first seen",
            format!(
                "{} ago ({})",
                age(app.now, p.first_seen),
                p.first_seen.format("%H:%M:%S UTC")
            ),
        ),
        kv(
            th,
            "last seen",
            format!(
                "{} ago ({})",
                age(app.now, p.last_seen),
                p.last_seen.format("%H:%M:%S UTC")
            ),
        ),
        kv(
            th,
            "retriable",
            if p.is_retriable() {
                "↻ yes (network / rate limit)"
            } else {
                "no"
            },
        ),
        Line::default(),
        heading(th, "Example messages (newest first)"),
    ];
    if p.examples.is_empty() {
        lines.push(Line::styled("none recorded", th.dim));
    }
    for e in &p.examples {
        for l in crate::domain::sanitize::clean_lines(e, 6, width.saturating_sub(2)) {
            lines.push(Line::styled(format!("• {l}"), th.base));
        }
    }
    draw_doc(
        f,
        area,
        th,
        " Error pattern · Esc back ".into(),
        lines,
        &app.errors.scroll,
    );
}
