//! An open run as the run driver, the step planner and the approval watcher read it, and the
//! steps a run goes through. Shared by runs, steps and approvals, so that they depend one way:
//! runs → steps → approvals, each of them → open_run.

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use uuid::Uuid;

use super::catalog::{self, GENERIC_STEPS, StepDef};
use crate::api::db::DbRow;

/// The steps of a run: the catalog's when it knows the workflow (and the run agrees on the
/// count), generic names otherwise.
pub(crate) fn steps_of(name: &str, total: i64) -> Vec<StepDef> {
    if let Some(d) = catalog::workflow(name)
        && (total <= 0 || total as usize == d.steps.len())
    {
        return d.steps.to_vec();
    }
    let n = if total <= 0 { 4 } else { total as usize };
    (0..n)
        .map(|i| GENERIC_STEPS[i % GENERIC_STEPS.len()])
        .collect()
}

/// An open run as the driver reads it.
#[derive(Debug, Clone)]
pub(crate) struct OpenRun {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub wf_name: String,
    pub steps_total: i64,
    pub steps_completed: i64,
    pub context: Json,
    pub started_at: DateTime<Utc>,
    pub event_id: Option<Uuid>,
}

impl OpenRun {
    pub(crate) fn from_row(r: &DbRow) -> Self {
        OpenRun {
            id: r.id("id"),
            workflow_id: r.id("workflow_id"),
            wf_name: r.s("wf_name"),
            steps_total: r.n("steps_total"),
            steps_completed: r.n("steps_completed"),
            context: r.json("context").unwrap_or(Json::Null),
            started_at: r.ts("started_at").unwrap_or_else(Utc::now),
            event_id: r.uuid("event_id"),
        }
    }

    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.context
            .get("next_at")
            .and_then(|v| v.as_str())
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    pub fn ctx_str(&self, key: &str) -> Option<&str> {
        self.context.get(key).and_then(|v| v.as_str())
    }
}
