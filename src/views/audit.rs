//! Audit: operator actions — when, who, from where, what, outcome.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::fast::{ListCell, draw_list};
use super::widgets::{
    age, draw_doc, heading, json_lines, kv, kv_styled, list_title, status_style, txt,
};
use crate::domain::model::OperatorAction;
use crate::state::App;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    if app.audit.detail.is_some() {
        return detail(f, app, area);
    }
    let th = &app.theme;
    let l = &app.audit;
    let now = app.now;
    draw_list(
        f,
        area,
        th,
        list_title(&l.table, "Audit", &l.filter.text),
        &l.table,
        l.table.columns(),
        "no operator actions recorded",
        |a: &OperatorAction| {
            vec![
                ListCell::from(format!("{} {}", a.at.format("%H:%M"), age(now, a.at))),
                ListCell::from(txt(&a.operator, 40)),
                ListCell::from(a.origin.as_deref().map_or("—".into(), |s| txt(s, 40))),
                ListCell::from(txt(&a.action, 20)),
                ListCell::from(format!(
                    "{} {}",
                    txt(&a.target_type, 20),
                    a.target_id.as_deref().map_or(String::new(), |s| txt(s, 40))
                )),
                ListCell::from(txt(&a.outcome, 12)).style(status_style(th, &a.outcome)),
            ]
        },
    );
}

fn detail(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let width = area.width.saturating_sub(4) as usize;
    let Some(a) = app.audit.detail_row() else {
        let lines = vec![Line::styled("the entry is gone — Esc goes back", th.dim)];
        return draw_doc(
            f,
            area,
            th,
            " Audit entry ".into(),
            lines,
            &Default::default(),
        );
    };
    let mut lines = vec![
        kv(
            th,
            "when",
            format!(
                "{} ({} ago)",
                a.at.format("%Y-%m-%d %H:%M:%S UTC"),
                age(app.now, a.at)
            ),
        ),
        kv(th, "operator", txt(&a.operator, 60)),
        kv(
            th,
            "from",
            a.origin.as_deref().map_or("—".into(), |s| txt(s, 60)),
        ),
        kv(th, "action", txt(&a.action, 40)),
        kv(
            th,
            "target",
            format!(
                "{} {}",
                txt(&a.target_type, 30),
                a.target_id.as_deref().map_or(String::new(), |s| txt(s, 60))
            ),
        ),
        kv_styled(
            th,
            "outcome",
            txt(&a.outcome, 20),
            status_style(th, &a.outcome),
        ),
        kv(
            th,
            "note",
            a.note
                .as_deref()
                .map_or("—".into(), |s| txt(s, width.saturating_sub(14))),
        ),
    ];
    for (name, v) in [("Before", &a.before), ("After", &a.after)] {
        lines.push(Line::default());
        lines.push(heading(th, name));
        match v {
            Some(v) => lines.extend(json_lines(th, v, 200, width)),
            None => lines.push(Line::styled("—", th.dim)),
        }
    }
    draw_doc(
        f,
        area,
        th,
        " Audit entry · Esc back ".into(),
        lines,
        &app.audit.scroll,
    );
}
