//! Pause and resume workflows.

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{Applied, by, last_actor};
use crate::api::db::{Tx, Val};
use crate::api::store::Store;
use crate::domain::action::Named;
use crate::domain::sanitize::clean;

pub(super) async fn pause_resume(
    tx: &mut Tx,
    op: &str,
    workflows: &[Named],
    reason: Option<&String>,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let pausing = reason.is_some();
    let mut changed = Vec::new();
    let mut conflicts = Vec::new();
    for w in workflows {
        let n = if let Some(reason) = reason {
            tx.execute(
                "UPDATE workflows SET status = 'paused', paused_by = $1, paused_at = $2, \
                 pause_reason = $3, updated_at = $2 WHERE id = $4 AND status = 'active'",
                &[
                    Val::Text(op.into()),
                    Val::Ts(now),
                    Val::Text(reason.clone()),
                    Val::Uuid(w.id),
                ],
            )
            .await?
        } else {
            tx.execute(
                "UPDATE workflows SET status = 'active', paused_by = NULL, paused_at = NULL, \
                 pause_reason = NULL, updated_at = $1 WHERE id = $2 AND status = 'paused'",
                &[Val::Ts(now), Val::Uuid(w.id)],
            )
            .await?
        };
        if n == 1 {
            changed.push(w.id.to_string());
            continue;
        }
        let cur = tx
            .fetch_optional(
                "SELECT status, paused_by, paused_at, updated_at FROM workflows WHERE id = $1",
                &[Val::Uuid(w.id)],
            )
            .await?;
        let label = clean(&w.label);
        conflicts.push(match cur {
            None => format!("{label}: no such workflow"),
            Some(r) => {
                let status = r.s("status");
                match (pausing, status.as_str()) {
                    (true, "paused") => format!(
                        "{label} already paused{}",
                        by(r.text("paused_by"), r.ts("paused_at"))
                    ),
                    (false, "active") => format!(
                        "{label} already active (resumed{})",
                        last_actor(tx, &w.id, &["workflow.resume"], r.ts("updated_at")).await?
                    ),
                    (_, s) => format!("{label} is {}", clean(s)),
                }
            }
        });
    }
    let (from, to) = if pausing {
        ("active", "paused")
    } else {
        ("paused", "active")
    };
    Ok(Applied {
        changed: changed.len() as u64,
        before: json!({"status": from, "workflows": workflows}),
        after: json!({"status": to, "changed": changed, "conflicts": conflicts}),
        conflicts,
        resume: None,
        rollback: false,
    })
}

/// The workflows a pause or resume changed (its audit row's `after.changed`) that live in n8n:
/// (id, name, n8n id).
pub(in crate::api) async fn n8n_targets(
    store: &Store,
    audit_id: Uuid,
) -> Result<Vec<(Uuid, String, String)>, sqlx::Error> {
    let Some(row) = store
        .db
        .fetch_optional(
            "SELECT after FROM operator_actions WHERE id = $1",
            &[Val::Uuid(audit_id)],
        )
        .await?
    else {
        return Ok(Vec::new());
    };
    let changed: Vec<Uuid> = row
        .json("after")
        .and_then(|a| a.get("changed").cloned())
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default();
    let mut out = Vec::new();
    for id in changed {
        if let Some(r) = store
            .db
            .fetch_optional(
                "SELECT name, n8n_workflow_id FROM workflows \
                 WHERE id = $1 AND n8n_workflow_id IS NOT NULL AND n8n_workflow_id <> ''",
                &[Val::Uuid(id)],
            )
            .await?
        {
            out.push((id, clean(&r.s("name")), clean(&r.s("n8n_workflow_id"))));
        }
    }
    Ok(out)
}

/// A cancelled run's n8n side: its execution id, and the Wait nodes parked for the approval
/// requests this cancel expired (decided at the run's cancel, not earlier), as (request,
/// resume_url).
pub(in crate::api) async fn cancelled_in_n8n(
    store: &Store,
    run: Uuid,
) -> Result<(Option<String>, Vec<(Uuid, String)>), sqlx::Error> {
    let exec = store
        .db
        .fetch_optional(
            "SELECT n8n_execution_id FROM workflow_executions WHERE id = $1",
            &[Val::Uuid(run)],
        )
        .await?
        .and_then(|r| r.text("n8n_execution_id"))
        .filter(|e| !e.trim().is_empty())
        .map(|e| clean(&e));
    let waits = store
        .db
        .fetch_all(
            "SELECT a.id, a.resume_url FROM approval_requests a \
             JOIN workflow_executions e ON e.id = a.execution_id \
             WHERE a.execution_id = $1 AND a.status = 'expired' AND a.resume_url IS NOT NULL \
               AND a.resume_url <> '' AND COALESCE(a.resume_status, '') <> 'told' \
               AND a.decided_at = e.completed_at ORDER BY a.id",
            &[Val::Uuid(run)],
        )
        .await?
        .iter()
        .map(|r| (r.id("id"), r.s("resume_url")))
        .collect();
    Ok((exec, waits))
}

/// Writes what n8n answered into a pause's, resume's or cancel's audit row, under `after.n8n`.
pub(in crate::api) async fn record_n8n(store: &Store, audit_id: Uuid, n8n: Json) {
    if super::acts_by_function(store).await.unwrap_or(false) {
        // the login has no UPDATE rights here: the database records it, for its own row only
        let _ = store
            .db
            .execute(
                "SELECT opsdeck_record_n8n($1, $2{json})",
                &[Val::Uuid(audit_id), Val::Json(n8n)],
            )
            .await;
        return;
    }
    let Ok(Some(row)) = store
        .db
        .fetch_optional(
            "SELECT after FROM operator_actions WHERE id = $1",
            &[Val::Uuid(audit_id)],
        )
        .await
    else {
        return;
    };
    let mut after = row.json("after").unwrap_or_else(|| json!({}));
    if let Some(m) = after.as_object_mut() {
        m.insert("n8n".into(), n8n);
    }
    let _ = store
        .db
        .execute(
            "UPDATE operator_actions SET after = $1{json} WHERE id = $2",
            &[Val::Json(after), Val::Uuid(audit_id)],
        )
        .await;
}
