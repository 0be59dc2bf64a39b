//! Approvals: requests waiting for a human, with priority and age; the detail shows the rate
//! negotiation and which of the seed's auto-approve rules it failed, and why.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::fast::{ListCell, draw_list};
use super::widgets::{
    age, draw_doc, heading, json_lines, kv, kv_styled, list_title, money, status_style, txt,
};
use crate::domain::model::Approval;
use crate::state::App;

fn prio(p: &str) -> String {
    match p {
        "critical" => "‼ critical".into(),
        "high" => "! high".into(),
        other => format!("  {}", txt(other, 12)),
    }
}

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    if app.approvals.detail.is_some() {
        return detail(f, app, area);
    }
    let th = &app.theme;
    let l = &app.approvals;
    let now = app.now;
    // the status column only when there is room (the list shows pending ones by default)
    let all = l.table.columns();
    let cols = if area.width >= 120 {
        all
    } else {
        &all[..all.len() - 1]
    };
    draw_list(
        f,
        area,
        th,
        list_title(&l.table, "Approvals", &l.filter.text),
        &l.table,
        cols,
        &app.empty_text("approval_requests", "nothing waiting for approval"),
        |a: &Approval| {
            let n = a.negotiation.as_ref();
            vec![
                ListCell::from(prio(&a.priority)).style(status_style(th, &a.priority)),
                ListCell::from(format!("{:>6}", age(now, a.created_at))),
                ListCell::from(n.map_or_else(|| txt(&a.kind, 30), |n| txt(&n.model_name, 40))),
                ListCell::from(n.map_or(String::new(), |n| {
                    format!(
                        "{} ({})",
                        txt(&n.designer_name, 40),
                        txt(&n.designer_tier, 16)
                    )
                })),
                ListCell::from(n.map_or("—".into(), |n| format!("{:>7.1}%", n.discount_pct()))),
                ListCell::from(n.map_or("—".into(), |n| format!("{:>5}", n.show_count))),
                if a.resume_status.as_deref() == Some("failed") {
                    // decided, but the waiting n8n run was not told: R resends
                    ListCell::from(format!("{} · n8n!", txt(&a.status, 10))).style(th.crit)
                } else {
                    ListCell::from(txt(&a.status, 12)).style(status_style(th, &a.status))
                },
            ]
        },
    );
}

fn detail(f: &mut Frame, app: &App, area: Rect) {
    let th = &app.theme;
    let width = area.width.saturating_sub(4) as usize;
    let now = app.now;
    let Some(a) = app.approvals.detail_row() else {
        let lines = vec![Line::styled(
            "the request is no longer listed (decided?) — Esc goes back",
            th.dim,
        )];
        return draw_doc(f, area, th, " Approval ".into(), lines, &Default::default());
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(txt(&a.kind, 40), th.title),
            Span::styled("  ", th.base),
            Span::styled(prio(&a.priority), status_style(th, &a.priority)),
            Span::styled("  ", th.base),
            Span::styled(txt(&a.status, 12), status_style(th, &a.status)),
        ]),
        kv(
            th,
            "requested",
            format!(
                "{} ago by {}",
                age(now, a.created_at),
                a.requested_by.as_deref().map_or("—".into(), |s| txt(s, 40))
            ),
        ),
        kv(
            th,
            "expires",
            a.expires_at.map_or("—".into(), |t| age(now, t)),
        ),
        match (a.resume_url.is_some(), a.resume_status.as_deref()) {
            (false, _) => kv(th, "resumes n8n", "no"),
            (true, Some("failed")) => kv_styled(
                th,
                "resumes n8n",
                format!(
                    "n8n not told ({}) — press R to resend",
                    a.resume_error.as_deref().map_or("?".into(), |e| txt(e, 40))
                ),
                th.crit,
            ),
            (true, Some("told")) => kv(th, "resumes n8n", "told"),
            (true, Some("pending")) => kv(th, "resumes n8n", "telling n8n…"),
            (true, _) => kv(th, "resumes n8n", "yes (wait node)"),
        },
    ];
    if let Some(d) = &a.decided_by {
        lines.push(kv(
            th,
            "decided by",
            format!(
                "{}{}",
                txt(d, 40),
                a.decision_note
                    .as_deref()
                    .map_or(String::new(), |n| format!(": {}", txt(n, 60)))
            ),
        ));
    }
    lines.push(Line::default());
    match &a.negotiation {
        Some(n) => {
            lines.push(heading(th, "Rate negotiation"));
            lines.push(kv(th, "model", txt(&n.model_name, 60)));
            lines.push(kv(
                th,
                "designer",
                format!(
                    "{} ({})",
                    txt(&n.designer_name, 50),
                    txt(&n.designer_tier, 20)
                ),
            ));
            lines.push(kv(
                th,
                "standard rate",
                money(&app.currency, n.standard_rate),
            ));
            lines.push(kv(
                th,
                "proposed rate",
                money(&app.currency, n.proposed_rate),
            ));
            lines.push(kv(th, "shows", n.show_count.to_string()));
            lines.push(kv(th, "discount", format!("{:.1}%", n.discount_pct())));
            lines.push(kv(
                th,
                "standard total",
                money(&app.currency, n.standard_total()),
            ));
            lines.push(kv(
                th,
                "proposed total",
                money(&app.currency, n.proposed_total()),
            ));
            lines.push(kv(th, "savings", money(&app.currency, n.savings())));
            lines.push(Line::default());
            let why = n.rule_failures();
            if why.is_empty() {
                lines.push(Line::styled("● passes the seed's auto-approve rule", th.ok));
            } else {
                lines.push(heading(
                    th,
                    "Why it was not auto-approved (every rule failed)",
                ));
                for w in why {
                    lines.push(Line::styled(
                        format!("  ✖ {}", txt(&w, width.saturating_sub(4))),
                        th.warn,
                    ));
                }
            }
        }
        None => {
            lines.push(heading(th, "Request data"));
            lines.extend(json_lines(th, &a.data, 200, width));
        }
    }
    draw_doc(
        f,
        area,
        th,
        format!(
            " Approval · {} · n/p next/prev pending · j/k scroll · Esc back ",
            match app.pending_left() {
                0 => "no other pending request".to_string(),
                1 => "1 more pending".to_string(),
                n => format!("{n} more pending"),
            }
        ),
        lines,
        &app.approvals.scroll,
    );
}
