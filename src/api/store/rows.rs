//! Row → domain type. Column lists live next to their mappers so they cannot drift apart.

use chrono::Utc;
use serde_json::Value as Json;

use crate::api::db::{Backend, DbRow};
use crate::domain::model::*;

fn ts0(r: &DbRow, c: &str) -> Ts {
    r.ts(c)
        .unwrap_or_else(|| chrono::DateTime::<Utc>::from_timestamp(0, 0).expect("epoch"))
}

pub const WORKFLOW_COLS: &str = "w.id, w.name, w.description, w.trigger_type, w.status, w.n8n_workflow_id, \
     w.paused_by, w.paused_at, w.pause_reason, w.next_execution_at, w.updated_at";

pub fn workflow(r: &DbRow) -> Workflow {
    Workflow {
        id: r.id("id"),
        name: r.s("name"),
        description: r.text("description"),
        trigger_type: r.s("trigger_type"),
        status: r.s("status"),
        n8n_workflow_id: r.text("n8n_workflow_id"),
        paused_by: r.text("paused_by"),
        paused_at: r.ts("paused_at"),
        pause_reason: r.text("pause_reason"),
        next_execution_at: r.ts("next_execution_at"),
        updated_at: r.ts("updated_at"),
    }
}

/// What a list row can show of a long text column (an error message): its first characters.
/// Lists never fetch more text than a row can display (a 1 MB error costs 512 characters per
/// refresh); the detail view reads the value again, up to [`DETAIL_TEXT`].
pub const LIST_TEXT: i64 = 512;
/// What a detail view reads of a long text column; the rest is said as "… N more characters".
pub const DETAIL_TEXT: i64 = 65_536;
/// A JSON column (a job's payload, a run's context) larger than this is left out of list rows
/// (NULL); the detail reads it.
pub const LIST_JSON_BYTES: i64 = 8_192;

/// `col` cut to `n` characters, as `alias`, with its full length as `alias_len` (both backends
/// have `substr` and `length`).
pub fn cut(col: &str, alias: &str, n: i64) -> String {
    format!("substr({col}, 1, {n}) AS {alias}, length({col}) AS {alias}_len")
}

/// A JSON column when it is small enough for a list row, else NULL (Postgres reads the stored
/// size and compression without detoasting the value).
pub fn small_json(b: Backend, col: &str, alias: &str) -> String {
    match b {
        // a compressed value's stored size says little about its size once read: it is left
        // out too (values are compressed only past ~2 KB)
        Backend::Postgres => format!(
            "CASE WHEN pg_column_size({col}) <= {LIST_JSON_BYTES} \
             AND pg_column_compression({col}) IS NULL THEN {col} END AS {alias}"
        ),
        Backend::Sqlite => {
            format!("CASE WHEN length({col}) <= {LIST_JSON_BYTES} THEN {col} END AS {alias}")
        }
    }
}

/// A text column read cut (`cut`): the text, and when there was more, how much.
fn cut_text(r: &DbRow, col: &str) -> Option<String> {
    let t = r.text(col)?;
    let full = r.i64(&format!("{col}_len")).unwrap_or(0);
    let shown = t.chars().count() as i64;
    Some(if full > shown {
        format!("{t} … {} more characters", full - shown)
    } else {
        t
    })
}

/// The runs list's columns: the error cut to what a row shows, the context only when small.
pub fn run_list_cols(b: Backend) -> String {
    format!(
        "e.id, e.workflow_id, w.name AS workflow_name, e.status, e.started_at, e.completed_at, \
         e.duration_ms, e.event_id, e.steps_total, e.steps_completed, e.current_step, {}, {}, \
         e.n8n_execution_id",
        cut("e.error_message", "error_message", LIST_TEXT),
        small_json(b, "e.context", "context")
    )
}

/// A run's detail: the error up to [`DETAIL_TEXT`], the whole context.
pub fn run_detail_cols() -> String {
    format!(
        "e.id, e.workflow_id, w.name AS workflow_name, e.status, e.started_at, e.completed_at, \
         e.duration_ms, e.event_id, e.steps_total, e.steps_completed, e.current_step, {}, \
         e.context, e.n8n_execution_id",
        cut("e.error_message", "error_message", DETAIL_TEXT)
    )
}

/// The queue list's columns: the error cut, the payload only when small.
pub fn job_list_cols(b: Backend) -> String {
    format!(
        "j.id, j.job_type, {}, j.status, j.priority, j.attempts, j.max_attempts, \
         j.scheduled_for, j.started_at, j.completed_at, {}, j.workflow_id, \
         w.name AS workflow_name, j.locked_by, j.created_at",
        small_json(b, "j.payload", "payload"),
        cut("j.error_message", "error_message", LIST_TEXT)
    )
}

