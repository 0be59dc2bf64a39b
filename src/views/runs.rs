//! Runs: the live list; the detail shows progress, step logs and the run's context.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::fast::{ListCell, draw_list};
use super::widgets::{
    age, bar, draw_doc, heading, json_lines, kv, kv_styled, list_title, opt_dur, status_style, txt,
};
use crate::domain::model::Run;
use crate::state::App;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    if app.runs.list.detail.is_some() {
        return detail(f, app, area);
    }
    let (area, n8n_area) = super::n8n::split(app, area);
    if let Some(a) = n8n_area {
        super::n8n::draw_runs(f, app, a);
    }
    let th = &app.theme;
    let l = &app.runs.list;
    let mut title = list_title(&l.table, "Runs", &l.filter.text);
    if let Some((_, name)) = &app.runs.workflow {
        title.push_str(&format!("· workflow {} (Esc clears) ", txt(name, 30)));
    }
    let now = app.now;
    let with_source = l
        .table
        .columns()
        .first()
        .is_some_and(|c| c.header == "source");
    draw_list(
        f,
        area,
        th,
        title,
        &l.table,
        l.table.columns(),
        &app.empty_text("workflow_executions", "no runs match"),
        |r: &Run| {
            let total = r.steps_total.max(0);
            let done = r.steps_completed.clamp(0, total.max(r.steps_completed));
            let ratio = if total > 0 {
                done as f64 / total as f64
            } else {
                0.0
            };
            let tail = match (&r.error_message, &r.current_step) {
                (Some(e), _) => ListCell::from(txt(e, 80)).style(th.crit),
                (None, Some(s)) if r.completed_at.is_none() => ListCell::from(txt(s, 80)),
                _ => ListCell::from(""),
            };
            let mut cells = Vec::with_capacity(7);
            if with_source {
                cells.push(
                    if r.n8n_execution_id
                        .as_deref()
                        .is_some_and(|e| !e.trim().is_empty())
                    {
                        ListCell::from("db+n8n")
                    } else {
                        ListCell::from("db").style(th.dim)
                    },
                );
            }
            cells.extend([
                ListCell::from(format!("{:>6}", age(now, r.started_at))),
                ListCell::from(txt(&r.status, 12)).style(status_style(th, &r.status)),
                ListCell::from(txt(&r.workflow_name, 60)),
                ListCell::from(format!("{}{:>2}/{}", bar(ratio, 5), done, total)),
                ListCell::from(format!("{:>8}", opt_dur(r.duration_ms))),
                tail,
            ]);
            cells
        },
    );
}

fn detail(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let width = area.width.saturating_sub(4) as usize;
    let now = app.now;
    let Some(r) = app.runs.detail_run() else {
        let lines = vec![Line::styled(
            "loading… (or the run is gone) — Esc goes back",
            th.dim,
        )];
        return draw_doc(f, area, th, " Run ".into(), lines, &Default::default());
    };
    let total = r.steps_total.max(0);
    let done = r.steps_completed.max(0);
    let ratio = if total > 0 {
        (done as f64 / total as f64).min(1.0)
    } else {
        0.0
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(txt(&r.workflow_name, 60), th.title),
            Span::styled("  ", th.base),
            Span::styled(txt(&r.status, 20), status_style(th, &r.status)),
        ]),
        kv(th, "run", r.id.to_string()),
        kv(
            th,
            "progress",
            format!(
                "{} {done}/{total} steps ({:.0}%)",
                bar(ratio, 20),
                ratio * 100.0
            ),
        ),
        kv(
            th,
            "current step",
            r.current_step
                .as_deref()
                .map_or("—".into(), |s| txt(s, width)),
        ),
        kv(
            th,
            "started",
            format!(
                "{} ago ({})",
                age(now, r.started_at),
                r.started_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        ),
        kv(
            th,
            "finished",
            r.completed_at.map_or("—".into(), |t| {
                format!("{} ago · took {}", age(now, t), opt_dur(r.duration_ms))
            }),
        ),
    ];
    if let Some(n) = &r.n8n_execution_id {
        lines.push(kv(th, "n8n execution", txt(n, 40)));
    }
    if let Some(e) = &r.error_message {
        lines.push(kv_styled(
            th,
            "error",
            txt(e, width.saturating_sub(14)),
            th.crit,
        ));
    }
    lines.push(Line::default());
    let steps = app
        .runs
        .detail
        .as_ref()
        .filter(|d| Some(d.id) == app.runs.list.detail)
        .map(|d| d.steps.as_slice())
        .unwrap_or_default();
    lines.push(heading(
        th,
        &format!("Step logs ({}, newest first)", steps.len()),
    ));
    if steps.is_empty() {
        lines.push(Line::styled("no step logs", th.dim));
    }
    for s in steps {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>3} ", s.step_index), th.dim),
            Span::styled(
                format!("{:<10} ", txt(&s.status, 10)),
                status_style(th, &s.status),
            ),
            Span::styled(format!("{:>8} ", opt_dur(s.duration_ms)), th.base),
            Span::styled(txt(&s.step_name, width.saturating_sub(24)), th.base),
        ]));
        if let Some(e) = &s.error_message {
            lines.push(Line::styled(
                format!("      ✖ {}", txt(e, width.saturating_sub(8))),
                th.crit,
            ));
        }
    }
    lines.push(Line::default());
    lines.push(heading(th, "Context"));
    lines.extend(json_lines(th, &r.context, 400, width));
    let scroll = &app.runs.list.scroll;
    draw_doc(
        f,
        area,
        th,
        " Run · j/k scroll · Esc back ".into(),
        lines,
        scroll,
    );
}
