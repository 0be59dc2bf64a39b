//! How each listed domain type is shown (its columns: header, width and the sort choices they
//! offer), keyed, filtered (the same fields the store searches) and sorted. Sort choice 0 is
//! always the store's natural order; choice n is the column marked `.sort(n, …)`, and is the
//! `col` its `sort_key` gets.

use uuid::Uuid;

use super::table::Width::{Fill, Fit, Fixed};
use super::table::{Columns, Query, Row, SortKey, col, contains_any, eq_opt, sc};
use crate::domain::model::*;

fn t(s: &str) -> SortKey {
    SortKey::Text(s.to_lowercase())
}
fn ot(t: Option<Ts>) -> SortKey {
    t.map_or(SortKey::None, SortKey::Time)
}
fn on(n: Option<i64>) -> SortKey {
    n.map_or(SortKey::None, SortKey::Int)
}

pub const WORKFLOW_COLUMNS: Columns = Columns {
    natural: sc("name", false),
    cols: &[
        col("name", Fit(12, 40)),
        col("status", Fixed(11)).sort(1, false),
        col("started", Fixed(7)).sort(2, true),
        col("ok (done)", Fixed(13)).sort(3, false),
        col("p95", Fixed(7)).sort(4, true),
        col("last error", Fill(1)).sort(5, true),
    ],
};

impl Row for WorkflowStats {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.workflow.id
    }
    fn matches(&self, q: &Query) -> bool {
        eq_opt(&q.status, &self.workflow.status)
            && eq_opt(&q.kind, &self.workflow.trigger_type)
            && contains_any(
                &q.text,
                &[
                    &self.workflow.name,
                    self.last_error.as_deref().unwrap_or(""),
                    self.workflow.pause_reason.as_deref().unwrap_or(""),
                ],
            )
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            1 => t(&self.workflow.status),
            2 => SortKey::Int(self.runs),
            3 => self.success_rate.map_or(SortKey::None, SortKey::Float),
            4 => on(self.p95_ms),
            5 => ot(self.last_error_at),
            _ => t(&self.workflow.name),
        }
    }
}

pub const RUN_COLUMNS: Columns = Columns {
    natural: sc("started", true),
    cols: &[
        col("started", Fixed(7)),
        col("status", Fixed(10)).sort(1, false),
        col("workflow", Fit(10, 36)).sort(2, false),
        col("progress", Fixed(10)),
        col("duration", Fixed(8)).sort(3, true),
        col("step / error", Fill(1)),
    ],
};

/// The runs list when n8n is configured: a source column first (`db`, or `db+n8n` for a run
/// that is an n8n execution: listed once, here, not again in the n8n pane).
pub const RUN_COLUMNS_N8N: Columns = Columns {
    natural: sc("started", true),
    cols: &[
        col("source", Fixed(6)),
        col("started", Fixed(7)),
        col("status", Fixed(10)).sort(1, false),
        col("workflow", Fit(10, 36)).sort(2, false),
        col("progress", Fixed(10)),
        col("duration", Fixed(8)).sort(3, true),
        col("step / error", Fill(1)),
    ],
};

impl Row for Run {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.id
    }
    fn cursor(&self) -> Option<Cursor> {
        Some(Cursor {
            at: self.started_at,
            id: self.id,
        })
    }
    fn matches(&self, q: &Query) -> bool {
        eq_opt(&q.status, &self.status)
            && contains_any(
                &q.text,
                &[
                    &self.workflow_name,
                    self.current_step.as_deref().unwrap_or(""),
                    self.error_message.as_deref().unwrap_or(""),
                ],
            )
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            1 => t(&self.status),
            2 => t(&self.workflow_name),
            3 => on(self.duration_ms),
            _ => SortKey::Time(self.started_at),
        }
    }
}

pub const JOB_COLUMNS: Columns = Columns {
    natural: sc("created", true),
    cols: &[
        col("created", Fixed(7)),
        col("type", Fit(8, 30)).sort(3, false),
        col("status", Fixed(10)).sort(2, false),
        col("prio", Fixed(4)).sort_named(1, "priority", true),
        col("tries", Fixed(5)).sort_named(4, "attempts", true),
        col("scheduled", Fixed(9)),
        col("error", Fill(1)),
    ],
};

