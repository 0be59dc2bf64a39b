//! Runs: retry a failed run as a new one (once), cancel an open one.

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{Applied, conflict_only, last_actor};
use crate::api::db::{Tx, Val};
use crate::domain::sanitize::clean;

pub(super) async fn retry_run(
    tx: &mut Tx,
    run: Uuid,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let new_id = Uuid::now_v7();
    let n = tx
        .execute(
            "UPDATE workflow_executions SET retried_as = $1, updated_at = $2 \
             WHERE id = $3 AND status IN ('failed', 'cancelled') AND retried_as IS NULL",
            &[Val::Uuid(new_id), Val::Ts(now), Val::Uuid(run)],
        )
        .await?;
    let short = &run.to_string()[..8];
    if n == 0 {
        let r = tx
            .fetch_optional(
                "SELECT status, retried_as, updated_at FROM workflow_executions WHERE id = $1",
                &[Val::Uuid(run)],
            )
            .await?;
        let why = match r {
            None => format!("run {short}: no such run"),
            Some(r) if r.uuid("retried_as").is_some() => format!(
                "run {short} already retried{} (new run {})",
                last_actor(tx, &run, &["run.retry"], r.ts("updated_at")).await?,
                &r.id("retried_as").to_string()[..8]
            ),
            Some(r) => format!(
                "run {short} is {}: only failed or cancelled runs can be retried",
                clean(&r.s("status"))
            ),
        };
        return Ok(conflict_only(json!({"run": run}), why));
    }
    let old = tx
        .fetch_one(
            "SELECT workflow_id, event_id, steps_total, context FROM workflow_executions WHERE id = $1",
            &[Val::Uuid(run)],
        )
        .await?;
    let mut context = match old.json("context") {
        Some(Json::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    context.insert("retry_of".into(), json!(run));
    tx.execute(
        "INSERT INTO workflow_executions (id, workflow_id, status, started_at, event_id, \
           steps_total, steps_completed, context, retry_of, updated_at) \
         VALUES ($1, $2, 'pending', $3, $4, $5, 0, $6{json}, $7, $3)",
        &[
            Val::Uuid(new_id),
            Val::Uuid(old.id("workflow_id")),
            Val::Ts(now),
            Val::OptUuid(old.uuid("event_id")),
            Val::OptI64(old.i64("steps_total")),
            Val::Json(Json::Object(context)),
            Val::Uuid(run),
        ],
    )
    .await?;
    Ok(Applied {
        changed: 1,
        before: json!({"run": run}),
        after: json!({"new_run": new_id, "status": "pending"}),
        conflicts: vec![],
        resume: None,
        rollback: false,
    })
}

pub(super) async fn cancel_run(
    tx: &mut Tx,
    op: &str,
    run: Uuid,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let n = tx
        .execute(
            "UPDATE workflow_executions SET status = 'cancelled', completed_at = $1, \
             error_message = $2, updated_at = $1 \
             WHERE id = $3 AND status IN ('pending', 'running', 'waiting')",
            &[
                Val::Ts(now),
                Val::Text(format!("cancelled by {op}")),
                Val::Uuid(run),
            ],
        )
        .await?;
    let short = &run.to_string()[..8];
    if n == 0 {
        // read after the UPDATE: under READ COMMITTED this sees what the winner committed
        let cur = tx
            .fetch_optional(
                "SELECT status, updated_at FROM workflow_executions WHERE id = $1",
                &[Val::Uuid(run)],
            )
            .await?;
        let why = match cur {
            None => format!("run {short}: no such run"),
            Some(r) if r.s("status") == "cancelled" => format!(
                "run {short} already cancelled{}",
                last_actor(tx, &run, &["run.cancel"], r.ts("updated_at")).await?
            ),
            Some(r) => format!("run {short} already {}", clean(&r.s("status"))),
        };
        return Ok(conflict_only(json!({"run": run}), why));
    }
    // a cancelled run will never resume: its open approval requests expire with it (their
    // rate negotiations stay as they were: nobody decided them)
    let expired = tx
        .execute(
            "UPDATE approval_requests SET status = 'expired', decided_by = $1, decided_at = $2, \
               decision_note = $3 WHERE execution_id = $4 AND status = 'pending'",
            &[
                Val::Text(op.into()),
                Val::Ts(now),
                Val::Text(format!("run {short} cancelled")),
                Val::Uuid(run),
            ],
        )
        .await?;
    Ok(Applied {
        changed: 1,
        before: json!({"run": run}),
        after: json!({"status": "cancelled", "approvals_expired": expired}),
        conflicts: vec![],
        resume: None,
        rollback: false,
    })
}