/// A job's detail: the error up to [`DETAIL_TEXT`], the whole payload.
pub fn job_detail_cols() -> String {
    format!(
        "j.id, j.job_type, j.payload, j.status, j.priority, j.attempts, j.max_attempts, \
         j.scheduled_for, j.started_at, j.completed_at, {}, j.workflow_id, \
         w.name AS workflow_name, j.locked_by, j.created_at",
        cut("j.error_message", "error_message", DETAIL_TEXT)
    )
}

/// A run's step logs (in its detail): errors cut to what a line shows, inputs and outputs
/// only when small.
pub fn step_cols(b: Backend) -> String {
    format!(
        "id, execution_id, step_index, step_name, status, {}, {}, {}, duration_ms, created_at",
        small_json(b, "input", "input"),
        small_json(b, "output", "output"),
        cut("error_message", "error_message", LIST_TEXT)
    )
}

/// The errors list's columns: the message cut.
pub fn error_list_cols() -> String {
    format!(
        "x.id, x.workflow_id, w.name AS workflow_name, x.execution_id, x.error_type, {}, \
         x.created_at",
        cut("x.error_message", "error_message", LIST_TEXT)
    )
}

pub fn run(r: &DbRow) -> Run {
    Run {
        id: r.id("id"),
        workflow_id: r.id("workflow_id"),
        workflow_name: r.s("workflow_name"),
        status: r.s("status"),
        started_at: ts0(r, "started_at"),
        completed_at: r.ts("completed_at"),
        duration_ms: r.i64("duration_ms"),
        event_id: r.uuid("event_id"),
        steps_total: r.n("steps_total"),
        steps_completed: r.n("steps_completed"),
        current_step: r.text("current_step"),
        error_message: cut_text(r, "error_message"),
        context: r.json("context").unwrap_or(Json::Null),
        n8n_execution_id: r.text("n8n_execution_id"),
    }
}

pub fn step(r: &DbRow) -> StepLog {
    StepLog {
        id: r.id("id"),
        execution_id: r.id("execution_id"),
        step_index: r.n("step_index"),
        step_name: r.s("step_name"),
        status: r.s("status"),
        input: r.json("input"),
        output: r.json("output"),
        error_message: cut_text(r, "error_message"),
        duration_ms: r.i64("duration_ms"),
        created_at: ts0(r, "created_at"),
    }
}

pub fn job(r: &DbRow) -> Job {
    Job {
        id: r.id("id"),
        job_type: r.s("job_type"),
        payload: r.json("payload").unwrap_or(Json::Null),
        status: r.s("status"),
        priority: r.n("priority"),
        attempts: r.n("attempts"),
        max_attempts: r.n("max_attempts"),
        scheduled_for: r.ts("scheduled_for"),
        started_at: r.ts("started_at"),
        completed_at: r.ts("completed_at"),
        error_message: cut_text(r, "error_message"),
        workflow_id: r.uuid("workflow_id"),
        workflow_name: r.text("workflow_name"),
        locked_by: r.text("locked_by"),
        created_at: ts0(r, "created_at"),
    }
}

pub fn error_row(r: &DbRow) -> ErrorRow {
    ErrorRow {
        id: r.id("id"),
        workflow_id: r.uuid("workflow_id"),
        workflow_name: r.text("workflow_name"),
        execution_id: r.uuid("execution_id"),
        error_type: r.s("error_type"),
        error_message: cut_text(r, "error_message"),
        created_at: ts0(r, "created_at"),
    }
}

pub const EVENT_COLS: &str = "id, name, venue_name, city, start_at, status, capacity, tickets_sold";

pub fn event(r: &DbRow) -> EventCapacity {
    EventCapacity {
        id: r.id("id"),
        name: r.s("name"),
        venue_name: r.s("venue_name"),
        city: r.text("city"),
        start_at: ts0(r, "start_at"),
        status: r.s("status"),
        capacity: r.n("capacity"),
        sold: r.n("tickets_sold"),
    }
}

pub const ALERT_COLS: &str = "a.id, a.event_id, ev.name AS event_name, a.threshold, a.sold, a.capacity, \
     a.created_at, a.acknowledged_by";

pub fn alert(r: &DbRow) -> CapacityAlert {
    CapacityAlert {
        id: r.id("id"),
        event_id: r.id("event_id"),
        event_name: r.s("event_name"),
        threshold: r.n("threshold"),
        sold: r.n("sold"),
        capacity: r.n("capacity"),
        created_at: ts0(r, "created_at"),
        acknowledged_by: r.text("acknowledged_by"),
    }
}

pub const RECON_COLS: &str =
    "id, reconciliation_date, stripe_count, db_count, discrepancy_count, status, created_at";

pub fn recon_run(r: &DbRow) -> ReconRun {
    ReconRun {
        id: r.id("id"),
        reconciliation_date: r.date("reconciliation_date"),
        stripe_count: r.n("stripe_count"),
        db_count: r.n("db_count"),
        discrepancy_count: r.n("discrepancy_count"),
        status: r.s("status"),
        created_at: ts0(r, "created_at"),
    }
}

pub const DISC_COLS: &str = "id, run_id, kind, stripe_id, db_id, stripe_amount, db_amount, status, \
     resolved_by, note, created_at";

