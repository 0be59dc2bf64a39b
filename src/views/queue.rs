//! Queue: depth by status × job type, the oldest pending job, the job list and a job's detail.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

use super::fast::{ListCell, draw_lines, draw_list};
use super::widgets::{
    age, block, depth_sev, draw_doc, heading, json_lines, kv, kv_styled, list_title, pad,
    status_style, txt,
};
use crate::domain::model::{Job, QueueDepth, thousands};
use crate::state::App;

const COLS: [&str; 4] = ["pending", "retrying", "processing", "failed"];

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    if app.queue.list.detail.is_some() {
        return detail(f, app, area);
    }
    let th = &app.theme;
    let types = app.queue.depth.as_ref().map_or(0, |d| {
        d.by_type
            .iter()
            .map(|x| &x.0)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    });
    // n8n's queue (when configured) on top, up to half the screen
    let area = if app.n8n_queue.configured {
        let h = super::n8n_queue::section_height(app).min(area.height / 2);
        let [n, rest] = Layout::vertical([Constraint::Length(h), Constraint::Fill(1)]).areas(area);
        super::n8n_queue::section(f, app, n);
        rest
    } else {
        area
    };
    // the matrix gets what it needs up to a third of the screen; the list the rest
    let want = (types as u16 + 4).min(area.height * 2 / 5).max(4);
    let [top, list] = Layout::vertical([Constraint::Length(want), Constraint::Fill(1)]).areas(area);
    matrix(f, app, top);
    let l = &app.queue.list;
    let now = app.now;
    draw_list(
        f,
        list,
        th,
        list_title(
            &l.table,
            if app.n8n_queue.configured {
                "job_queue jobs (database)"
            } else {
                "Jobs"
            },
            &l.filter.text,
        ),
        &l.table,
        l.table.columns(),
        &app.empty_text("job_queue", "no jobs match"),
        |j: &Job| {
            vec![
                ListCell::from(format!("{:>6}", age(now, j.created_at))),
                ListCell::from(txt(&j.job_type, 40)),
                ListCell::from(txt(&j.status, 12)).style(status_style(th, &j.status)),
                ListCell::from(format!("{:>4}", j.priority)),
                ListCell::from(format!("{:>2}/{}", j.attempts, j.max_attempts)),
                ListCell::from(j.scheduled_for.map_or("—".into(), |t| age(now, t))),
                ListCell::from(
                    j.error_message
                        .as_deref()
                        .map_or(String::new(), |e| txt(e, 80)),
                )
                .style(th.crit),
            ]
        },
    );
}

fn matrix(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let blk = block(
        th,
        if app.n8n_queue.configured {
            " job_queue (database): depth by type (open states) "
        } else {
            " Depth by type (open states) "
        },
        false,
    );
    let inner = pad(blk.inner(area));
    f.render_widget(blk, area);
    let Some(d) = app.queue.depth.as_ref() else {
        f.render_widget(Line::styled("loading…", th.dim), inner);
        return;
    };
    let mut lines = vec![summary(app, d)];
    let mut by: BTreeMap<&str, [i64; 4]> = BTreeMap::new();
    for (ty, st, n) in &d.by_type {
        if let Some(i) = COLS.iter().position(|c| c == st) {
            by.entry(ty.as_str()).or_default()[i] += n;
        }
    }
    let name_w = (inner.width as usize).saturating_sub(4 * 11).clamp(10, 40);
    let mut head = format!("{:<name_w$}", "job type");
    for c in COLS {
        head.push_str(&format!("{c:>11}"));
    }
    lines.push(Line::styled(head, th.header));
    if by.is_empty() {
        lines.push(Line::styled("queue is empty", th.dim));
    }
    let room = (inner.height as usize).saturating_sub(2);
    let n_types = by.len();
    // the busiest types first (waiting, then in flight, then failed), so a short screen hides
    // the quiet ones; ties by name
    let mut by: Vec<(&str, [i64; 4])> = by.into_iter().collect();
    by.sort_by_key(|(ty, c)| {
        (
            std::cmp::Reverse(c[0] + c[1]),
            std::cmp::Reverse(c[2]),
            std::cmp::Reverse(c[3]),
            *ty,
        )
    });
    for (i, (ty, counts)) in by.into_iter().enumerate() {
        if i + 1 == room && n_types > room {
            lines.push(Line::styled(
                format!("… {} more types", n_types - i),
                th.dim,
            ));
            break;
        }
        let mut spans = vec![Span::styled(
            format!("{:<name_w$}", txt(ty, name_w)),
            th.base,
        )];
        for (c, n) in COLS.iter().zip(counts) {
            let style = if n == 0 { th.dim } else { status_style(th, c) };
            spans.push(Span::styled(
                format!("{:>11}", if n == 0 { "·".into() } else { thousands(n) }),
                style,
            ));
        }
        lines.push(Line::from(spans));
    }
    draw_lines(f, inner, &lines);
}

