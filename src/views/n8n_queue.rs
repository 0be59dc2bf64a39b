//! n8n's queue (Redis, queue mode): the Overview tile and the section on top of the Queue view.
//! Always labelled "n8n queue", apart from the database's `job_queue`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Sparkline;

use super::fast::draw_lines;
use super::widgets::{Sev, age, block, pad, txt};
use crate::domain::model::thousands;
use crate::domain::n8n_queue::{Level, QueueSample};
use crate::state::App;
use crate::state::n8n_queue::N8nQueueState;
use crate::theme::Theme;

fn sev_of(l: Level) -> Sev {
    match l {
        Level::Ok => Sev::Ok,
        Level::Warning => Sev::Warn,
        Level::Critical | Level::Unknown => Sev::Crit,
    }
}

fn level_style(th: &Theme, l: Level) -> Style {
    sev_of(l).style(th)
}

/// The waiting count against the seed's lines: "waiting 37 ▲ WARN (>50)".
fn waiting_line(th: &Theme, q: &N8nQueueState, s: &QueueSample, app: &App) -> Line<'static> {
    let w = s.counts.waiting;
    let (sev, limit) = if w > q.rules.crit_waiting {
        (Sev::Crit, format!(" (>{})", q.rules.crit_waiting))
    } else if w > q.rules.warn_waiting {
        (Sev::Warn, format!(" (>{})", q.rules.warn_waiting))
    } else {
        (Sev::Ok, String::new())
    };
    let mut v = vec![
        Span::styled(format!("waiting {} ", thousands(w as i64)), th.title),
        Span::styled(format!("{}{limit}", sev.label()), sev.style(th)),
    ];
    if let Some(t) = s.next.as_ref().and_then(|j| j.enqueued_at) {
        v.push(Span::styled(" · next waited ", th.dim));
        v.push(Span::styled(age(app.now, t), th.base));
    }
    Line::from(v)
}

fn counts_line(th: &Theme, s: &QueueSample) -> Line<'static> {
    let c = s.counts;
    let mut v = vec![Span::styled(
        format!(
            "{} active · {} delayed · {} failed · {} completed",
            thousands(c.active as i64),
            thousands(c.delayed as i64),
            thousands(c.failed as i64),
            thousands(c.completed as i64)
        ),
        th.base,
    )];
    if s.paused || c.paused > 0 {
        v.push(Span::styled(
            format!(" · PAUSED {}", thousands(c.paused as i64)),
            th.warn,
        ));
    }
    Line::from(v)
}

fn workers_line(th: &Theme, s: &QueueSample) -> Line<'static> {
    let n = s.workers.len();
    let stalled = s.stalled().len();
    Line::from(vec![
        Span::styled(
            if s.workers_known {
                format!("{n} worker{}", if n == 1 { "" } else { "s" })
            } else {
                "workers ? (no CLIENT LIST)".to_string()
            },
            if n == 0 && s.counts.waiting > 0 {
                th.crit
            } else {
                th.base
            },
        ),
        Span::styled(format!(" · {} busy", s.busy_workers()), th.dim),
        Span::styled(
            format!(" · {stalled} stalled"),
            if stalled > 0 { th.warn } else { th.dim },
        ),
        Span::styled(format!(" · redis {:.1}ms", s.redis_ms), th.dim),
    ])
}

fn rates_line(th: &Theme, q: &N8nQueueState) -> Line<'static> {
    match q.rates(30) {
        Some((e, d)) => Line::from(vec![
            Span::styled(format!("in {e:.1}/min"), th.base),
            Span::styled(" · ", th.dim),
            Span::styled(format!("out {d:.1}/min"), th.base),
            Span::styled(" (last polls)", th.dim),
        ]),
        None => Line::styled("in/out: after the second read", th.dim),
    }
}

