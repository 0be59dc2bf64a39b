//! The broadcast screens: compose (TEST and LIVE look different: colour, border, the word TEST
//! everywhere), the typed confirmation and countdown, and the progress view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

use super::widgets::{bar, clear};
use crate::domain::broadcast::Decision;
use crate::domain::broadcast::{Level, channel_counts_label};
use crate::domain::sanitize::{clean, clean_trunc};
use crate::state::App;
use crate::state::broadcast::{BroadcastUi, Field, Pending, Stage};

/// The broadcast screens' frame: thick in the live-alert colour, double in the test colour.
pub(super) fn frame_block<'a>(app: &App, test: bool, title: String) -> Block<'a> {
    let (style, kind) = if test {
        (app.theme.test_mode, BorderType::Double)
    } else {
        (app.theme.live_alert, BorderType::Thick)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(kind)
        .border_style(style)
        .title(Line::styled(title, style.add_modifier(Modifier::BOLD)))
}

fn mode_word(test: bool) -> &'static str {
    if test { "TEST" } else { "LIVE" }
}

pub fn draw(f: &mut Frame, app: &App, area: Rect, u: &BroadcastUi) {
    clear(f, area);
    if u.stage == Stage::Progress || (u.stage == Stage::Sending && u.broadcast_id().is_some()) {
        return draw_progress(f, app, area, u);
    }
    let title = if u.test {
        " TEST BROADCAST — only your test recipients · TEST ".to_string()
    } else {
        " LIVE BROADCAST — real people will be alerted ".to_string()
    };
    let outer = frame_block(app, u.test, title);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let [top, bottom] = Layout::vertical([Constraint::Fill(1), Constraint::Length(3)]).areas(inner);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
    let [form, msg] = Layout::vertical([Constraint::Length(5), Constraint::Fill(1)]).areas(left);

    let field = |name: &str, value: String, focus: bool| {
        let st = if focus {
            app.theme.selected
        } else {
            app.theme.base
        };
        Line::from(vec![
            Span::styled(format!("{name:<8}"), app.theme.header),
            Span::styled(format!("‹ {value} ›"), st),
        ])
    };
    let level_style = level_style(app, u.level);
    let target = u
        .target_label()
        .map(|t| clean_trunc(&t, 40))
        .unwrap_or_else(|| "(no event)".into());
    let lines = vec![
        Line::from(vec![
            Span::styled(format!("{:<8}", "Mode"), app.theme.header),
            Span::styled(
                format!(" {} ", mode_word(u.test)),
                if u.test {
                    app.theme.test_mode.add_modifier(Modifier::REVERSED)
                } else {
                    app.theme.live_alert.add_modifier(Modifier::REVERSED)
                },
            ),
            Span::styled("  Ctrl-T switches", app.theme.dim),
        ]),
        field(
            "Level",
            u.level.as_str().to_uppercase(),
            u.focus == Field::Level,
        )
        .patch_style(if u.focus == Field::Level {
            Style::default()
        } else {
            level_style
        }),
        field(
            "Scope",
            if u.venue_scope {
                "venue (today)"
            } else {
                "event"
            }
            .into(),
            u.focus == Field::Scope,
        ),
        field(
            if u.venue_scope { "Venue" } else { "Event" },
            target,
            u.focus == Field::Target,
        ),
    ];
    f.render_widget(Paragraph::new(lines), form);

    let seg = u.segments();
    let mut ta = u.message.clone();
    let tpl = u
        .template
        .and_then(|i| app.broadcast_templates.get(i))
        .map(|(n, _)| format!(" · template {n}"))
        .unwrap_or_default();
    ta.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(if u.focus == Field::Message {
                app.theme.border_focus
            } else {
                app.theme.border
            })
            .title(Line::styled(
                format!(" {} message{tpl} ", mode_word(u.test)),
                app.theme.title,
            ))
            .title_bottom(Line::styled(
                format!(" {} ", seg.label()),
                if seg.segments > 1 {
                    app.theme.warn
                } else {
                    app.theme.dim
                },
            )),
    );
    f.render_widget(&ta, msg);

    draw_preview(f, app, right, u);

    let (text, style) = match &u.stage {
        Stage::TypeName(typed) => (
            format!(
                "LIVE {}: type the {} name to confirm: {}▏  (Esc back)",
                u.level.as_str().to_uppercase(),
                if u.venue_scope { "venue" } else { "event" },
                clean(typed)
            ),
            app.theme.live_alert,
        ),
        Stage::Countdown(at) => (
            format!(
                "SENDING LIVE in {} s — Esc cancels",
                (*at - app.now).num_seconds().max(0)
            ),
            app.theme.live_alert.add_modifier(Modifier::BOLD),
        ),
        Stage::Sending => ("sending…".into(), app.theme.warn),
        _ => match &u.error {
            Some(e) => (clean(e), app.theme.warn),
            None => (
                format!(
                    "Tab field · ←→ change · Ctrl-N template · Ctrl-P preview · Ctrl-S send {} · Esc close",
                    mode_word(u.test)
                ),
                app.theme.dim,
            ),
        },
    };
    let text = match (&u.stage, &u.error) {
        (Stage::TypeName(_), Some(e)) => format!("{text}  — {}", clean(e)),
        _ => text,
    };
    f.render_widget(
        Paragraph::new(Line::styled(text, style))
            .wrap(Wrap { trim: true })
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .border_style(app.theme.border),
            ),
        bottom,
    );
}

