//! The control room's alerts: the alert bar under the tabs (what fires and nobody has
//! acknowledged, worst first) and the Alerts list (`!`).
//!
//! ```text
//! ✖ ALERT queue depth 134 > 100, oldest pending 4m · 2m ago   +2 more · ! alerts
//! ┌ ALERTS · 1 firing · 1 acked · 2 cleared today ───────────────────────────────┐
//! │   level  raised   what                                   standing             │
//! │ ▶ ✖ CRIT 21:03    queue depth 134 > 100                  firing               │
//! │   ▲ WARN 20:41    Gala at 92 % (1840/2000): waitlist     acked by ana 22m ago… │
//! │ A acknowledge · X silence (1h) · ↑↓ choose · Esc close                          │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{block, clear, span};
use crate::domain::alert::{Level, Standing};
use crate::domain::sanitize::{clean, clean_trunc, width};
use crate::state::App;

fn level_style(app: &App, l: Level) -> Style {
    if l == Level::Critical {
        app.theme.crit
    } else {
        app.theme.warn
    }
}

fn glyph(l: Level) -> &'static str {
    if l == Level::Critical {
        "✖ CRIT"
    } else {
        "▲ WARN"
    }
}

/// What the bar shows: the database unreachable (this console's own view), then the firing
/// alerts. Empty: no bar.
pub fn bar_items(app: &App) -> Vec<(Level, String)> {
    let mut v = Vec::new();
    if let crate::state::Conn::Lost { since, .. } = &app.conn
        && app.alerts.rules.database_down
    {
        v.push((
            Level::Critical,
            format!(
                "database unreachable for {} (this console)",
                span((app.now - *since).num_seconds())
            ),
        ));
    }
    for (l, m, at) in app.alerts.in_bar(app.now) {
        let when = at
            .map(|t| format!(" · {} ago", super::widgets::age(app.now, t)))
            .unwrap_or_default();
        v.push((l, format!("{}{when}", clean(&m))));
    }
    v
}

/// The alert bar: the worst firing alert, and how many more.
pub fn draw_bar(f: &mut Frame, app: &App, area: Rect, items: &[(Level, String)]) {
    let Some((l, text)) = items.first() else {
        return;
    };
    let style = level_style(app, *l).add_modifier(Modifier::REVERSED | Modifier::BOLD);
    let tail = if items.len() > 1 {
        format!("  +{} more · ! alerts ", items.len() - 1)
    } else {
        "  ! alerts ".to_string()
    };
    let head = format!(
        " {} ",
        if *l == Level::Critical {
            "✖ ALERT"
        } else {
            "▲ ALERT"
        }
    );
    let room = (area.width as usize)
        .saturating_sub(width(&head) + width(&tail) + 1)
        .max(10);
    let body = clean_trunc(text, room);
    let pad = (area.width as usize).saturating_sub(width(&head) + width(&body) + width(&tail) + 1);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(head, style),
            Span::styled(format!(" {body}"), level_style(app, *l)),
            Span::raw(" ".repeat(pad)),
            Span::styled(tail, app.theme.dim),
        ])),
        area,
    );
}