/// "DOWN 12s — Redis at h:6379: cannot connect" (or None while it answers).
fn down_line(th: &Theme, q: &N8nQueueState, app: &App) -> Option<Line<'static>> {
    let e = q.error.as_ref()?;
    let since = q.down_since.map(|t| age(app.now, t)).unwrap_or_default();
    Some(Line::from(vec![
        Span::styled(format!("✖ DOWN {since} "), th.crit),
        Span::styled(txt(&e.full, 200), th.base),
        Span::styled(" · retrying", th.dim),
    ]))
}

/// The Overview tile (not focusable: the Queue view's key opens the view, where the section is).
pub fn tile(f: &mut Frame, app: &App, r: Rect) {
    let th = &app.theme;
    let q = &app.n8n_queue;
    let title = format!(
        " n8n queue (Redis) [{}] ",
        crate::domain::refresh::ViewId::Queue.index() + 1
    );
    let blk = block(th, title, false);
    let inner = pad(blk.inner(r));
    f.render_widget(blk, r);
    let mut lines = Vec::new();
    if let Some(l) = down_line(th, q, app) {
        lines.push(l);
    }
    let Some(s) = q.sample() else {
        if lines.is_empty() {
            lines.push(Line::styled("reading…", th.dim));
        }
        draw_lines(f, inner, &lines);
        return;
    };
    lines.push(waiting_line(th, q, s, app));
    lines.push(counts_line(th, s));
    lines.push(workers_line(th, s));
    if let Some(v) = q.verdict(app.now)
        && let Some(first) = v.reasons.first()
    {
        lines.push(Line::styled(
            txt(first, inner.width as usize),
            level_style(th, v.level),
        ));
    } else {
        lines.push(rates_line(th, q));
    }
    let text_h = (lines.len() as u16).min(inner.height);
    let [text, spark] =
        Layout::vertical([Constraint::Length(text_h), Constraint::Fill(1)]).areas(inner);
    draw_lines(f, text, &lines);
    flow_sparks(f, th, q, spark);
}

/// Added (top) and taken (bottom) per poll, the newest on the right.
fn flow_sparks(f: &mut Frame, th: &Theme, q: &N8nQueueState, r: Rect) {
    if r.height == 0 || r.width < 8 || q.history.is_empty() {
        return;
    }
    // at most three rows each, top-aligned
    let each = (r.height / 2).clamp(1, 3);
    let [a, b, _] = if r.height >= 2 {
        Layout::vertical([
            Constraint::Length(each),
            Constraint::Length(each),
            Constraint::Fill(1),
        ])
        .areas(r)
    } else {
        [r, Rect::default(), Rect::default()]
    };
    let n = (r.width as usize).saturating_sub(4);
    let from = q.history.len().saturating_sub(n);
    let added: Vec<u64> = q.history.iter().skip(from).map(|f| f.enqueued).collect();
    let taken: Vec<u64> = q.history.iter().skip(from).map(|f| f.dequeued).collect();
    for (area, label, data) in [(a, "in ", added), (b, "out", taken)] {
        if area.height == 0 {
            continue;
        }
        let [l, s] = Layout::horizontal([Constraint::Length(4), Constraint::Fill(1)]).areas(area);
        f.render_widget(Line::styled(label, th.dim), l);
        f.render_widget(Sparkline::default().data(&data).style(th.sparkline), s);
    }
}

