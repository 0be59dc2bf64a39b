//! The control-room screen: seven tiles, each titled with the key of the view it opens
//! (j/k move the tile focus, Enter jumps).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::fast::draw_lines;
use super::widgets::{Sev, age, block, capacity_state, depth_sev, pad, pct, status_style, txt};
use crate::domain::model::{Overview, thousands};
use crate::state::{App, TILES};
use crate::theme::Theme;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let Some(o) = app.overview.data.as_deref() else {
        let msg = if app.conn.is_lost() {
            "no data yet — the database is unreachable"
        } else {
            "loading…"
        };
        f.render_widget(
            Paragraph::new(Line::styled(msg, th.dim)).block(block(th, " Overview ", true)),
            area,
        );
        return;
    };
    let bh = (o.last_broadcasts.len().max(1) as u16 + 2).clamp(4, 7);
    let [r1, r2, r3, r4] = Layout::vertical([
        Constraint::Min(7),
        Constraint::Min(6),
        Constraint::Length(5),
        Constraint::Length(bh),
    ])
    .areas(area);
    let halves = |r: Rect| -> [Rect; 2] {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(r)
    };
    // with n8n's queue configured, its tile sits between the database's queue and the runs,
    // and the two queues are labelled apart
    let n8nq = app.n8n_queue.configured;
    let [queue, runs] = if n8nq {
        let [q, n, r] = Layout::horizontal([
            Constraint::Percentage(34),
            Constraint::Percentage(33),
            Constraint::Percentage(33),
        ])
        .areas(r1);
        super::n8n_queue::tile(f, app, n);
        [q, r]
    } else {
        halves(r1)
    };
    let [failing, alerts] = halves(r2);
    let [disc, appr] = halves(r3);
    let tiles = [queue, runs, failing, alerts, disc, appr, r4];
    for (i, r) in tiles.into_iter().enumerate() {
        let (name, view) = TILES[i];
        let name = if i == 0 && n8nq {
            "job_queue (database)"
        } else {
            name
        };
        let focus = app.overview.tile == i;
        let title = format!(" {} [{}] ", name, view.index() + 1);
        let blk = block(th, title, focus);
        let inner = pad(blk.inner(r));
        f.render_widget(blk, r);
        let table = crate::state::overview::TILE_TABLES[i];
        if app.absent.iter().any(|t| t == table) {
            draw_lines(
                f,
                inner,
                &[Line::styled(app.empty_text(table, "").into_owned(), th.dim)],
            );
            continue;
        }
        let lines = match i {
            0 => {
                queue_tile(f, th, o, app, inner);
                continue;
            }
            1 => runs_tile(th, o),
            2 => failing_tile(th, o, inner.width as usize),
            3 => alerts_tile(th, o, app, inner.width as usize),
            4 => disc_tile(th, o),
            5 => approvals_tile(th, o, app),
            _ => broadcasts_tile(th, o, app, inner.width as usize),
        };
        draw_lines(f, inner, &lines);
    }
}

fn queue_tile(f: &mut Frame, th: &Theme, o: &Overview, app: &App, r: Rect) {
    let q = &o.queue;
    let d = q.depth();
    let sev = depth_sev(d);
    let oldest = q
        .oldest_pending_at
        .map_or_else(|| "none".into(), |t| age(app.now, t));
    let limit = match sev {
        Sev::Crit => " (>100)",
        Sev::Warn => " (>50)",
        Sev::Ok => "",
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(format!("depth {} ", thousands(d)), th.title),
            Span::styled(format!("{}{limit}", sev.label()), sev.style(th)),
            Span::styled(" · oldest ", th.dim),
            Span::styled(oldest, th.base),
        ]),
        Line::styled(
            format!(
                "{} pending · {} retrying · {} failed",
                thousands(q.pending),
                thousands(q.retrying),
                thousands(q.failed)
            ),
            th.base,
        ),
        Line::styled(
            format!(
                "{} processing · {} done last hour",
                thousands(q.processing),
                thousands(q.completed_last_hour)
            ),
            th.dim,
        ),
    ];
    let [text, spark] = Layout::vertical([Constraint::Length(3), Constraint::Fill(1)]).areas(r);
    draw_lines(f, text, &lines);
    if o.depth_history.is_empty() {
        f.render_widget(Line::styled("no depth history yet", th.dim), spark);
    } else {
        // the newest values that fit, oldest on the left
        let n = spark.width as usize;
        let from = o.depth_history.len().saturating_sub(n);
        let data: Vec<u64> = o.depth_history[from..]
            .iter()
            .map(|v| (*v).max(0) as u64)
            .collect();
        f.render_widget(Sparkline::default().data(&data).style(th.sparkline), spark);
    }
}

