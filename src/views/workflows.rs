//! Workflows: status (who paused it and why), runs, success rate and p95 in the last hour,
//! last error, next scheduled run. Enter lists the workflow's runs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

use super::fast::{ListCell, draw_lines, draw_list};
use super::widgets::{age, block, list_title, opt_dur, pad, pct, status_style, txt};
use crate::domain::model::WorkflowStats;
use crate::state::App;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let l = &app.workflows;
    let [list, info] = Layout::vertical([Constraint::Fill(1), Constraint::Length(6)]).areas(area);
    let (list, n8n_area) = super::n8n::split(app, list);
    if let Some(a) = n8n_area {
        super::n8n::draw_workflows(f, app, a);
    }
    let now = app.now;
    draw_list(
        f,
        list,
        th,
        list_title(&l.table, "Workflows · last hour", &l.filter.text),
        &l.table,
        l.table.columns(),
        &app.empty_text("workflows", "no workflows match"),
        |w: &WorkflowStats| {
            let status = &w.workflow.status;
            let sym = match status.as_str() {
                "active" => "▶ ",
                "paused" => "⏸ ",
                _ => "· ",
            };
            vec![
                ListCell::from(txt(&w.workflow.name, 60)),
                ListCell::from(format!("{sym}{}", txt(status, 12))).style(status_style(th, status)),
                // started counts runs by start; ok % and p95 are of the runs that finished in
                // the hour (done), which the cell names, so one row never mixes the two unsaid
                ListCell::from(format!("{:>7}", w.runs)),
                ListCell::from(format!(
                    "{:>13}",
                    w.success_rate.map_or_else(
                        || "—".into(),
                        |r| format!("{} ({})", pct(r), w.completed + w.failed)
                    )
                ))
                .style(match w.success_rate {
                    Some(r) if r < 0.9 => th.crit,
                    Some(r) if r < 0.98 => th.warn,
                    _ => th.base,
                }),
                ListCell::from(format!("{:>7}", opt_dur(w.p95_ms))),
                match (&w.last_error, w.last_error_at) {
                    (Some(e), Some(t)) => ListCell::from(format!("{} {}", age(now, t), txt(e, 80))),
                    _ => ListCell::from("—").style(th.dim),
                },
            ]
        },
    );
    let blk = block(th, " selected · Enter lists its runs ", false);
    let inner = pad(blk.inner(info));
    f.render_widget(blk, info);
    let Some(w) = l.table.selected() else {
        return;
    };
    let wf = &w.workflow;
    let width = inner.width as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled(txt(&wf.name, 40), th.title),
        Span::styled(format!("  {} · ", txt(&wf.trigger_type, 12)), th.dim),
        Span::styled(txt(&wf.status, 16), status_style(th, &wf.status)),
    ])];
    lines.push(Line::styled(
        format!(
            "last hour: {} runs · {} ok · {} failed — now {} running · {} waiting",
            w.runs, w.completed, w.failed, w.running, w.waiting
        ),
        th.base,
    ));
    if wf.status == "paused" || wf.paused_by.is_some() {
        let who = wf
            .paused_by
            .as_deref()
            .map_or("unknown".into(), |s| txt(s, 30));
        let when = wf
            .paused_at
            .map_or(String::new(), |t| format!(" {} ago", age(now, t)));
        let why = wf
            .pause_reason
            .as_deref()
            .map_or("no reason given".into(), |s| txt(s, width));
        lines.push(Line::styled(
            format!("⏸ paused by {who}{when}: {why}"),
            th.warn,
        ));
    }
    if let Some(t) = wf.next_execution_at {
        lines.push(Line::from(vec![
            Span::styled("next run ", th.dim),
            if t < now {
                // its time has passed and it has not run: say so
                Span::styled(
                    format!("overdue by {} ({})", age(now, t), t.format("%a %H:%M UTC")),
                    th.warn,
                )
            } else {
                Span::styled(
                    format!("{} ({})", age(now, t), t.format("%a %H:%M UTC")),
                    th.base,
                )
            },
        ]));
    }
    if let Some(e) = &w.last_error {
        lines.push(Line::from(vec![
            Span::styled("last error ", th.dim),
            Span::styled(txt(e, width.saturating_sub(11)), th.crit),
        ]));
    }
    lines.truncate(inner.height as usize);
    draw_lines(f, inner, &lines);
}
