//! Seed 000 phase 4: rate negotiations and the human in the loop. A Rate Negotiation run posts
//! an approval request and a `rate_negotiations` row; the seed's rule (`model::auto_approves`)
//! approves it on the spot or parks the run `waiting`. Whoever decides (the console, a CLI, SQL)
//! only flips `approval_requests.status`; the watcher here notices and resumes the run
//! (approved → it goes on to completion) or ends it (rejected → `cancelled`, "rejected by …";
//! expired → `failed`), with a step log for the decision.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::Ctx;
use super::batch::{add_std, ms_between, pick, uuid};
use super::catalog::{DESIGNERS, FIRST_NAMES, LAST_NAMES};
use super::config::{EngineConfig, Stats};
use super::open_run::{OpenRun, steps_of};
use crate::api::db::{Db, Tx, Val};
use crate::domain::model;

/// A generated negotiation.
#[derive(Debug, Clone)]
pub(crate) struct Neg {
    pub approval_id: Uuid,
    pub negotiation_id: Uuid,
    pub model_id: String,
    pub model_name: String,
    pub designer_id: String,
    pub designer_name: String,
    pub tier: String,
    pub standard: i64,
    pub proposed: i64,
    pub shows: i64,
    pub auto: bool,
    pub priority: &'static str,
    pub failures: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// A per-show rate range in cents by designer tier.
fn rate_range(tier: &str) -> (i64, i64) {
    match tier {
        "luxury" => (300_000, 800_000),
        "haute_couture" => (250_000, 600_000),
        "established" => (120_000, 350_000),
        _ => (50_000, 150_000),
    }
}

pub(crate) fn generate(rng: &mut SmallRng, now: DateTime<Utc>, cfg: &EngineConfig) -> Neg {
    let (designer, tier) = *pick(rng, DESIGNERS);
    let (lo, hi) = rate_range(tier);
    let standard = rng.random_range(lo / 5_000..=hi / 5_000) * 5_000;
    let shows = rng.random_range(1..=7);
    // about half ask for a modest discount, the rest push harder
    let discount = if rng.random_bool(0.5) {
        rng.random_range(0..=15)
    } else {
        rng.random_range(10..=40)
    };
    let proposed = (standard * (100 - discount) / 100) / 1_000 * 1_000;
    let failures = model::rule_failures(standard, proposed, shows, tier);
    let savings = (standard - proposed) * shows;
    let d = model::discount_pct(standard, proposed);
    let priority = if savings > 1_000_000 {
        "critical"
    } else if d > 25.0 {
        "high"
    } else if shows == 1 && proposed < 100_000 {
        "low"
    } else {
        "normal"
    };
    Neg {
        approval_id: uuid(rng),
        negotiation_id: uuid(rng),
        model_id: format!("mdl_{:06}", rng.random_range(0..1_000_000)),
        model_name: format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)),
        designer_id: format!(
            "dsg_{}",
            designer
                .to_lowercase()
                .replace([' ', '&'], "")
                .replace("è", "e")
        ),
        designer_name: designer.to_string(),
        tier: tier.to_string(),
        standard,
        proposed,
        shows,
        auto: failures.is_empty(),
        priority,
        failures,
        expires_at: add_std(now, cfg.real(Duration::from_secs(24 * 3600))),
    }
}

impl Neg {
    pub fn data(&self, event_id: Option<Uuid>) -> Json {
        json!({
            "model_id": self.model_id,
            "model_name": self.model_name,
            "designer_id": self.designer_id,
            "designer_name": self.designer_name,
            "designer_tier": self.tier,
            "standard_rate": self.standard,
            "proposed_rate": self.proposed,
            "show_count": self.shows,
            "discount_pct": (model::discount_pct(self.standard, self.proposed) * 10.0).round() / 10.0,
            "standard_total": self.standard * self.shows,
            "proposed_total": self.proposed * self.shows,
            "savings": (self.standard - self.proposed) * self.shows,
            "currency": "eur",
            "event_id": event_id.map(|e| e.to_string()),
            "rule_failures": self.failures,
        })
    }

    pub fn step_output(&self) -> Json {
        json!({
            "approval_request_id": self.approval_id.to_string(),
            "negotiation_id": self.negotiation_id.to_string(),
            "auto_approved": self.auto,
            "discount_pct": (model::discount_pct(self.standard, self.proposed) * 10.0).round() / 10.0,
            "rule_failures": self.failures,
        })
    }
}

