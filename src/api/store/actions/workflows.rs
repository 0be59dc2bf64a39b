//! Pause and resume workflows.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Applied, by, last_actor};
use crate::api::db::{Tx, Val};
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
