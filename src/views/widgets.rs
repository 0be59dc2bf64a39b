//! Shared drawing pieces: formatting of ages, durations, money and severities, blocks and list
//! titles, detail documents, popups. The list table and plain lines are drawn by `fast`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::domain::model::{QUEUE_CRIT_DEPTH, QUEUE_WARN_DEPTH, Ts};
use crate::domain::money::Currency;
use crate::domain::sanitize;
use crate::state::table::{Row, Table};
use crate::theme::Theme;

/// "12s", "5m", "3h20m", "2d4h" — how long ago (or "in 5m" for the future); past a minute it
/// changes once a minute (see [`crate::domain::model::age_secs`]).
///
/// Past a minute the age counts wall-clock minutes (minute of `now` minus minute of `t`), so
/// every age on screen turns over at the same second, the top of the minute: one small frame a
/// minute for all of them, not one per row at scattered seconds (at most a minute early).
pub fn age(now: Ts, t: Ts) -> String {
    let secs = (now - t).num_seconds();
    if secs < 0 {
        return format!("in {}", span(-secs));
    }
    if secs < 60 {
        return crate::domain::model::age_secs(secs);
    }
    let minutes = now.timestamp().div_euclid(60) - t.timestamp().div_euclid(60);
    crate::domain::model::age_secs(minutes * 60)
}

/// A duration in seconds, coarse: "12s", "3m42s", "3h20m", "2d4h".
pub fn span(secs: i64) -> String {
    crate::domain::model::span_secs(secs)
}

/// Milliseconds as "41ms", "1.2s", "4m05s".
pub fn dur_ms(ms: i64) -> String {
    match ms {
        i64::MIN..1000 => format!("{}ms", ms.max(0)),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => span(ms / 1000),
    }
}

pub fn opt_dur(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".into(), dur_ms)
}

/// Cents in the console's currency (the config's `currency`): "€1,234.50", "$12.00".
pub fn money(cur: &Currency, cents: i64) -> String {
    cur.cents(cents)
}

pub fn opt_money(cur: &Currency, cents: Option<i64>) -> String {
    cents.map_or_else(|| "—".into(), |c| cur.cents(c))
}

pub fn pct(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A text gauge of `width` cells: "██████░░░░".
pub fn bar(ratio: f64, width: usize) -> String {
    let r = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = (r * width as f64).round() as usize;
    let mut s = "█".repeat(full);
    s.push_str(&"░".repeat(width.saturating_sub(full)));
    s
}

/// A severity: always a symbol and a word, never colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sev {
    Ok,
    Warn,
    Crit,
}

impl Sev {
    pub fn symbol(self) -> &'static str {
        match self {
            Sev::Ok => "●",
            Sev::Warn => "▲",
            Sev::Crit => "✖",
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            Sev::Ok => "OK",
            Sev::Warn => "WARN",
            Sev::Crit => "CRIT",
        }
    }
    pub fn style(self, t: &Theme) -> Style {
        match self {
            Sev::Ok => t.ok,
            Sev::Warn => t.warn,
            Sev::Crit => t.crit,
        }
    }
    pub fn gauge(self, t: &Theme) -> Style {
        match self {
            Sev::Ok => t.gauge_ok,
            Sev::Warn => t.gauge_warn,
            Sev::Crit => t.gauge_crit,
        }
    }
    pub fn label(self) -> String {
        format!("{} {}", self.symbol(), self.word())
    }
}

/// The seed's queue thresholds (domain): depth > 50 warning, > 100 critical.
pub fn depth_sev(depth: i64) -> Sev {
    if depth > QUEUE_CRIT_DEPTH {
        Sev::Crit
    } else if depth > QUEUE_WARN_DEPTH {
        Sev::Warn
    } else {
        Sev::Ok
    }
}

/// The seed's capacity thresholds as word + symbol.
pub fn capacity_state(threshold: Option<u8>) -> (Sev, &'static str) {
    match threshold {
        Some(100) => (Sev::Crit, "✖ SOLD OUT"),
        Some(90) => (Sev::Warn, "▲ WAITLIST 90%"),
        Some(80) => (Sev::Warn, "▲ ALERT 80%"),
        _ => (Sev::Ok, "· open"),
    }
}