impl Row for Job {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.id
    }
    fn cursor(&self) -> Option<Cursor> {
        Some(Cursor {
            at: self.created_at,
            id: self.id,
        })
    }
    fn matches(&self, q: &Query) -> bool {
        eq_opt(&q.status, &self.status)
            && eq_opt(&q.kind, &self.job_type)
            && contains_any(
                &q.text,
                &[&self.job_type, self.error_message.as_deref().unwrap_or("")],
            )
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            1 => SortKey::Int(self.priority),
            2 => t(&self.status),
            3 => t(&self.job_type),
            4 => SortKey::Int(self.attempts),
            _ => SortKey::Time(self.created_at),
        }
    }
}

/// The example column is shown only on wide screens (the view leaves the last one out).
pub const PATTERN_COLUMNS: Columns = Columns {
    natural: sc("count", true),
    cols: &[
        col("sev", Fixed(6)),
        col("workflow", Fit(10, 36)).sort(2, false),
        col("type", Fixed(21)).sort(3, false),
        col("count", Fixed(5)),
        col("first", Fixed(6)),
        col("last", Fixed(6)).sort_named(1, "last seen", true),
        col("retry", Fixed(5)),
        col("example", Fill(3)),
    ],
};

impl Row for ErrorPattern {
    type Key = (Option<Uuid>, String);
    fn key(&self) -> Self::Key {
        (self.workflow_id, self.error_type.clone())
    }
    fn matches(&self, q: &Query) -> bool {
        eq_opt(&q.kind, &self.error_type)
            && (q.status.is_none()
                || (q.status.as_deref() == Some("critical")) == self.is_critical())
            && (contains_any(&q.text, &[&self.workflow_name, &self.error_type])
                || self
                    .examples
                    .iter()
                    .any(|e| e.to_lowercase().contains(&q.text)))
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            1 => SortKey::Time(self.last_seen),
            2 => t(&self.workflow_name),
            3 => t(&self.error_type),
            _ => SortKey::Int(self.count),
        }
    }
}

/// The "% sold" width is the narrow screen's (a 10-cell gauge and " 100%"); the view widens
/// the gauge on wide screens.
pub const EVENT_COLUMNS: Columns = Columns {
    natural: sc("start", false),
    cols: &[
        col("event", Fill(3)).sort_named(2, "name", false),
        col("starts", Fixed(9)),
        col("sold/cap", Fixed(13)).sort_named(3, "capacity", true),
        col("% sold", Fixed(15)).sort(1, true),
        col("state", Fixed(14)),
    ],
};

impl Row for EventCapacity {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.id
    }
    fn matches(&self, q: &Query) -> bool {
        eq_opt(&q.status, &self.status)
            && contains_any(
                &q.text,
                &[
                    &self.name,
                    &self.venue_name,
                    self.city.as_deref().unwrap_or(""),
                ],
            )
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            1 => SortKey::Float(self.percent()),
            2 => t(&self.name),
            3 => SortKey::Int(self.capacity),
            _ => SortKey::Time(self.start_at),
        }
    }
}

pub const RECON_COLUMNS: Columns = Columns {
    natural: sc("created", true),
    cols: &[
        col("date", Fixed(10)),
        col("status", Fixed(9)),
        col("stripe", Fixed(8)),
        col("db", Fixed(8)),
        col("discrepancies", Fixed(13)).sort(1, true),
        col("ran", Fill(1)),
    ],
};

impl Row for ReconRun {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.id
    }
    fn cursor(&self) -> Option<Cursor> {
        Some(Cursor {
            at: self.created_at,
            id: self.id,
        })
    }
    fn matches(&self, q: &Query) -> bool {
        eq_opt(&q.status, &self.status)
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            1 => SortKey::Int(self.discrepancy_count),
            _ => SortKey::Time(self.created_at),
        }
    }
}

/// The difference column is shown only on wide screens (the view leaves the last one out).
pub const DISCREPANCY_COLUMNS: Columns = Columns {
    natural: sc("created", true),
    cols: &[
        col("kind", Fixed(17)).sort(1, false),
        col("stripe id", Fill(1)),
        col("db id", Fill(1)),
        col("stripe", Fixed(10)).sort_named(2, "stripe amount", true),
        col("db", Fixed(10)),
        col("status", Fixed(8)),
        col("difference", Fixed(11)),
    ],
};