/// The Alerts list.
pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let now = app.now;
    let rows = app.alerts.rows(now);
    let count = |s: Standing| rows.iter().filter(|a| a.standing(now) == s).count();
    let title = format!(
        " ALERTS · {} firing · {} acked · {} silenced · {} cleared (24h) ",
        count(Standing::Firing),
        count(Standing::Acked),
        count(Standing::Silenced),
        count(Standing::Cleared)
    );
    // the whole body: nothing of the view underneath shows through
    let r = area;
    clear(f, r);
    let outer = block(th, title, true);
    let inner = outer.inner(r);
    f.render_widget(outer, r);
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let w = inner.width as usize;
    // what: the rest, shared with the standing note (which gets at most half)
    let fixed = 2 + 7 + 7;
    let rest = w.saturating_sub(fixed);
    let what_w = (rest * 11 / 20).max(20);
    let note_w = rest.saturating_sub(what_w + 1);
    f.render_widget(
        Paragraph::new(Line::styled(
            format!(
                "  {:<7}{:<7}{:<what_w$} {}",
                "level", "raised", "what", "standing"
            ),
            th.header,
        )),
        head,
    );
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &app.alerts.error {
        lines.push(Line::styled(clean_trunc(e, w), th.warn));
        for fi in &app.alerts.firing {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<7}", glyph(fi.level)),
                    level_style(app, fi.level),
                ),
                Span::styled(format!("{:<7}", "now"), th.dim),
                Span::styled(clean_trunc(&fi.message, what_w + note_w), th.base),
            ]));
        }
    } else if rows.is_empty() {
        lines.push(Line::styled(
            "No alert in the last 24 hours: nothing crossed a line.",
            th.dim,
        ));
    }
    let sel = app.alerts.sel.min(rows.len().saturating_sub(1));
    let skip = sel.saturating_sub((body.height as usize).saturating_sub(1));
    for (i, a) in rows.iter().enumerate().skip(skip) {
        let st = a.standing(now);
        let note = match st {
            Standing::Firing => "firing".to_string(),
            _ => a.note(now),
        };
        let row_style = if st == Standing::Cleared {
            th.dim
        } else {
            th.base
        };
        let mut spans = vec![
            Span::styled(if i == sel { "▶ " } else { "  " }, th.accent),
            Span::styled(
                format!("{:<7}", glyph(a.level)),
                if st == Standing::Cleared {
                    th.dim
                } else {
                    level_style(app, a.level)
                },
            ),
            Span::styled(format!("{:<7}", a.raised_at.format("%H:%M")), th.dim),
            Span::styled(
                format!("{:<what_w$} ", clean_trunc(&a.message, what_w)),
                row_style,
            ),
            Span::styled(
                clean_trunc(&note, note_w),
                match st {
                    Standing::Firing => level_style(app, a.level),
                    _ => th.dim,
                },
            ),
        ];
        if i == sel {
            for s in spans.iter_mut().skip(1) {
                s.style = s.style.patch(th.selected);
            }
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), body);
    let hint = if app.mode == crate::domain::mode::Mode::ReadOnly {
        "read-only: acknowledging and silencing are disabled · ↑↓ choose · Esc close".to_string()
    } else {
        format!(
            "A acknowledge · X silence ({}; start the comment with 30m, 2h or 1d for another length) · ↑↓ · Esc",
            crate::domain::action::minutes_text(app.alerts.rules.silence_min)
        )
    };
    f.render_widget(
        Paragraph::new(Line::styled(clean_trunc(&hint, w), th.dim)),
        foot,
    );
}

/// The incident timeline (`:timeline`): time, kind, who, what; newest at the bottom.
pub fn draw_timeline(f: &mut Frame, app: &App, area: Rect, u: &crate::state::room::TimelineUi) {
    let th = &app.theme;
    clear(f, area);
    let n = u.entries.as_ref().map_or(0, Vec::len);
    let title = format!(
        " TIMELINE · last {}h · {n} entries · j/k scroll · g/G ends · r reads again · Esc ",
        crate::state::room::TIMELINE_HOURS
    );
    let outer = block(th, title, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let w = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &u.error {
        lines.push(Line::styled(
            clean_trunc(&format!("could not read the timeline: {e}"), w),
            th.warn,
        ));
    }
    for m in &u.missing {
        lines.push(Line::styled(
            clean_trunc(&format!("not in this record: {m}"), w),
            th.dim,
        ));
    }
    let Some(entries) = &u.entries else {
        lines.push(Line::styled("reading…", th.dim));
        f.render_widget(Paragraph::new(lines), inner);
        return;
    };
    if entries.is_empty() {
        lines.push(Line::styled("nothing happened in this window", th.dim));
    }
    let room = (inner.height as usize).saturating_sub(lines.len()).max(1);
    let sel = u.top.min(n.saturating_sub(1));
    let start = (sel + 1).saturating_sub(room);
    let who_w = 18;
    for (i, e) in entries.iter().enumerate().skip(start).take(room) {
        use crate::domain::timeline::Kind;
        let kind_style = match e.kind {
            Kind::Alert => th.crit,
            Kind::Errors => th.warn,
            Kind::Broadcast => th.accent,
            _ => th.base,
        };
        let what_w = w.saturating_sub(9 + 10 + who_w + 2);
        let mut spans = vec![
            Span::styled(format!("{} ", e.at.format("%H:%M:%S")), th.dim),
            Span::styled(format!("{:<10}", e.kind.word()), kind_style),
            Span::styled(
                format!(
                    "{:<who_w$} ",
                    clean_trunc(e.who.as_deref().unwrap_or(""), who_w)
                ),
                th.base,
            ),
            Span::styled(clean_trunc(&e.what, what_w), th.base),
        ];
        if i == sel {
            for s in spans.iter_mut() {
                s.style = s.style.patch(th.selected);
            }
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
