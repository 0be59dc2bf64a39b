//! The confirm dialog: what will change, the fields it needs, and how to confirm or cancel.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::widgets::{block, centered, clear};
use crate::domain::sanitize;
use crate::state::App;
use crate::state::dialog::{Dialog, Focus, Phase};

pub fn draw(f: &mut Frame, app: &App, body: Rect, d: &Dialog) {
    let th = &app.theme;
    let lines = d.lines();
    let w = body.width.saturating_sub(4).min(76);
    let inner_w = w.saturating_sub(2) as usize;
    let text_rows: usize = lines
        .iter()
        .map(|l| sanitize::width(l).div_ceil(inner_w.max(1)).max(1))
        .sum();
    let note_h: u16 = if d.note.is_some() { 3 } else { 0 };
    let typed_h: u16 = u16::from(d.typed.is_some());
    let h = (text_rows as u16 + note_h + typed_h + 4).min(body.height);
    let r = centered(body, w, h);
    clear(f, r);
    let title = format!(" confirm: {} ", d.action.name());
    f.render_widget(block(th, Line::styled(title, th.warn), true), r);
    let inner = Rect {
        x: r.x + 1,
        y: r.y + 1,
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    };
    let mut y = inner.y;
    let body_lines: Vec<Line> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let style = if i == 0 { th.title } else { th.base };
            Line::styled(sanitize::clean(l), style)
        })
        .collect();
    let text_h = (text_rows as u16).min(inner.height);
    f.render_widget(
        Paragraph::new(body_lines).wrap(Wrap { trim: false }),
        Rect {
            y,
            height: text_h,
            ..inner
        },
    );
    y += text_h;
    if let Some(n) = &d.note
        && y + 3 <= inner.bottom()
    {
        let mut area = n.area.clone();
        let focus = d.focus == Focus::Note && d.phase == Phase::Ready;
        area.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(if focus { th.border_focus } else { th.border })
                .title(Line::styled(
                    format!(
                        " {}{} ",
                        n.label,
                        if n.required { " (required)" } else { "" }
                    ),
                    th.dim,
                )),
        );
        area.set_style(th.base);
        area.set_cursor_line_style(th.base);
        area.set_cursor_style(if focus { th.selected } else { th.base });
        f.render_widget(
            &area,
            Rect {
                y,
                height: 3,
                ..inner
            },
        );
        y += 3;
    }
    if let Some((want, got)) = &d.typed
        && y < inner.bottom()
    {
        let focus = d.focus == Focus::Typed && d.phase == Phase::Ready;
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!("Type {want} to confirm: "), th.warn),
                Span::styled(got.clone(), th.base),
                Span::styled(if focus { "▏" } else { "" }, th.accent),
            ])),
            Rect {
                y,
                height: 1,
                ..inner
            },
        );
        y += 1;
    }
    let status = match (&d.phase, &d.error) {
        (Phase::Counting, _) => Line::styled("counting the failed jobs…", th.dim),
        (Phase::Sent, _) => Line::styled("working… (the result shows here when it lands)", th.dim),
        (_, Some(e)) => Line::styled(sanitize::clean(e), th.crit),
        _ => Line::raw(""),
    };
    if y < inner.bottom() {
        f.render_widget(
            Paragraph::new(status),
            Rect {
                y,
                height: 1,
                ..inner
            },
        );
    }
    let hint = if d.phase == Phase::Sent {
        String::new()
    } else if !d.has_fields() {
        "y confirm · n / Esc cancel".into()
    } else if d.note.is_some() && d.typed.is_some() {
        "Enter confirm · Tab next field · Esc cancel".into()
    } else {
        "Enter confirm · Esc cancel".into()
    };
    let hy = inner.bottom().saturating_sub(1);
    if hy > y || (hy == y && d.phase != Phase::Sent && d.error.is_none()) {
        f.render_widget(
            Paragraph::new(Line::styled(hint, th.dim)),
            Rect {
                y: hy,
                height: 1,
                ..inner
            },
        );
    }
}
