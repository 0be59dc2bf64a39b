//! Reconciliation discrepancies and capacity alerts.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{Applied, by, conflict_only};
use crate::api::db::{DbRow, Tx, Val};
use crate::domain::sanitize::clean;

pub(super) async fn resolve(
    tx: &mut Tx,
    op: &str,
    id: Uuid,
    ignore: bool,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let to = if ignore { "ignored" } else { "resolved" };
    let n = tx
        .execute(
            "UPDATE reconciliation_discrepancies SET status = $1, resolved_by = $2, \
             resolved_at = $3, note = $4 WHERE id = $5 AND status = 'open'",
            &[
                Val::Text(to.into()),
                Val::Text(op.into()),
                Val::Ts(now),
                Val::Text(note.trim().into()),
                Val::Uuid(id),
            ],
        )
        .await?;
    if n == 1 {
        return Ok(Applied {
            changed: 1,
            before: json!({"status": "open"}),
            after: json!({"status": to}),
            conflicts: vec![],
            resume: None,
            rollback: false,
        });
    }
    let cur = tx
        .fetch_optional(
            "SELECT status, resolved_by, resolved_at FROM reconciliation_discrepancies WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await?;
    let short = &id.to_string()[..8];
    let why = match cur {
        None => format!("discrepancy {short}: no such discrepancy"),
        Some(r) => format!(
            "already {}{}",
            clean(&r.s("status")),
            by(r.text("resolved_by"), r.ts("resolved_at"))
        ),
    };
    Ok(conflict_only(json!({"discrepancy": id}), why))
}

pub(super) async fn ack(
    tx: &mut Tx,
    op: &str,
    event: Uuid,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let rows = tx
        .fetch_all(
            "UPDATE capacity_alerts SET acknowledged_by = $1, acknowledged_at = $2 \
             WHERE event_id = $3 AND acknowledged_at IS NULL RETURNING threshold",
            &[Val::Text(op.into()), Val::Ts(now), Val::Uuid(event)],
        )
        .await?;
    if !rows.is_empty() {
        let th: Vec<i64> = rows.iter().map(|r: &DbRow| r.n("threshold")).collect();
        return Ok(Applied {
            changed: rows.len() as u64,
            before: json!({"open_thresholds": th}),
            after: json!({"acknowledged": th}),
            conflicts: vec![],
            resume: None,
            rollback: false,
        });
    }
    let last = tx
        .fetch_optional(
            "SELECT acknowledged_by, acknowledged_at FROM capacity_alerts \
             WHERE event_id = $1 AND acknowledged_at IS NOT NULL ORDER BY acknowledged_at DESC LIMIT 1",
            &[Val::Uuid(event)],
        )
        .await?;
    let why = match last {
        Some(r) => format!(
            "already acknowledged{}",
            by(r.text("acknowledged_by"), r.ts("acknowledged_at"))
        ),
        None => "no capacity alert is open for this event".to_string(),
    };
    Ok(conflict_only(json!({"event": event}), why))
}
