//! Reconciliation: runs with their counts; a run's discrepancies grouped by kind, with the
//! Stripe id, the database id and both amounts.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fast::{ListCell, draw_list};
use super::widgets::{age, block, list_title, money, opt_money, pad, status_style, txt};
use crate::domain::model::{Discrepancy, ReconRun, thousands};
use crate::state::App;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    if app.recon.list.detail.is_some() {
        return detail(f, app, area);
    }
    let th = &app.theme;
    let l = &app.recon.list;
    let now = app.now;
    draw_list(
        f,
        area,
        th,
        list_title(&l.table, "Reconciliation runs", &l.filter.text),
        &l.table,
        l.table.columns(),
        &app.empty_text("reconciliation_runs", "no reconciliation runs"),
        |r: &ReconRun| {
            vec![
                ListCell::from(r.reconciliation_date.map_or("—".into(), |d| d.to_string())),
                ListCell::from(txt(&r.status, 12)).style(status_style(th, &r.status)),
                ListCell::from(format!("{:>8}", thousands(r.stripe_count))),
                ListCell::from(format!("{:>8}", thousands(r.db_count))),
                ListCell::from(format!(
                    "{:>5} {}",
                    thousands(r.discrepancy_count),
                    if r.discrepancy_count > 0 {
                        "▲"
                    } else {
                        "●"
                    }
                ))
                .style(if r.discrepancy_count > 0 {
                    th.warn
                } else {
                    th.ok
                }),
                ListCell::from(format!("{} ago", age(now, r.created_at))),
            ]
        },
    );
}

fn detail(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let [head, list] = Layout::vertical([Constraint::Length(3), Constraint::Fill(1)]).areas(area);
    let blk = block(th, " Run · Esc back ", false);
    let inner = pad(blk.inner(head));
    f.render_widget(blk, head);
    if let Some(r) = app.recon.list.detail_row() {
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(
                    r.reconciliation_date.map_or("—".into(), |d| d.to_string()),
                    th.title,
                ),
                Span::styled("  ", th.base),
                Span::styled(txt(&r.status, 12), status_style(th, &r.status)),
                Span::styled(
                    format!(
                        "  stripe {} · db {} · {} discrepanc{}",
                        thousands(r.stripe_count),
                        thousands(r.db_count),
                        thousands(r.discrepancy_count),
                        if r.discrepancy_count == 1 { "y" } else { "ies" }
                    ),
                    th.base,
                ),
            ])),
            inner,
        );
    }
    let t = &app.recon.discrepancies;
    let cur = &app.currency;
    // the difference column only when there is room
    let all = t.columns();
    let cols = if area.width >= 120 {
        all
    } else {
        &all[..all.len() - 1]
    };
    draw_list(
        f,
        list,
        th,
        list_title(t, "Discrepancies", ""),
        t,
        cols,
        &app.empty_text(
            "reconciliation_discrepancies",
            "no discrepancies in this run",
        ),
        |d: &Discrepancy| {
            let diff = match (d.stripe_amount, d.db_amount) {
                (Some(s), Some(b)) => s
                    .checked_sub(b)
                    .map_or_else(|| "overflow".into(), |c| money(cur, c)),
                _ => "—".into(),
            };
            vec![
                ListCell::from(txt(&d.kind, 20)).style(th.warn),
                ListCell::from(d.stripe_id.as_deref().map_or("—".into(), |s| txt(s, 40))),
                ListCell::from(d.db_id.as_deref().map_or("—".into(), |s| txt(s, 40))),
                ListCell::from(format!("{:>10}", opt_money(cur, d.stripe_amount))),
                ListCell::from(format!("{:>10}", opt_money(cur, d.db_amount))),
                ListCell::from(txt(&d.status, 10)).style(status_style(th, &d.status)),
                ListCell::from(format!("{diff:>11}")),
            ]
        },
    );
}
