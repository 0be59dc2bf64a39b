//! How each listed domain type is keyed, filtered (the same fields the store searches) and
//! sorted. Sort choice 0 is always the store's natural order.

use uuid::Uuid;

use super::table::{Query, Row, SortCol, SortKey, contains_any, eq_opt, sc};
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

pub const WORKFLOW_SORTS: &[SortCol] = &[
    sc("name", false),
    sc("status", false),
    sc("runs", true),
    sc("success", false),
    sc("p95", true),
    sc("last error", true),
];

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

pub const RUN_SORTS: &[SortCol] = &[
    sc("started", true),
    sc("status", false),
    sc("workflow", false),
    sc("duration", true),
];

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

pub const JOB_SORTS: &[SortCol] = &[
    sc("created", true),
    sc("priority", true),
    sc("status", false),
    sc("type", false),
    sc("attempts", true),
];

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

pub const PATTERN_SORTS: &[SortCol] = &[
    sc("count", true),
    sc("last seen", true),
    sc("workflow", false),
    sc("type", false),
];

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

pub const EVENT_SORTS: &[SortCol] = &[
    sc("start", false),
    sc("% sold", true),
    sc("name", false),
    sc("capacity", true),
];

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

pub const RECON_SORTS: &[SortCol] = &[sc("created", true), sc("discrepancies", true)];

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

pub const DISCREPANCY_SORTS: &[SortCol] = &[
    sc("created", true),
    sc("kind", false),
    sc("stripe amount", true),
];

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

pub const APPROVAL_SORTS: &[SortCol] = &[
    sc("created", true),
    sc("priority", true),
    sc("discount", true),
];

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

pub const AUDIT_SORTS: &[SortCol] = &[sc("when", true), sc("operator", false), sc("action", false)];

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