/// The style of a status word; statuses we do not know are shown plainly as themselves.
pub fn status_style(t: &Theme, status: &str) -> Style {
    match status {
        "completed" | "success" | "active" | "sent" | "delivered" | "ok" | "approved"
        | "resolved" | "auto_approved" => t.ok,
        "running" | "processing" | "pending" | "queued" | "sending" | "published" => t.info,
        "waiting" | "retrying" | "paused" | "partially_failed" | "conflict" | "draining"
        | "open" | "high" => t.warn,
        "failed" | "error" | "expired" | "rejected" | "critical" | "urgent" => t.crit,
        "cancelled" | "disabled" | "ignored" | "completed_event" | "draft" => t.dim,
        _ => t.base,
    }
}

/// Untrusted text for a cell (one line, cut at `max` columns).
pub fn txt(s: &str, max: usize) -> String {
    sanitize::clean_trunc(s, max)
}

pub fn block<'a>(t: &Theme, title: impl Into<Line<'a>>, focus: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focus { t.border_focus } else { t.border })
        .title(title.into().style(t.title))
}

/// A list title: name, counts, filter, sort.
pub fn list_title<T: Row>(t: &Table<T>, name: &str, filter: &str) -> String {
    let mut s = format!(" {name} ");
    if t.loaded() {
        let shown = t.len();
        let loaded = t.loaded_len();
        if shown == loaded {
            s.push_str(&format!("{shown}"));
        } else {
            s.push_str(&format!("{shown}/{loaded}"));
        }
        if t.has_more {
            s.push('+');
        }
        s.push(' ');
    }
    if !filter.is_empty() {
        s.push_str(&format!("· /{} ", sanitize::clean_trunc(filter, 24)));
    }
    let sc = t.sort_col();
    if t.sort > 0 {
        s.push_str(&format!(
            "· sort {} {} ",
            sc.name,
            if sc.desc { "▼" } else { "▲" }
        ));
    }
    s
}

pub fn pad(r: Rect) -> Rect {
    Rect {
        x: r.x + 1,
        width: r.width.saturating_sub(2),
        ..r
    }
}

/// A scrollable document of lines in a block (detail views). Scroll is clamped here.
pub fn draw_doc(
    f: &mut Frame,
    area: Rect,
    th: &Theme,
    title: String,
    lines: Vec<Line<'static>>,
    scroll: &std::cell::Cell<usize>,
) {
    let blk = block(th, title, true);
    let inner = blk.inner(area);
    let max = lines.len().saturating_sub(inner.height as usize);
    let s = scroll.get().min(max);
    // write the clamp back, so Up after End moves at once
    scroll.set(s);
    f.render_widget(blk, area);
    f.render_widget(Paragraph::new(lines).scroll((s as u16, 0)), pad(inner));
}

/// "label  value" for detail documents.
pub fn kv(th: &Theme, label: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<16}"), th.dim),
        Span::styled(value.into(), th.base),
    ])
}

pub fn kv_styled(th: &Theme, label: &str, value: impl Into<String>, style: Style) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<16}"), th.dim),
        Span::styled(value.into(), style),
    ])
}

pub fn heading(th: &Theme, s: &str) -> Line<'static> {
    Line::styled(s.to_string(), th.header)
}

/// Pretty JSON, sanitised line by line (bounded).
pub fn json_lines(
    th: &Theme,
    v: &serde_json::Value,
    max_lines: usize,
    width: usize,
) -> Vec<Line<'static>> {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let mut out: Vec<Line> = text
        .lines()
        .take(max_lines)
        .map(|l| {
            // keep indentation: clean the content, then put the leading spaces back
            let indent = l.len() - l.trim_start().len();
            Line::styled(
                format!(
                    "{}{}",
                    " ".repeat(indent),
                    sanitize::clean_trunc(l.trim_start(), width.saturating_sub(indent))
                ),
                th.base,
            )
        })
        .collect();
    if text.lines().count() > max_lines {
        out.push(Line::styled(format!("… (first {max_lines} lines)"), th.dim));
    }
    out
}

/// A centred popup area.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

pub fn clear(f: &mut Frame, r: Rect) {
    f.render_widget(Clear, r);
}