fn runs_tile(th: &Theme, o: &Overview) -> Vec<Line<'static>> {
    let started = o.runs_started_last_hour();
    let rate = o.success_rate_last_hour();
    let rate_style = match rate {
        Some(r) if r < 0.9 => th.crit,
        Some(r) if r < 0.98 => th.warn,
        _ => th.ok,
    };
    vec![
        Line::from(vec![
            Span::styled(
                format!("{} runs/min", per_min(o.runs_per_minute())),
                th.title,
            ),
            Span::styled(format!(" · {} started", thousands(started)), th.dim),
        ]),
        Line::from(vec![
            Span::styled("success ", th.dim),
            Span::styled(rate.map_or_else(|| "—".into(), pct), rate_style),
            Span::styled(" · failed ", th.dim),
            Span::styled(
                thousands(o.failed_last_hour),
                if o.failed_last_hour > 0 {
                    th.warn
                } else {
                    th.base
                },
            ),
        ]),
        Line::from(vec![
            Span::styled(format!("{} waiting approval", o.runs_waiting), th.base),
            Span::styled(" · ", th.dim),
            Span::styled(
                format!("{} paused wf", o.workflows_paused),
                if o.workflows_paused > 0 {
                    th.warn
                } else {
                    th.base
                },
            ),
        ]),
        Line::styled(
            o.runs_last_hour
                .iter()
                .map(|(s, n)| format!("{} {n}", txt(s, 16)))
                .collect::<Vec<_>>()
                .join(" · "),
            th.dim,
        ),
    ]
}

fn failing_tile(th: &Theme, o: &Overview, w: usize) -> Vec<Line<'static>> {
    if o.top_failing.is_empty() {
        return vec![Line::styled("● no failed runs in the last hour", th.ok)];
    }
    o.top_failing
        .iter()
        .map(|fw| {
            Line::from(vec![
                Span::styled(format!("{:>5} ✖ ", thousands(fw.failures)), th.crit),
                Span::styled(txt(&fw.name, w.saturating_sub(8)), th.base),
            ])
        })
        .collect()
}

fn alerts_tile(th: &Theme, o: &Overview, app: &App, w: usize) -> Vec<Line<'static>> {
    if o.open_alerts.is_empty() {
        return vec![Line::styled("● no open capacity alerts", th.ok)];
    }
    // one line per event: its highest threshold (80 → 90 → 100 % of one event is one line)
    crate::domain::model::capacity_alerts_by_event(&o.open_alerts)
        .into_iter()
        .map(|(a, _)| {
            let th_pct = a.threshold.clamp(0, 255) as u8;
            let (sev, label) = capacity_state(Some(th_pct));
            let tail = if w >= 60 {
                format!(
                    " {}/{} {}",
                    thousands(a.sold),
                    thousands(a.capacity),
                    age(app.now, a.created_at)
                )
            } else {
                format!(" {}", age(app.now, a.created_at))
            };
            let room = w.saturating_sub(label.chars().count() + tail.chars().count() + 1);
            Line::from(vec![
                Span::styled(label, sev.style(th)),
                Span::styled(format!(" {}", txt(&a.event_name, room)), th.base),
                Span::styled(tail, th.dim),
            ])
        })
        .collect()
}

fn disc_tile(th: &Theme, o: &Overview) -> Vec<Line<'static>> {
    let total = o.open_discrepancy_total();
    if total == 0 {
        return vec![Line::styled("● none open", th.ok)];
    }
    let mut v = vec![Line::styled(
        format!("▲ {} open", thousands(total)),
        th.warn,
    )];
    v.push(Line::styled(
        o.open_discrepancies
            .iter()
            .map(|(k, n)| format!("{} {n}", txt(k, 20)))
            .collect::<Vec<_>>()
            .join(" · "),
        th.base,
    ));
    v
}

fn approvals_tile(th: &Theme, o: &Overview, app: &App) -> Vec<Line<'static>> {
    if o.pending_approvals == 0 {
        return vec![Line::styled("● nothing waiting for a human", th.ok)];
    }
    let mut v = vec![Line::styled(
        format!("▲ {} pending", thousands(o.pending_approvals)),
        th.warn,
    )];
    if let Some(t) = o.oldest_pending_approval_at {
        v.push(Line::from(vec![
            Span::styled("oldest waiting ", th.dim),
            Span::styled(age(app.now, t), th.base),
        ]));
    }
    v
}

fn broadcasts_tile(th: &Theme, o: &Overview, app: &App, w: usize) -> Vec<Line<'static>> {
    if o.last_broadcasts.is_empty() {
        return vec![Line::styled("no broadcasts", th.dim)];
    }
    o.last_broadcasts
        .iter()
        .map(|b| {
            let head = format!(
                "{:>6} {}{} {} ",
                age(app.now, b.created_at),
                if b.test { "[TEST] " } else { "" },
                txt(&b.level, 10).to_uppercase(),
                txt(&b.status, 18),
            );
            let people = format!("{} people ", thousands(b.affected_count));
            let room = w.saturating_sub(head.chars().count() + people.len());
            Line::from(vec![
                Span::styled(head, status_style(th, &b.level)),
                Span::styled(people, th.dim),
                Span::styled(txt(&b.message, room), th.base),
            ])
        })
        .collect()
}

/// Runs per minute over the last hour; two decimals below one so a quiet hour is not "0.0".
fn per_min(r: f64) -> String {
    if r > 0.0 && r < 1.0 {
        format!("{r:.2}")
    } else {
        format!("{r:.1}")
    }
}