fn summary(app: &App, d: &QueueDepth) -> Line<'static> {
    let th = &app.theme;
    let sev = depth_sev(d.depth());
    Line::from(vec![
        Span::styled(format!("depth {} ", thousands(d.depth())), th.title),
        Span::styled(sev.label(), sev.style(th)),
        Span::styled("  oldest pending ", th.dim),
        Span::styled(
            d.oldest_pending_at
                .map_or("none".into(), |t| age(app.now, t)),
            th.base,
        ),
        Span::styled("  processing ", th.dim),
        Span::styled(thousands(d.processing), th.base),
        Span::styled("  done last hour ", th.dim),
        Span::styled(thousands(d.completed_last_hour), th.base),
    ])
}

fn detail(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let width = area.width.saturating_sub(4) as usize;
    let now = app.now;
    let Some(j) = app.queue.detail_job() else {
        let lines = vec![Line::styled(
            "the job is no longer in the list — Esc goes back",
            th.dim,
        )];
        return draw_doc(f, area, th, " Job ".into(), lines, &Default::default());
    };
    let when = |t: Option<crate::domain::model::Ts>| {
        t.map_or("—".into(), |t| {
            if t <= now {
                format!("{} ago ({})", age(now, t), t.format("%H:%M:%S UTC"))
            } else {
                format!("{} ({})", age(now, t), t.format("%H:%M:%S UTC"))
            }
        })
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(txt(&j.job_type, 40), th.title),
            Span::styled("  ", th.base),
            Span::styled(txt(&j.status, 20), status_style(th, &j.status)),
        ]),
        kv(th, "job", j.id.to_string()),
        kv(
            th,
            "attempts",
            format!("{} of {}", j.attempts, j.max_attempts),
        ),
        kv(th, "priority", j.priority.to_string()),
        kv(th, "created", when(Some(j.created_at))),
        kv(th, "scheduled for", when(j.scheduled_for)),
        kv(th, "started", when(j.started_at)),
        kv(th, "completed", when(j.completed_at)),
        kv(
            th,
            "workflow",
            j.workflow_name
                .as_deref()
                .map_or("—".into(), |s| txt(s, 60)),
        ),
        kv(
            th,
            "locked by",
            j.locked_by.as_deref().map_or("—".into(), |s| txt(s, 40)),
        ),
    ];
    if let Some(e) = &j.error_message {
        lines.push(kv_styled(
            th,
            "error",
            txt(e, width.saturating_sub(14)),
            th.crit,
        ));
    }
    lines.push(Line::default());
    lines.push(heading(th, "Payload"));
    lines.extend(json_lines(th, &j.payload, 400, width));
    draw_doc(
        f,
        area,
        th,
        " Job · j/k scroll · Esc back ".into(),
        lines,
        &app.queue.list.scroll,
    );
}
