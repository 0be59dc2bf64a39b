//! Capacity: every event's sold / capacity against the seed's 80 / 90 / 100 % thresholds
//! (word + symbol, never colour alone), and the open alerts.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

use super::fast::{ListCell, draw_lines, draw_list};
use super::widgets::{
    age, bar, block, capacity_state, draw_doc, kv, kv_styled, list_title, pad, txt,
};
use crate::domain::model::{EventCapacity, thousands};
use crate::state::App;
use crate::state::table::Width;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    if app.capacity.list.detail.is_some() {
        return detail(f, app, area);
    }
    let th = &app.theme;
    let alerts = &app.capacity.alerts;
    // one line per event (its highest threshold; the lower ones still open said after it)
    let by_event = crate::domain::model::capacity_alerts_by_event(alerts);
    let ah = if alerts.is_empty() {
        3
    } else {
        (by_event.len() as u16 + 2).min(6)
    };
    let [list, al] = Layout::vertical([Constraint::Fill(1), Constraint::Length(ah)]).areas(area);
    let l = &app.capacity.list;
    let now = app.now;
    let wide = area.width >= 120;
    let gauge_w: u16 = if wide { 20 } else { 10 };
    // the "% sold" column holds the gauge and " 100%": it grows with the gauge
    let mut cols = l.table.columns().to_vec();
    for c in cols.iter_mut().filter(|c| c.header == "% sold") {
        c.width = Width::Fixed(gauge_w + 5);
    }
    draw_list(
        f,
        list,
        th,
        list_title(&l.table, "Capacity", &l.filter.text),
        &l.table,
        &cols,
        &app.empty_text("events", "no events"),
        |e: &EventCapacity| {
            let (sev, label) = capacity_state(e.threshold());
            let p = e.percent();
            vec![
                ListCell::from(if wide {
                    format!("{} · {}", txt(&e.name, 50), txt(&e.venue_name, 30))
                } else {
                    txt(&e.name, 50)
                }),
                ListCell::from(if e.start_at <= now {
                    format!("{} ago", age(now, e.start_at))
                } else {
                    age(now, e.start_at)
                }),
                ListCell::from(format!(
                    "{:>6}/{}",
                    thousands(e.sold),
                    thousands(e.capacity)
                )),
                ListCell::from(format!(
                    "{} {:>3.0}%",
                    bar(p / 100.0, gauge_w as usize),
                    p.floor()
                ))
                .style(sev.gauge(th)),
                ListCell::from(label).style(sev.style(th)),
            ]
        },
    );
    let events = by_event.len();
    let title = if events == 0 {
        " Open alerts (0) ".to_string()
    } else {
        format!(
            " Open alerts ({} on {events} event{}) ",
            alerts.len(),
            if events == 1 { "" } else { "s" }
        )
    };
    let blk = block(th, title, false);
    let inner = pad(blk.inner(al));
    f.render_widget(blk, al);
    if alerts.is_empty() {
        f.render_widget(Line::styled("● no open capacity alerts", th.ok), inner);
        return;
    }
    let room = inner.height as usize;
    // the lines that fit; the last says how many events are left out
    let shown = if events > room {
        room.saturating_sub(1)
    } else {
        events
    };
    let mut lines: Vec<Line> = by_event
        .iter()
        .take(shown)
        .map(|(a, lower)| {
            let (sev, label) = capacity_state(Some(a.threshold.clamp(0, 255) as u8));
            let also = if lower.is_empty() {
                String::new()
            } else {
                let l: Vec<String> = lower.iter().map(|t| format!("{t} %")).collect();
                format!("  (also open: {})", l.join(", "))
            };
            Line::from(vec![
                Span::styled(format!("{label:<15}"), sev.style(th)),
                Span::styled(txt(&a.event_name, 40), th.base),
                Span::styled(
                    format!(
                        "  {}/{} when raised {} ago{also}",
                        thousands(a.sold),
                        thousands(a.capacity),
                        age(now, a.created_at)
                    ),
                    th.dim,
                ),
            ])
        })
        .collect();
    if shown < events {
        lines.push(Line::styled(
            format!("+{} more events", events - shown),
            th.dim,
        ));
    }
    draw_lines(f, inner, &lines);
}

fn detail(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let Some(e) = app.capacity.list.detail_row() else {
        let lines = vec![Line::styled("the event is gone — Esc goes back", th.dim)];
        return draw_doc(f, area, th, " Event ".into(), lines, &Default::default());
    };
    let (sev, label) = capacity_state(e.threshold());
    let p = e.percent();
    let mut lines = vec![
        Line::styled(txt(&e.name, 80), th.title),
        kv(
            th,
            "venue",
            format!(
                "{}{}",
                txt(&e.venue_name, 50),
                e.city
                    .as_deref()
                    .map_or(String::new(), |c| format!(", {}", txt(c, 30)))
            ),
        ),
        kv(
            th,
            "starts",
            format!(
                "{} ({})",
                age(app.now, e.start_at),
                e.start_at.format("%a %d %b %H:%M UTC")
            ),
        ),
        kv(th, "status", txt(&e.status, 20)),
        kv_styled(
            th,
            "sold",
            format!(
                "{} of {} — {:.1}%  {}",
                thousands(e.sold),
                thousands(e.capacity),
                p,
                bar(p / 100.0, 30)
            ),
            sev.gauge(th),
        ),
        kv_styled(th, "state", label, sev.style(th)),
        kv(
            th,
            "thresholds",
            "80% alert · 90% waitlist + marketing push · 100% sold out",
        ),
        Line::default(),
    ];
    let mine: Vec<_> = app
        .capacity
        .alerts
        .iter()
        .filter(|a| a.event_id == e.id)
        .collect();
    lines.push(Line::styled(
        format!("Open alerts for this event: {}", mine.len()),
        th.header,
    ));
    for a in mine {
        lines.push(Line::styled(
            format!(
                "{}% at {}/{} — {} ago",
                a.threshold,
                thousands(a.sold),
                thousands(a.capacity),
                age(app.now, a.created_at)
            ),
            th.base,
        ));
    }
    draw_doc(
        f,
        area,
        th,
        " Event · Esc back ".into(),
        lines,
        &app.capacity.list.scroll,
    );
}
