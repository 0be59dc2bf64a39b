//! The incident timeline (issue 19): one chronological record merged from what the database
//! holds — operator actions (pauses among them), broadcasts with their delivery milestones, the
//! room's alerts raised, acknowledged, silenced and cleared (connection losses among them), and
//! error bursts (the first and last error of each pattern). Pure: the store reads the sources,
//! this orders them and writes the post-incident record as Markdown, CSV or JSON.

use serde::Serialize;

use crate::domain::model::Ts;
use crate::domain::sanitize::clean;

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Alert,
    Action,
    Pause,
    Broadcast,
    Errors,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Alert => "alert",
            Kind::Action => "action",
            Kind::Pause => "pause",
            Kind::Broadcast => "broadcast",
            Kind::Errors => "errors",
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub at: Ts,
    pub kind: Kind,
    /// Who did it (an operator, a console, n8n's engine), where known.
    pub who: Option<String>,
    pub what: String,
}

/// The entries in time order (ties keep their kind order: an alert before the action it led to).
pub fn merge(mut v: Vec<Entry>) -> Vec<Entry> {
    v.sort_by(|a, b| a.at.cmp(&b.at).then(a.kind.cmp(&b.kind)));
    v
}

/// A window as typed: `30m`, `2h`, `1d` (minutes).
pub fn parse_since(s: &str) -> Option<chrono::Duration> {
    crate::domain::action::parse_minutes(s)
        .filter(|m| *m <= MAX_SINCE_MIN)
        .map(chrono::Duration::minutes)
}

/// The farthest back a timeline reaches (a year, in minutes).
pub const MAX_SINCE_MIN: i64 = 366 * 24 * 60;

fn md_cell(s: &str) -> String {
    clean(s).replace('|', "\\|")
}

/// The post-incident record as Markdown: a title with the window, the sources that could not be
/// read, and a table.
pub fn to_markdown(entries: &[Entry], from: Ts, to: Ts, db: &str, missing: &[String]) -> String {
    let mut out = format!(
        "# Incident timeline — {}\n\n{} to {} UTC · {} entries\n\n",
        md_cell(db),
        from.format("%Y-%m-%d %H:%M"),
        to.format("%Y-%m-%d %H:%M"),
        entries.len()
    );
    for m in missing {
        out.push_str(&format!("> not in this record: {}\n", md_cell(m)));
    }
    if !missing.is_empty() {
        out.push('\n');
    }
    out.push_str("| time (UTC) | kind | who | what |\n| --- | --- | --- | --- |\n");
    for e in entries {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            e.at.format("%H:%M:%S"),
            e.kind.word(),
            md_cell(e.who.as_deref().unwrap_or("")),
            md_cell(&e.what)
        ));
    }
    out
}

/// The entries as rows for CSV and JSON (`at` in RFC 3339).
pub fn rows(entries: &[Entry]) -> Vec<serde_json::Value> {
    entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "at": e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "kind": e.kind.word(),
                "who": e.who,
                "what": e.what,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn merged_in_time_order_and_written_as_markdown() {
        let t = |m: u32| Utc.with_ymd_and_hms(2026, 3, 1, 21, m, 0).unwrap();
        let v = merge(vec![
            Entry {
                at: t(5),
                kind: Kind::Action,
                who: Some("ana".into()),
                what: "workflow.pause Ticket | Sales".into(),
            },
            Entry {
                at: t(1),
                kind: Kind::Alert,
                who: Some("console".into()),
                what: "raised: queue depth 140 > 100".into(),
            },
            Entry {
                at: t(5),
                kind: Kind::Alert,
                who: Some("ana".into()),
                what: "acked".into(),
            },
        ]);
        assert_eq!(v[0].at, t(1));
        assert_eq!(v[1].kind, Kind::Alert);
        let md = to_markdown(&v, t(0), t(10), "db/automation", &["broadcasts".into()]);
        assert!(
            md.contains("| 21:05:00 | action | ana | workflow.pause Ticket \\| Sales |"),
            "{md}"
        );
        assert!(md.contains("> not in this record: broadcasts"), "{md}");
        assert_eq!(parse_since("2h"), Some(chrono::Duration::hours(2)));
        assert_eq!(parse_since("x"), None);
        assert_eq!(parse_since("9999999999999m"), None, "no overflow");
    }
}