/// Writes the approval request and the negotiation (inside the step's transaction).
pub(crate) async fn insert(
    tx: &mut Tx,
    n: &Neg,
    r: &OpenRun,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let (status, by, at, note) = if n.auto {
        (
            "approved",
            Some("auto-approval rule".to_string()),
            Some(now),
            Some("passes the seed's auto-approval rule".to_string()),
        )
    } else {
        ("pending", None, None, None)
    };
    tx.execute(
        "INSERT INTO approval_requests (id, type, data, priority, requested_by, status, decided_by, \
           decided_at, decision_note, execution_id, created_at, expires_at) \
         VALUES ($1, 'rate_negotiation', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            Val::Uuid(n.approval_id),
            Val::Json(n.data(r.event_id)),
            Val::Text(n.priority.into()),
            Val::Text(format!("{} (Rate Negotiation)", n.designer_name)),
            Val::Text(status.into()),
            Val::OptText(by),
            Val::OptTs(at),
            Val::OptText(note),
            Val::Uuid(r.id),
            Val::Ts(now),
            Val::Ts(n.expires_at),
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO rate_negotiations (id, approval_request_id, model_id, model_name, designer_id, \
           designer_name, designer_tier, standard_rate, proposed_rate, show_count, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            Val::Uuid(n.negotiation_id),
            Val::Uuid(n.approval_id),
            Val::Text(n.model_id.clone()),
            Val::Text(n.model_name.clone()),
            Val::Text(n.designer_id.clone()),
            Val::Text(n.designer_name.clone()),
            Val::Text(n.tier.clone()),
            Val::I64(n.standard),
            Val::I64(n.proposed),
            Val::I64(n.shows),
            Val::Text(if n.auto { "auto_approved" } else { "pending" }.into()),
            Val::Ts(now),
        ],
    )
    .await?;
    Ok(())
}