/// Lines of the Queue view's section, the most urgent first: down, waiting, the reasons, the
/// health line; then the details (a small screen cuts those).
fn section_lines(app: &App) -> Vec<Line<'static>> {
    let th = &app.theme;
    let q = &app.n8n_queue;
    let mut lines = Vec::new();
    if let Some(l) = down_line(th, q, app) {
        lines.push(l);
    }
    let sample = q.sample();
    if let Some(s) = sample {
        if q.error.is_some()
            && let Some((at, _)) = &q.last
        {
            lines.push(Line::styled(
                format!("last read {} ago:", age(app.now, *at)),
                th.dim,
            ));
        }
        lines.push(waiting_line(th, q, s, app));
    } else if lines.is_empty() {
        lines.push(Line::styled("reading…", th.dim));
    }
    if let Some(v) = q.verdict(app.now) {
        for (r, l) in v.reasons.iter().zip(&v.levels) {
            lines.push(Line::styled(format!("▲ {r}"), level_style(th, *l)));
        }
    }
    lines.push(health_line(app));
    let Some(s) = sample else {
        return lines;
    };
    lines.push(counts_line(th, s));
    if let Some(j) = &s.next {
        lines.push(Line::styled(
            format!(
                "next in line: job {}{}{}",
                j.job_id,
                j.execution_id
                    .as_deref()
                    .map(|e| format!(" · execution {e}"))
                    .unwrap_or_default(),
                j.workflow_id
                    .as_deref()
                    .map(|w| format!(" · workflow {w}"))
                    .unwrap_or_default()
            ),
            th.dim,
        ));
    }
    lines.push(workers_line(th, s));
    if !s.workers.is_empty() {
        lines.push(Line::styled(
            s.workers
                .iter()
                .take(6)
                .map(|w| {
                    format!(
                        "{} up {} idle {}s",
                        w.addr,
                        super::widgets::span(w.age_secs as i64),
                        w.idle_secs
                    )
                })
                .collect::<Vec<_>>()
                .join(" · "),
            th.dim,
        ));
    }
    for j in s.stalled().iter().take(3) {
        lines.push(Line::styled(
            format!(
                "stalled: job {}{} — active without a lock{}",
                j.job_id,
                j.execution_id
                    .as_deref()
                    .map(|e| format!(" (execution {e})"))
                    .unwrap_or_default(),
                j.started_at
                    .map(|t| format!(", started {} ago", age(app.now, t)))
                    .unwrap_or_default()
            ),
            th.warn,
        ));
    }
    lines.push(rates_line(th, q));
    lines
}

/// One line, one mark per component: Redis, the main, each worker, the database.
fn health_line(app: &App) -> Line<'static> {
    let th = &app.theme;
    let q = &app.n8n_queue;
    let mut health: Vec<Span<'static>> = Vec::new();
    let mut push = |ok: bool, text: String| {
        if !health.is_empty() {
            health.push(Span::styled(" · ", th.dim));
        }
        health.push(Span::styled(
            format!("{} {text}", if ok { "✔" } else { "✖" }),
            if ok { th.ok } else { th.crit },
        ));
    };
    match (&q.error, q.sample()) {
        (Some(e), _) => push(false, format!("redis {}", e.short)),
        (None, Some(s)) => push(true, format!("redis {:.1} ms", s.redis_ms)),
        _ => {}
    }
    for h in &q.health {
        let since = q
            .failing_since
            .iter()
            .find(|(c, _)| c == &h.component)
            .map(|(_, t)| format!(" for {}", age(app.now, *t)))
            .unwrap_or_default();
        push(
            h.ok,
            format!(
                "{} {}{}{since}",
                h.component,
                h.detail,
                h.latency_ms
                    .filter(|_| h.ok)
                    .map(|m| format!(" {m:.0} ms"))
                    .unwrap_or_default()
            ),
        );
    }
    push(
        !app.conn.is_lost(),
        if app.conn.is_lost() {
            "database disconnected, retrying".into()
        } else {
            "database".into()
        },
    );
    Line::from(health)
}

/// How tall the Queue view's section wants to be.
pub fn section_height(app: &App) -> u16 {
    section_lines(app).len() as u16 + 2 + 2
}

/// The section on top of the Queue view.
pub fn section(f: &mut Frame, app: &App, r: Rect) {
    let th = &app.theme;
    let q = &app.n8n_queue;
    let title = format!(" n8n queue · Redis {} · prefix {} ", q.target, q.prefix);
    let blk = block(th, title, false);
    let inner = pad(blk.inner(r));
    f.render_widget(blk, r);
    let lines = section_lines(app);
    let [text, spark] = Layout::vertical([
        Constraint::Length((lines.len() as u16).min(inner.height)),
        Constraint::Fill(1),
    ])
    .areas(inner);
    draw_lines(f, text, &lines);
    flow_sparks(f, th, q, spark);
}