fn draw_preview(f: &mut Frame, app: &App, area: Rect, u: &BroadcastUi) {
    let stale = u.fresh_preview().is_none();
    let title = format!(
        " {} preview{} ",
        mode_word(u.test),
        if stale && u.preview.is_some() {
            " (outdated: Ctrl-P)"
        } else {
            ""
        }
    );
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(if u.test {
            app.theme.test_mode
        } else {
            app.theme.border
        })
        .title(Line::styled(title, app.theme.title));
    let mut lines: Vec<Line> = Vec::new();
    match &u.preview {
        None => lines.push(Line::styled(
            "no preview yet: write the message, then Ctrl-P",
            app.theme.dim,
        )),
        Some(Err(e)) => lines.push(Line::styled(clean(e), app.theme.warn)),
        Some(Ok(p)) => {
            let st = if stale { app.theme.dim } else { app.theme.base };
            lines.push(Line::styled(format!("people      {}", p.plan.people), st));
            lines.push(Line::styled(format!("reached     {}", p.plan.reached), st));
            for (c, n) in &p.plan.by_channel {
                lines.push(Line::styled(format!("  {:<10}{n}", c.as_str()), st));
            }
            lines.push(Line::styled(
                format!("unreachable {}", p.plan.unreachable.len()),
                if p.plan.unreachable.is_empty() {
                    st
                } else {
                    app.theme.warn
                },
            ));
            for who in p.plan.unreachable.iter().take(3) {
                lines.push(Line::styled(
                    format!("  · {}", clean_trunc(&who.name, 30)),
                    app.theme.dim,
                ));
            }
            if p.plan.unreachable.len() > 3 {
                lines.push(Line::styled(
                    format!("  · … {} more", p.plan.unreachable.len() - 3),
                    app.theme.dim,
                ));
            }
            lines.push(Line::styled(
                format!("duplicates  {} (sent once)", p.plan.duplicates),
                st,
            ));
            if p.test {
                lines.push(Line::styled(
                    "TEST: only your test recipients",
                    app.theme.test_mode,
                ));
            }
            for w in p.warnings() {
                lines.push(Line::styled(format!("! {}", clean(&w)), app.theme.warn));
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(b),
        area,
    );
}

/// `0:42`, `12:05`, `1:02:03`.
pub fn elapsed(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A broadcast level's colour.
pub(super) fn level_style(app: &App, level: Level) -> Style {
    match level {
        Level::Critical | Level::Urgent => app.theme.crit,
        Level::Warning => app.theme.warn,
        Level::Info => app.theme.info,
    }
}

/// An approve/cancel answer: its message, green when carried out.
pub(super) fn decision_line<'a>(
    app: &App,
    decision: Option<&Result<Box<Decision>, String>>,
) -> Option<Line<'a>> {
    match decision? {
        Ok(d) => Some(Line::styled(
            clean(&d.message),
            if d.is_ok() {
                app.theme.ok
            } else {
                app.theme.warn
            },
        )),
        Err(e) => Some(Line::styled(clean(e), app.theme.crit)),
    }
}

fn draw_progress(f: &mut Frame, app: &App, area: Rect, u: &BroadcastUi) {
    let p = u.progress.as_deref();
    let test = p.map(|p| p.test).unwrap_or(false) || u.sent.as_ref().is_some_and(|s| s.test);
    if u.awaiting_approval() {
        return draw_waiting(f, app, area, u);
    }
    let title = match p {
        Some(p) => format!(
            " {} {} broadcast · {} '{}' · {} ",
            mode_word(test),
            p.level.to_uppercase(),
            p.scope,
            clean_trunc(&p.target, 30),
            p.status
        ),
        None => format!(" {} broadcast · reading… ", mode_word(test)),
    };
    let outer = frame_block(app, test, title);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(s) = &u.sent {
        lines.push(Line::styled(clean(&s.message), app.theme.dim));
        if let Some(w) = &s.webhook {
            lines.push(Line::styled(
                format!("n8n webhook: {}", clean(&w.message)),
                if w.ok { app.theme.ok } else { app.theme.warn },
            ));
        }
    }
    if let Some(l) = decision_line(app, u.decision.as_ref()) {
        lines.push(l);
    }
    if let Some(p) = p {
        if let Some(by) = &p.approved_by {
            lines.push(Line::styled(
                format!(
                    "triggered by {} · approved by {}",
                    clean(&p.triggered_by),
                    clean(by)
                ),
                app.theme.dim,
            ));
        }
        let pct = p.percent_done();
        lines.push(Line::from(vec![
            Span::styled(format!("{:>3}% done ", pct), app.theme.header),
            Span::styled(bar(pct as f64 / 100.0, 30), app.theme.gauge_ok),
        ]));
        lines.push(Line::styled(
            format!(
                "{:<10}{:>8}{:>8}{:>11}{:>8}",
                "channel", "queued", "sent", "delivered", "failed"
            ),
            app.theme.header,
        ));
        for (ch, c) in &p.by_channel {
            lines.push(Line::from(vec![
                Span::raw(format!(
                    "{:<10}{:>8}{:>8}{:>11}",
                    clean(ch),
                    c.queued,
                    c.sent,
                    c.delivered
                )),
                Span::styled(
                    format!("{:>8}", c.failed),
                    if c.failed > 0 {
                        app.theme.crit
                    } else {
                        app.theme.base
                    },
                ),
            ]));
        }
        let t = p.totals();
        if p.status == "cancelled" && t.other > 0 {
            lines.push(Line::styled(
                format!("cancelled   {} deliveries will not go out", t.other),
                app.theme.warn,
            ));
        }
        if !p.failed.is_empty() {
            lines.push(Line::styled("failed:", app.theme.crit));
        }
        for d in p.failed.iter().take(8) {
            lines.push(Line::raw(format!(
                "  {:<9}{:<20}{:<16}{}",
                clean(&d.channel),
                clean_trunc(&d.person, 19),
                clean_trunc(&d.address, 15),
                clean_trunc(&d.error, 40)
            )));
        }
        if p.failed.len() > 8 {
            lines.push(Line::styled(
                format!("  … {} more", p.failed.len() - 8),
                app.theme.dim,
            ));
        }
        if let Some(s) = &u.sent {
            lines.push(Line::styled(
                format!("planned: {}", channel_counts_label(&s.by_channel)),
                app.theme.dim,
            ));
        }
    }
    let help = match u.pending {
        Some(Pending::Retry) => "retry the failed deliveries? y / n".to_string(),
        Some(Pending::Cancel) => {
            let queued = p.map(|p| p.totals().queued).unwrap_or(0);
            format!(
                "CANCEL this broadcast: stop the {queued} deliveries still queued (those already out stay out)? y / n"
            )
        }
        Some(Pending::FollowUp(k)) => format!(
            "send the {} to the same people ({})? y / n",
            match k {
                crate::domain::broadcast::FollowUp::AllClear => "ALL-CLEAR",
                crate::domain::broadcast::FollowUp::Correction => "CORRECTION",
            },
            mode_word(test)
        ),
        None => match &u.error {
            Some(e) => clean(e),
            None if u.cancellable() => {
                "r retry failed · a all-clear · c correction · x cancel the rest · Esc close".into()
            }
            None => "r retry failed · a all-clear · c correction · Esc close".into(),
        },
    };
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
    f.render_widget(
        Paragraph::new(Line::styled(
            help,
            if u.pending.is_some() {
                app.theme.warn
            } else {
                app.theme.dim
            },
        )),
        foot,
    );
}

/// A broadcast under the four-eyes rule, waiting: what it is, a live timer, how it gets approved
/// and how to cancel it.
fn draw_waiting(f: &mut Frame, app: &App, area: Rect, u: &BroadcastUi) {
    let p = u.progress.as_deref();
    let id = u.broadcast_id().map(|i| i.to_string()).unwrap_or_default();
    let title = match p {
        Some(p) => format!(
            " LIVE {} broadcast · {} '{}' · AWAITING APPROVAL ",
            p.level.to_uppercase(),
            p.scope,
            clean_trunc(&p.target, 30)
        ),
        None => " LIVE broadcast · AWAITING APPROVAL ".to_string(),
    };
    let outer = frame_block(app, false, title);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let secs = u.waiting_since().map(|t| (app.now - t).num_seconds());
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                " waiting for a second operator ",
                app.theme
                    .live_alert
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ),
            Span::styled(
                format!(" {}", secs.map(elapsed).unwrap_or_else(|| "…".into())),
                app.theme.live_alert.add_modifier(Modifier::BOLD),
            ),
        ]),
        Line::raw(""),
        Line::styled(
            "Nothing has been sent. The four-eyes rule holds this level until a different operator approves it:",
            app.theme.base,
        ),
        Line::styled(
            "  on another console (B, or :broadcasts), or with the CLI:",
            app.theme.base,
        ),
        Line::styled(
            format!("  opsdeck broadcast approve {id}"),
            app.theme.accent,
        ),
        Line::raw(""),
    ];
    if let Some(p) = p {
        lines.push(Line::styled(
            format!("message     {}", clean_trunc(&p.message, 80)),
            app.theme.base,
        ));
        lines.push(Line::styled(
            format!("triggered   by {}", clean(&p.triggered_by)),
            app.theme.base,
        ));
        let held: Vec<String> = p
            .by_channel
            .iter()
            .map(|(c, n)| format!("{} {}", clean(c), n.other))
            .collect();
        lines.push(Line::styled(
            format!("held        {}", held.join(" · ")),
            app.theme.base,
        ));
    } else if let Some(s) = &u.sent {
        lines.push(Line::styled(
            format!("held        {}", channel_counts_label(&s.by_channel)),
            app.theme.base,
        ));
    }
    if let Some(l) = decision_line(app, u.decision.as_ref()) {
        lines.push(Line::raw(""));
        lines.push(l);
    }
    let (help, style) = match (u.pending, &u.error) {
        (Some(Pending::Cancel), _) => (
            "CANCEL this broadcast? Nothing has been sent. y / n".to_string(),
            app.theme.warn,
        ),
        (_, Some(e)) => (clean(e), app.theme.warn),
        _ => (
            "Esc or c cancel the broadcast · q close this screen (it keeps waiting)".to_string(),
            app.theme.dim,
        ),
    };
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
    f.render_widget(Paragraph::new(Line::styled(help, style)), foot);
}