impl Row for Discrepancy {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.id
    }
    fn cursor(&self) -> Option<Cursor> {
        Some(Cursor {
            at: self.created_at,
            id: self.id,
        })
    }
    fn matches(&self, q: &Query) -> bool {
        eq_opt(&q.status, &self.status)
            && eq_opt(&q.kind, &self.kind)
            && contains_any(
                &q.text,
                &[
                    self.stripe_id.as_deref().unwrap_or(""),
                    self.db_id.as_deref().unwrap_or(""),
                    self.note.as_deref().unwrap_or(""),
                ],
            )
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            // "by kind": kind, ties newest first
            1 => t(&self.kind),
            2 => on(self.stripe_amount),
            _ => SortKey::Time(self.created_at),
        }
    }
}

/// The status column is shown only on wide screens (the view leaves the last one out).
pub const APPROVAL_COLUMNS: Columns = Columns {
    natural: sc("created", true),
    cols: &[
        col("priority", Fixed(10)).sort(1, true),
        col("waiting", Fixed(7)),
        col("model", Fill(2)),
        col("designer (tier)", Fill(3)),
        col("discount", Fixed(8)).sort(2, true),
        col("shows", Fixed(5)),
        col("status", Fixed(9)),
    ],
};

pub fn priority_rank(p: &str) -> i64 {
    match p {
        "critical" => 4,
        "high" => 3,
        "normal" => 2,
        "low" => 1,
        _ => 0,
    }
}

impl Row for Approval {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.id
    }
    fn cursor(&self) -> Option<Cursor> {
        Some(Cursor {
            at: self.created_at,
            id: self.id,
        })
    }
    fn matches(&self, q: &Query) -> bool {
        let n = self.negotiation.as_ref();
        eq_opt(&q.status, &self.status)
            && eq_opt(&q.kind, &self.kind)
            && contains_any(
                &q.text,
                &[
                    &self.kind,
                    n.map_or("", |n| n.model_name.as_str()),
                    n.map_or("", |n| n.designer_name.as_str()),
                ],
            )
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            1 => SortKey::Int(priority_rank(&self.priority)),
            2 => self
                .negotiation
                .as_ref()
                .map_or(SortKey::None, |n| SortKey::Float(n.discount_pct())),
            _ => SortKey::Time(self.created_at),
        }
    }
}

pub const AUDIT_COLUMNS: Columns = Columns {
    natural: sc("when", true),
    cols: &[
        col("when", Fixed(11)),
        col("operator", Fit(8, 28)).sort(1, false),
        col("from", Fit(6, 24)),
        col("action", Fit(10, 28)).sort(2, false),
        col("target", Fill(1)),
        col("outcome", Fixed(8)),
    ],
};

impl Row for OperatorAction {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.id
    }
    fn cursor(&self) -> Option<Cursor> {
        Some(Cursor {
            at: self.at,
            id: self.id,
        })
    }
    fn matches(&self, q: &Query) -> bool {
        eq_opt(&q.status, &self.outcome)
            && eq_opt(&q.kind, &self.action)
            && contains_any(
                &q.text,
                &[
                    &self.operator,
                    &self.action,
                    &self.target_type,
                    self.target_id.as_deref().unwrap_or(""),
                    self.note.as_deref().unwrap_or(""),
                ],
            )
    }
    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            1 => t(&self.operator),
            2 => t(&self.action),
            _ => SortKey::Time(self.at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&Columns; 9] = [
        &WORKFLOW_COLUMNS,
        &RUN_COLUMNS,
        &JOB_COLUMNS,
        &PATTERN_COLUMNS,
        &EVENT_COLUMNS,
        &RECON_COLUMNS,
        &DISCREPANCY_COLUMNS,
        &APPROVAL_COLUMNS,
        &AUDIT_COLUMNS,
    ];

    /// Every list's sort choices are numbered 1..=n, each once; a choice's name is a header
    /// only of the column that offers it (that header shows the sort arrow).
    #[test]
    fn sort_choices_are_numbered_once_and_named_apart() {
        for c in ALL {
            let mut ns: Vec<usize> = c.cols.iter().filter_map(|x| x.sort).map(|s| s.0).collect();
            ns.sort();
            assert_eq!(ns, (1..c.sorts()).collect::<Vec<_>>(), "{:?}", c.natural);
            for x in c.cols {
                if let Some((n, s)) = x.sort {
                    assert_eq!(c.sort(n), Some(s));
                    for y in c.cols {
                        if y.header.eq_ignore_ascii_case(s.name) {
                            assert_eq!(x, y, "{} names another column", s.name);
                        }
                    }
                }
            }
        }
    }
}
