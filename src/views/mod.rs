//! Drawing only: reads the state, never queries, returns nothing. One file per view, shared
//! pieces in `widgets`.

mod alerts;
mod approvals;
mod audit;
mod awaiting;
mod broadcast;
mod capacity;
mod contexts;
mod dialog;
mod errors;
pub mod fast;
mod n8n;
mod n8n_queue;
mod overview;
mod queue;
mod recon;
mod runs;
pub mod widgets;
mod workflows;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::domain::mode::Mode;
use crate::domain::refresh::{Listen, ViewId};
use crate::domain::sanitize;
use crate::state::{App, Conn, HelpRow, Overlay};
use widgets::{block, centered, clear, span};

/// Draws the whole console.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    fast::set_style(f.buffer_mut(), area, app.theme.base);
    if area.width < 80 || area.height < 24 {
        too_small(f, app, area);
        return;
    }
    let editing = app.editing_filter();
    let bar = alerts::bar_items(app);
    let [tabs, alert_bar, body, filter, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(if bar.is_empty() { 0 } else { 1 }),
        Constraint::Fill(1),
        Constraint::Length(if editing { 1 } else { 0 }),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(f, app, tabs);
    alerts::draw_bar(f, app, alert_bar, &bar);
    match app.view {
        ViewId::Overview => overview::draw(f, app, body),
        ViewId::Workflows => workflows::draw(f, app, body),
        ViewId::Runs => runs::draw(f, app, body),
        ViewId::Queue => queue::draw(f, app, body),
        ViewId::Errors => errors::draw(f, app, body),
        ViewId::Capacity => capacity::draw(f, app, body),
        ViewId::Reconciliation => recon::draw(f, app, body),
        ViewId::Approvals => approvals::draw(f, app, body),
        ViewId::Audit => audit::draw(f, app, body),
    }
    if app.conn.is_lost() {
        // the last data stays, greyed: it is not current
        fast::set_style(f.buffer_mut(), body, app.theme.dim);
    }
    if editing {
        draw_filter(f, app, filter);
    }
    draw_status(f, app, status);
    if let Some(t) = &app.toast {
        let text = sanitize::clean_trunc(&t.text, body.width.saturating_sub(8).max(20) as usize);
        let w = sanitize::width(&text) as u16 + 4;
        let r = Rect {
            x: body.right().saturating_sub(w + 1),
            y: body.bottom().saturating_sub(3),
            width: w,
            height: 3,
        };
        clear(f, r);
        let style = if t.warn { app.theme.warn } else { app.theme.ok };
        f.render_widget(
            Paragraph::new(Line::styled(text, style)).block(block(&app.theme, "", true)),
            r,
        );
    }
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => draw_help(f, app, body, *scroll),
        Overlay::Palette(p) => draw_palette(f, app, body, p),
        Overlay::Dialog(d) => dialog::draw(f, app, body, d),
        Overlay::Broadcast(u) => broadcast::draw(f, app, body, u),
        Overlay::Awaiting(u) => awaiting::draw(f, app, body, u),
        Overlay::Alerts => alerts::draw(f, app, body),
        Overlay::Timeline(u) => alerts::draw_timeline(f, app, body, u),
        Overlay::Contexts => contexts::draw(f, app, body),
    }
}

fn too_small(f: &mut Frame, app: &App, area: Rect) {
    let msg = format!(
        "terminal too small (need 80×24, have {}×{}) — enlarge the window, or q to quit",
        area.width, area.height
    );
    let y = area.height / 2;
    f.render_widget(
        Paragraph::new(Line::styled(msg, app.theme.warn)).wrap(Wrap { trim: true }),
        Rect {
            y: area.y + y.saturating_sub(1),
            height: area.height.saturating_sub(y.saturating_sub(1)),
            ..area
        },
    );
}