pub fn discrepancy(r: &DbRow) -> Discrepancy {
    Discrepancy {
        id: r.id("id"),
        run_id: r.id("run_id"),
        kind: r.s("kind"),
        stripe_id: r.text("stripe_id"),
        db_id: r.text("db_id"),
        stripe_amount: r.i64("stripe_amount"),
        db_amount: r.i64("db_amount"),
        status: r.s("status"),
        resolved_by: r.text("resolved_by"),
        note: r.text("note"),
        created_at: ts0(r, "created_at"),
    }
}

pub const APPROVAL_COLS: &str = "a.id, a.type, a.data, a.priority, a.requested_by, a.status, a.decided_by, \
     a.decided_at, a.decision_note, a.resume_url, a.execution_id, a.created_at, a.expires_at, a.resume_status, a.resume_error, a.resume_attempt_at, \
     n.id AS n_id, n.model_name, n.designer_name, n.designer_tier, n.standard_rate, n.proposed_rate, \
     n.show_count, n.status AS n_status";

pub fn approval(r: &DbRow) -> Approval {
    let negotiation = r.uuid("n_id").map(|id| Negotiation {
        id,
        model_name: r.s("model_name"),
        designer_name: r.s("designer_name"),
        designer_tier: r.s("designer_tier"),
        standard_rate: r.n("standard_rate"),
        proposed_rate: r.n("proposed_rate"),
        show_count: r.n("show_count"),
        status: r.s("n_status"),
    });
    let (resume_status, resume_error) = resume_state(r);
    Approval {
        id: r.id("id"),
        kind: r.s("type"),
        data: r.json("data").unwrap_or(Json::Null),
        priority: r.s("priority"),
        requested_by: r.text("requested_by"),
        status: r.s("status"),
        decided_by: r.text("decided_by"),
        decided_at: r.ts("decided_at"),
        decision_note: r.text("decision_note"),
        resume_url: r.text("resume_url"),
        execution_id: r.uuid("execution_id"),
        created_at: ts0(r, "created_at"),
        expires_at: r.ts("expires_at"),
        resume_status,
        resume_error,
        negotiation,
    }
}

/// SQL for "a POST to n8n still `pending` since before `cutoff`" (now − RESUME_STALE; see
/// [`resume_state`]) on approval_requests aliased `alias` (`"a."` or `""`).
pub fn stale_resume_sql(alias: &str, cutoff: &str) -> String {
    format!(
        "({alias}resume_status = 'pending' \
          AND COALESCE({alias}resume_attempt_at, {alias}decided_at) < {cutoff})"
    )
}

/// Where telling n8n stands, as an operator should see it: a POST still `pending` long after it
/// started never finished (its sender stopped between the commit and the answer), so it shows as
/// failed and is offered for a resend.
fn resume_state(r: &DbRow) -> (Option<String>, Option<String>) {
    let status = r.text("resume_status");
    let error = r.text("resume_error");
    if status.as_deref() != Some("pending") {
        return (status, error);
    }
    let started = r.ts("resume_attempt_at").or_else(|| r.ts("decided_at"));
    match started {
        Some(t) if t < chrono::Utc::now() - crate::domain::action::RESUME_STALE => (
            Some("failed".into()),
            Some(format!(
                "no answer recorded since {} (the sender stopped?)",
                t.format("%H:%M UTC")
            )),
        ),
        _ => (status, error),
    }
}

pub const BROADCAST_COLS: &str = "id, level, scope, event_id, venue_name, message, triggered_by, status, \
     affected_count, test, created_at";

pub fn broadcast(r: &DbRow) -> Broadcast {
    Broadcast {
        id: r.id("id"),
        level: r.s("level"),
        scope: r.s("scope"),
        event_id: r.uuid("event_id"),
        venue_name: r.text("venue_name"),
        message: r.s("message"),
        triggered_by: r.s("triggered_by"),
        status: r.s("status"),
        affected_count: r.n("affected_count"),
        test: r.bool("test").unwrap_or(false),
        created_at: ts0(r, "created_at"),
    }
}

pub const ACTION_COLS: &str =
    "id, at, operator, origin, action, target_type, target_id, before, after, note, outcome";

pub fn operator_action(r: &DbRow) -> OperatorAction {
    OperatorAction {
        id: r.id("id"),
        at: ts0(r, "at"),
        operator: r.s("operator"),
        origin: r.text("origin"),
        action: r.s("action"),
        target_type: r.s("target_type"),
        target_id: r.text("target_id"),
        before: r.json("before"),
        after: r.json("after"),
        note: r.text("note"),
        outcome: r.s("outcome"),
    }
}

pub fn metrics(r: &DbRow) -> Metrics {
    Metrics {
        measured_at: ts0(r, "measured_at"),
        cpu_usage: r.f64("cpu_usage"),
        memory_usage: r.f64("memory_usage"),
        queue_depth: r.i64("queue_depth"),
    }
}