/// Resumes or ends waiting runs whose approval was decided (or expired).
pub(crate) async fn watch_approvals(ctx: &Ctx, rng: &mut SmallRng) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let rows = ctx
        .db
        .fetch_all(
            "SELECT a.id AS approval_id, a.status AS a_status, a.decided_by, a.decision_note, \
                    e.id, e.workflow_id, w.name AS wf_name, e.steps_total, e.steps_completed, \
                    e.context, e.started_at, e.event_id \
             FROM workflow_executions e \
             JOIN approval_requests a ON a.execution_id = e.id \
             JOIN workflows w ON w.id = e.workflow_id \
             WHERE e.status = 'waiting' \
               AND (a.status IN ('approved', 'rejected', 'expired') \
                    OR (a.status = 'pending' AND a.expires_at < $1)) \
             ORDER BY e.started_at LIMIT 50",
            &[Val::Ts(now)],
        )
        .await?;
    for row in rows {
        let approval = row.id("approval_id");
        let status = row.s("a_status");
        let by = row.text("decided_by").unwrap_or_else(|| "unknown".into());
        let note = row.text("decision_note");
        let run = OpenRun {
            id: row.id("id"),
            workflow_id: row.id("workflow_id"),
            wf_name: row.s("wf_name"),
            steps_total: row.n("steps_total"),
            steps_completed: row.n("steps_completed"),
            context: row.json("context").unwrap_or(Json::Null),
            started_at: row.ts("started_at").unwrap_or(now),
            event_id: row.uuid("event_id"),
        };
        decide(ctx, rng, &run, approval, &status, &by, note, now).await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn decide(
    ctx: &Ctx,
    rng: &mut SmallRng,
    r: &OpenRun,
    approval: Uuid,
    status: &str,
    by: &str,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let steps = steps_of(&r.wf_name, r.steps_total);
    let k = (r.steps_completed.max(0) as usize).min(steps.len().saturating_sub(1));
    let step = steps[k];
    let duration = (now - r.started_at).num_milliseconds().max(0);
    let mut context = match r.context.clone() {
        Json::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let mut tx = ctx.db.begin().await?;
    let (run_status, log_status, err, neg_status) = match status {
        "approved" => ("running", "completed", None, Some("approved")),
        "rejected" => (
            "cancelled",
            "cancelled",
            Some(match &note {
                Some(n) if !n.trim().is_empty() => format!("rejected by {by}: {n}"),
                _ => format!("rejected by {by}"),
            }),
            Some("rejected"),
        ),
        _ => {
            // expired (or pending past its deadline: expire it, unless someone decides first)
            if status == "pending" {
                let n = tx
                    .execute(
                        "UPDATE approval_requests SET status = 'expired', decided_at = $1, \
                         decision_note = 'expired without a decision' WHERE id = $2 AND status = 'pending'",
                        &[Val::Ts(now), Val::Uuid(approval)],
                    )
                    .await?;
                if n == 0 {
                    tx.rollback().await?;
                    return Ok(());
                }
            }
            (
                "failed",
                "failed",
                Some("approval expired without a decision".to_string()),
                None,
            )
        }
    };
    let next = k + 1;
    let (run_status, current, done) = if run_status == "running" && next >= steps.len() {
        ("completed", None, true)
    } else if run_status == "running" {
        let ns = steps[next];
        let work = ctx.cfg.work(ms_between(rng, ns.ms));
        context.insert("next_at".into(), json!(add_std(now, work).to_rfc3339()));
        context.insert("step_ms".into(), json!(work.as_millis() as u64));
        ("running", Some(ns.name.to_string()), false)
    } else {
        context.remove("next_at");
        (run_status, Some(step.name.to_string()), true)
    };
    let completed = if status == "approved" { next } else { k };
    let n = tx
        .execute(
            "UPDATE workflow_executions SET status = $1, steps_completed = $2, current_step = $3, \
               context = $4, error_message = $5, completed_at = $6, duration_ms = $7, updated_at = $8 \
             WHERE id = $9 AND status = 'waiting'",
            &[
                Val::Text(run_status.into()),
                Val::I64(completed as i64),
                Val::OptText(current),
                Val::Json(Json::Object(context)),
                Val::OptText(err.clone()),
                Val::OptTs(done.then_some(now)),
                Val::OptI64(done.then_some(duration)),
                Val::Ts(now),
                Val::Uuid(r.id),
            ],
        )
        .await?;
    if n != 1 {
        tx.rollback().await?;
        return Ok(());
    }
    tx.execute(
        "INSERT INTO workflow_step_logs (id, execution_id, step_index, step_name, status, input, \
           output, error_message, duration_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            Val::Uuid(Uuid::new_v4()),
            Val::Uuid(r.id),
            Val::I64(k as i64),
            Val::Text(step.name.into()),
            Val::Text(log_status.into()),
            Val::Json(json!({ "approval_request_id": approval.to_string() })),
            Val::Json(json!({ "decision": status, "decided_by": by, "note": note })),
            Val::OptText(err),
            Val::I64(duration),
            Val::Ts(now),
        ],
    )
    .await?;
    if let Some(ns) = neg_status {
        tx.execute(
            "UPDATE rate_negotiations SET status = $1 WHERE approval_request_id = $2 AND status = 'pending'",
            &[Val::Text(ns.into()), Val::Uuid(approval)],
        )
        .await?;
    }
    tx.commit().await?;
    match run_status {
        "completed" => Stats::add(&ctx.stats.runs_completed, 1),
        "failed" => Stats::add(&ctx.stats.runs_failed, 1),
        _ => {}
    }
    Ok(())
}

/// The Emergency Broadcast System run's last step: None while the broadcast is still
/// delivering, else its outcome.
pub(crate) async fn broadcast_state(db: &Db, r: &OpenRun) -> Result<Option<Json>, sqlx::Error> {
    let Some(b) = r
        .ctx_str("broadcast_id")
        .and_then(|s| Uuid::parse_str(s).ok())
    else {
        return Ok(Some(json!({ "status": "unknown" })));
    };
    let row = db
        .fetch_optional(
            "SELECT b.status, \
               (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id AND d.status = 'delivered') AS delivered, \
               (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id AND d.status = 'failed') AS failed \
             FROM emergency_broadcasts b WHERE b.id = $1",
            &[Val::Uuid(b)],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Some(
            json!({ "status": "missing", "broadcast_id": b.to_string() }),
        ));
    };
    let status = row.s("status");
    if matches!(status.as_str(), "queued" | "sending") {
        return Ok(None);
    }
    Ok(Some(json!({
        "broadcast_id": b.to_string(),
        "status": status,
        "delivered": row.n("delivered"),
        "failed": row.n("failed"),
    })))
}