fn draw_tabs(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let full: usize = ViewId::ALL.iter().map(|v| v.title().len() + 4).sum();
    let wide = full + 10 <= area.width as usize;
    let mut spans = vec![Span::styled(" opsdeck ", th.title)];
    if !wide {
        spans.clear();
    }
    for v in ViewId::ALL {
        // narrow: " 1 Ovw" (77 columns for all nine); wide: " 1 Overview "
        let label = if wide {
            format!(" {} {} ", v.index() + 1, v.title())
        } else {
            format!(" {} {}", v.index() + 1, v.short())
        };
        let style = if v == app.view {
            th.tab_active
        } else {
            th.tab_inactive
        };
        spans.push(Span::styled(label, style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_filter(f: &mut Frame, app: &App, area: Rect) {
    let text = app
        .list(app.view)
        .map(|l| l.filter().text.clone())
        .unwrap_or_default();
    let hint = if app.view.filter_in_db() {
        "  (status:x type:x words · Enter keep · Esc clear)"
    } else {
        "  (words status:x · Enter keep · Esc clear)"
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("/", app.theme.accent),
            Span::styled(sanitize::clean(&text), app.theme.base),
            Span::styled("▏", app.theme.accent),
            Span::styled(hint, app.theme.dim),
        ])),
        area,
    );
}

/// Mode, database, connection, data age, key hints.
fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let bar = th.status_bar;
    let mode_style = match app.mode {
        Mode::Demo => th.mode_demo,
        Mode::Live => th.mode_live,
        Mode::ReadOnly => th.mode_read_only,
    };
    let sep = Span::styled(" │ ", bar);
    let mut s = vec![
        Span::styled(format!(" {} ", app.mode.label()), mode_style),
        Span::styled(" ", bar),
    ];
    // the context (k9s-like): production in the alert colour, so nobody mistakes it for staging
    if let Some((name, prod)) = &app.context {
        let (text, style) = if *prod {
            (
                format!(" PROD {} ", sanitize::clean_trunc(name, 20)),
                th.crit.add_modifier(ratatui::style::Modifier::REVERSED),
            )
        } else {
            (
                format!(" ctx {} ", sanitize::clean_trunc(name, 20)),
                bar.patch(th.accent),
            )
        };
        s.push(Span::styled(text, style));
        s.push(Span::styled(" ", bar));
    }
    // another context wants a look (unreachable, critical errors, open alerts): say which
    let others = app.others_needing_a_look();
    if let Some(first) = others.first() {
        let what = if !first.reachable {
            "unreachable".to_string()
        } else if first.open_alerts.unwrap_or(0) > 0 {
            let n = first.open_alerts.unwrap_or(0);
            format!("{n} alert{}", if n == 1 { "" } else { "s" })
        } else {
            let n = first.critical_errors.unwrap_or(0);
            format!("{n} critical")
        };
        let more = if others.len() > 1 {
            format!(" +{}", others.len() - 1)
        } else {
            String::new()
        };
        s.push(Span::styled(
            format!(
                " ⚠ {}: {what}{more} · :ctx ",
                sanitize::clean_trunc(&first.name, 16)
            ),
            bar.patch(th.warn),
        ));
        s.push(Span::styled(" ", bar));
    }
    // four-eyes: broadcasts waiting for a second operator, where every operator looks
    let waiting = app.awaiting.len();
    if waiting > 0 {
        s.push(Span::styled(
            format!(
                " ! {waiting} broadcast{} await{} approval (B) ",
                if waiting == 1 { "" } else { "s" },
                if waiting == 1 { "s" } else { "" }
            ),
            th.live_alert
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        s.push(Span::styled(" ", bar));
    }
    if let Some(since) = app.frozen_since() {
        let data = app
            .loaded_at(app.view)
            .map(|t| format!(" · data {} old", span((app.now - t).num_seconds())))
            .unwrap_or_default();
        s.push(Span::styled(
            format!(
                " ❄ FROZEN {}{data} · Z catches up ",
                span((app.now - since).num_seconds())
            ),
            th.warn.add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        s.push(Span::styled(" ", bar));
    }
    s.push(Span::styled(sanitize::clean_trunc(&app.db_label, 28), bar));
    s.push(sep.clone());
    // who acts: the login and its role (a real database; the demo's label says DEMO)
    if app.mode != Mode::Demo && app.access.login.is_some() {
        s.push(Span::styled(app.access.label(), bar));
        s.push(sep.clone());
    }
    let age = app
        .loaded_at(app.view)
        .map(|t| span((app.now - t).num_seconds()));
    match &app.conn {
        Conn::Lost { retry_at, .. } => {
            let n = (*retry_at - app.now).num_seconds().max(0);
            s.push(Span::styled(
                format!("✖ disconnected — retrying in {n}s"),
                bar.patch(th.crit),
            ));
            s.push(sep.clone());
            s.push(Span::styled(
                match age {
                    Some(a) => format!("data {a} old"),
                    None => "no data".into(),
                },
                bar.patch(th.warn),
            ));
        }
        Conn::Connecting => s.push(Span::styled("… connecting", bar)),
        Conn::Connected => {
            // the dot pulses once per PULSE_SECS: the console is alive, at a few bytes a time
            let dot = if (app.now.timestamp() / crate::state::PULSE_SECS) % 2 == 0 {
                "●"
            } else {
                "◉"
            };
            let every = app.poll_every.as_secs();
            let how = match app.listen {
                Listen::Up => format!("{dot} live (notify)"),
                Listen::Off => format!("{dot} poll {every}s"),
                Listen::Down => format!("{dot} poll {every}s (notify down)"),
                Listen::Pooled => format!("{dot} poll {every}s · pooler"),
                Listen::Unheard => format!("{dot} poll {every}s (notify unheard)"),
            };
            s.push(Span::styled(how, bar.patch(th.ok)));
            s.push(sep.clone());
            if let Some(rf) = app.read_from {
                use crate::domain::refresh::ReadFrom;
                let (t, st) = match rf {
                    ReadFrom::Replica { lag_s } if lag_s < 5.0 => {
                        (format!("replica lag {lag_s:.1}s"), bar.patch(th.ok))
                    }
                    ReadFrom::Replica { lag_s } => {
                        (format!("replica lag {lag_s:.0}s"), bar.patch(th.warn))
                    }
                    ReadFrom::CatchingUp => ("primary (replica catching up)".into(), bar),
                    ReadFrom::ReplicaDown => (
                        "replica down: reading the primary".into(),
                        bar.patch(th.warn),
                    ),
                };
                s.push(Span::styled(t, st));
                s.push(sep.clone());
            }
            // the connection stands but this view's read failed (a permission, a timeout)
            let failed = app.read_failed.as_ref().filter(|(v, ..)| *v == app.view);
            if let Some((_, why, _)) = failed {
                s.push(Span::styled(
                    format!("✖ read failed: {}", sanitize::clean_trunc(why, 60)),
                    bar.patch(th.warn),
                ));
                s.push(sep.clone());
            }
            // no ticking age while the data is fresh: it shows (and ticks) once the data is
            // older than expected, with ⟳ while a read is under way
            let stale = app.stale_for(app.view);
            let busy = if app.inflight.reading(app.view) && (stale.is_some() || age.is_none()) {
                " ⟳"
            } else {
                ""
            };
            s.push(Span::styled(
                match (age, stale) {
                    (Some(a), _) if failed.is_some() => format!("data {a} old{busy}"),
                    (Some(_), Some(secs)) => format!("updated {} ago{busy}", span(secs)),
                    // frozen: the FROZEN mark says the data's age; "up to date" would not be
                    (Some(_), None) if app.frozen_since().is_some() => "held".to_string(),
                    (Some(_), None) => "up to date".to_string(),
                    (None, _) if failed.is_some() => format!("no data{busy}"),
                    (None, _) => format!("loading{busy}"),
                },
                if stale.is_some() {
                    bar.patch(th.warn)
                } else {
                    bar
                },
            ));
        }
    }
    if let Some(t) = app.n8n.status_text(app.now) {
        s.push(sep.clone());
        let style = match app.n8n.up {
            Some(true) => bar.patch(th.ok),
            Some(false) => bar.patch(th.crit),
            None => bar,
        };
        s.push(Span::styled(t, style));
    }
    let used: usize = s.iter().map(|x| sanitize::width(&x.content)).sum();
    let room = (area.width as usize).saturating_sub(used);
    let hint = if room > 36 {
        " ?:help  ::cmd  /:filter  q:quit "
    } else {
        " ?:help q:quit "
    };
    if room > hint.chars().count() {
        s.push(Span::styled(" ".repeat(room - hint.chars().count()), bar));
        s.push(Span::styled(hint, bar));
    } else {
        s.push(Span::styled(" ".repeat(room), bar));
    }
    f.render_widget(Paragraph::new(Line::from(s)).style(bar), area);
}

fn draw_help(f: &mut Frame, app: &App, body: Rect, scroll: usize) {
    let th = &app.theme;
    let mut lines = vec![Line::styled(
        format!("{} — keys", app.view.title()),
        th.header,
    )];
    let add = |list: Vec<HelpRow>, lines: &mut Vec<Line>| {
        for HelpRow {
            keys,
            description,
            mutating,
            needs,
        } in list
        {
            // every action works (issue 19: this said "not yet"); read-only disables them, and
            // where roles decide, a key the login's role lacks says which role it needs
            let note = if mutating && app.mode == Mode::ReadOnly {
                "  · read-only".to_string()
            } else if let Some(n) = needs {
                format!("  · disabled: {n}")
            } else {
                String::new()
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{keys:>14}  "), th.accent),
                Span::styled(format!("{description}{note}"), th.base),
            ]));
        }
    };
    add(app.help(false), &mut lines);
    lines.push(Line::styled("Everywhere", th.header));
    add(app.help(true), &mut lines);
    lines.push(Line::styled(
        "Filter: words, status:x, type:x — Esc clears. Palette: Tab completes.",
        th.dim,
    ));
    let h = (lines.len() as u16 + 2).min(body.height);
    let r = centered(body, body.width.saturating_sub(4).min(96), h);
    clear(f, r);
    let max = lines
        .len()
        .saturating_sub(r.height.saturating_sub(2) as usize);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((scroll.min(max) as u16, 0))
            .block(block(
                th,
                " help · j/k scroll · any other key closes ",
                true,
            )),
        r,
    );
}

fn draw_palette(f: &mut Frame, app: &App, body: Rect, p: &crate::state::Palette) {
    let th = &app.theme;
    let matches = p.matches();
    let shown = matches
        .len()
        .min(body.height.saturating_sub(5) as usize)
        .min(12);
    let r = Rect {
        height: shown as u16 + 3,
        ..centered(body, 60, shown as u16 + 3)
    };
    let r = Rect { y: body.y + 1, ..r };
    clear(f, r);
    let mut lines = vec![Line::from(vec![
        Span::styled(":", th.accent),
        Span::styled(sanitize::clean(&p.input), th.base),
        Span::styled("▏", th.accent),
    ])];
    if matches.is_empty() {
        lines.push(Line::styled("no matching command", th.dim));
    }
    for (i, e) in matches.iter().take(shown).enumerate() {
        let style: Style = if i == p.selected {
            th.selected
        } else {
            th.base
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<22}", e.name), style),
            Span::styled(e.what.clone(), th.dim),
        ]));
    }
    f.render_widget(
        Paragraph::new(lines).block(block(th, " command — Tab completes, Enter runs ", true)),
        r,
    );
}
