//! The n8n pane under the Workflows and Runs lists (only when n8n is configured): n8n's
//! workflows / recent executions with a source column, the snapshot's age, and why n8n is down.
//! `n` moves the selection between the database list and this pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::fast::constraint;
use super::widgets::{age, block, pad, status_style, txt};
use crate::domain::refresh::ViewId;
use crate::state::App;
use crate::state::n8n::{N8N_EXECUTION_COLUMNS, N8N_WORKFLOW_COLUMNS};
use crate::state::table::Column;

/// Splits `area` into the database list and the n8n pane (the whole area when n8n is not
/// configured).
pub fn split(app: &App, area: Rect) -> (Rect, Option<Rect>) {
    if !app.n8n.configured {
        return (area, None);
    }
    let rows = match app.view {
        ViewId::Workflows => app.n8n.workflows().len(),
        _ => app.n8n.executions().len(),
    };
    let h = (rows as u16 + 4).clamp(5, (area.height / 2).max(5));
    let [db, n8n] = Layout::vertical([Constraint::Fill(1), Constraint::Length(h)]).areas(area);
    (db, Some(n8n))
}

fn title(app: &App, what: &str) -> String {
    let n = &app.n8n;
    let age_s = n
        .fetched_at
        .map(|t| format!(" · {} old", age(app.now, t)))
        .unwrap_or_default();
    let focus = if app.n8n_focused() {
        " · n: back to the database"
    } else {
        " · n: select here"
    };
    let waiting = match n.waiting().len() {
        0 => String::new(),
        k => format!(" · {k} waiting (hint)"),
    };
    let linked = match n.linked_hidden() {
        0 => String::new(),
        _ if what != "executions" => String::new(),
        k => format!(" · {k} listed above with their runs"),
    };
    format!(" n8n {what}{age_s}{waiting}{linked}{focus} ")
}

fn status_line(app: &App, inner: Rect, f: &mut Frame) -> Rect {
    let th = &app.theme;
    let n = &app.n8n;
    let msg = match (n.up, &n.error) {
        (None, _) => Some(("polling n8n…".to_string(), th.dim)),
        (Some(false), Some(e)) => Some((
            format!("n8n down: {} — showing the last data", txt(&e.full, 200)),
            th.crit,
        )),
        _ => None,
    };
    match msg {
        None => inner,
        Some((m, style)) => {
            let [top, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
            f.render_widget(Paragraph::new(Line::styled(m, style)), pad(top));
            rest
        }
    }
}

fn table(
    f: &mut Frame,
    app: &App,
    area: Rect,
    columns: &[Column],
    rows: Vec<Vec<Cell<'static>>>,
    sel: usize,
) {
    let th = &app.theme;
    if rows.is_empty() {
        if app.n8n.snapshot.is_some() {
            f.render_widget(
                Paragraph::new(Line::styled("nothing in n8n", th.dim)),
                pad(area),
            );
        }
        return;
    }
    let h = area.height.saturating_sub(1) as usize;
    let off = if h == 0 { 0 } else { sel.saturating_sub(h - 1) };
    let focused = app.n8n_focused();
    let body: Vec<Row> = rows
        .into_iter()
        .enumerate()
        .skip(off)
        .take(h)
        .map(|(i, cells)| {
            let mut style = th.base;
            if focused && i == sel {
                style = style.patch(th.selected);
            }
            Row::new(cells).style(style)
        })
        .collect();
    f.render_widget(
        Table::new(body, columns.iter().map(|c| constraint(c.width)))
            .header(Row::new(columns.iter().map(|c| Cell::from(c.header))).style(th.header))
            .column_spacing(1),
        area,
    );
}

/// n8n workflows: source, name, active/inactive, tags, updated.
pub fn draw_workflows(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let blk = block(th, title(app, "workflows"), app.n8n_focused());
    let inner = blk.inner(area);
    f.render_widget(blk, area);
    let inner = status_line(app, inner, f);
    let now = app.now;
    let rows = app
        .n8n
        .workflows()
        .iter()
        .map(|w| {
            let status = if w.is_archived {
                "archived"
            } else if w.active {
                "active"
            } else {
                "inactive"
            };
            let tags: Vec<&str> = w.tags.iter().map(|t| t.name.as_str()).collect();
            vec![
                Cell::from("n8n").style(th.dim),
                Cell::from(txt(&w.name, 60)),
                Cell::from(status)
                    .style(status_style(th, if w.active { "active" } else { "paused" })),
                Cell::from(txt(&w.id, 20)).style(th.dim),
                Cell::from(txt(&tags.join(","), 40)),
                Cell::from(w.updated_at.map(|t| age(now, t)).unwrap_or_default()),
            ]
        })
        .collect();
    table(f, app, inner, N8N_WORKFLOW_COLUMNS, rows, app.n8n.wf_sel);
}

/// n8n executions: source, started, status, workflow, mode, id (retry of …).
pub fn draw_runs(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let blk = block(th, title(app, "executions"), app.n8n_focused());
    let inner = blk.inner(area);
    f.render_widget(blk, area);
    let inner = status_line(app, inner, f);
    let now = app.now;
    let n = &app.n8n;
    let rows = n
        .executions()
        .iter()
        .map(|e| {
            let status = e.status_str();
            let style_as = match status {
                "error" | "crashed" => "failed",
                "success" => "completed",
                s => s,
            };
            let wf = n
                .workflow_name(e.workflow_id.as_deref())
                .map(str::to_string)
                .or_else(|| e.workflow_id.clone())
                .unwrap_or_default();
            let id = match &e.retry_of {
                Some(r) => format!("{} (retry of {})", e.id, r),
                None => e.id.clone(),
            };
            vec![
                Cell::from("n8n").style(th.dim),
                Cell::from(e.started_at.map(|t| age(now, t)).unwrap_or_default()),
                Cell::from(txt(status, 10)).style(status_style(th, style_as)),
                Cell::from(txt(&wf, 60)),
                Cell::from(txt(&e.mode, 10)),
                Cell::from(txt(&id, 40)).style(th.dim),
            ]
        })
        .collect();
    table(f, app, inner, N8N_EXECUTION_COLUMNS, rows, n.exec_sel);
}
