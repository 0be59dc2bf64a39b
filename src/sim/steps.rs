//! What one step of a run does: the plan (decided before the transaction: outcome, logs, jobs,
//! the kind-specific effect) and its writes (inside the run driver's guarded transaction).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use super::Ctx;
use super::approvals::{self, Neg};
use super::batch::{Rows, ms_between, pick};
use super::catalog::{self, Kind, SAGA_ERRORS, SAGA_RESOURCES};
use super::config::Stats;
use super::open_run::{OpenRun, steps_of};
use super::queue::{self, NewJob};
use super::recon::{self, Recon};
use crate::api::db::{Tx, Val};

pub(crate) use super::approvals::watch_approvals;

/// One step-log row.
pub(crate) struct Log {
    pub index: i64,
    pub name: String,
    pub status: &'static str,
    pub input: Json,
    pub output: Json,
    pub error: Option<String>,
    pub duration_ms: i64,
}

pub(crate) enum Effect {
    None,
    Negotiation(Box<Neg>),
    CapacityCheck,
    Recon(Recon),
    ReconFailed,
}

/// Everything one step changes.
pub(crate) struct Plan {
    pub status: &'static str,
    pub steps_completed: i64,
    pub steps_total: i64,
    pub current_step: Option<String>,
    /// Real time until the next step is due (None: not scheduled — finished or waiting).
    pub next_in: Option<Duration>,
    pub error_message: Option<String>,
    pub logs: Vec<Log>,
    /// (error_type, message) for workflow_errors.
    pub error: Option<(String, String)>,
    pub jobs: Vec<NewJob>,
    pub effect: Effect,
    pub ctx_extra: Map<String, Json>,
    /// Sequences: when the workflow next acts.
    pub next_exec_at: Option<DateTime<Utc>>,
}

pub(crate) const LOG_COLS: &[&str] = &[
    "id",
    "execution_id",
    "step_index",
    "step_name",
    "status",
    "input",
    "output",
    "error_message",
    "duration_ms",
    "created_at",
];

const CLIENTS: &[&str] = &[
    "atelier-noir",
    "casa-verde",
    "studio-kairo",
    "maison-lumiere",
    "oriel-finch",
];

/// Context a new run starts with (the saga's client).
pub(crate) fn initial_context(name: &str, ctx: &mut Map<String, Json>, rng: &mut SmallRng) {
    if catalog::workflow(name).is_some_and(|d| d.kind == Kind::Saga) && !ctx.contains_key("client")
    {
        ctx.insert("client".into(), json!(*pick(rng, CLIENTS)));
    }
}

fn hex(rng: &mut SmallRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Plans the next step of `r`; None = nothing to do yet (a broadcast still delivering).
pub(crate) async fn plan(
    ctx: &Ctx,
    r: &OpenRun,
    rng: &mut SmallRng,
    now: DateTime<Utc>,
) -> Result<Option<Plan>, sqlx::Error> {
    let cfg = &ctx.cfg;
    let steps = steps_of(&r.wf_name, r.steps_total);
    let total = steps.len() as i64;
    let k = r.steps_completed.max(0) as usize;
    let def = catalog::workflow(&r.wf_name).filter(|d| d.steps.len() == steps.len());
    let kind = def.map(|d| d.kind).unwrap_or(Kind::Plain);
    let mut p = Plan {
        status: "running",
        steps_completed: k as i64,
        steps_total: total,
        current_step: None,
        next_in: None,
        error_message: None,
        logs: Vec::new(),
        error: None,
        jobs: Vec::new(),
        effect: Effect::None,
        ctx_extra: Map::new(),
        next_exec_at: None,
    };
    if k >= steps.len() {
        p.status = "completed";
        p.steps_completed = total;
        return Ok(Some(p));
    }
    let step = steps[k];
    let dur = r
        .context
        .get("step_ms")
        .and_then(|v| v.as_i64())
        .unwrap_or_else(|| cfg.work(ms_between(rng, step.ms)).as_millis() as i64);
    let input = json!({
        "step": step.name,
        "execution_id": r.id.to_string(),
        "event_id": r.event_id.map(|e| e.to_string()),
    });
    let mut log = Log {
        index: k as i64,
        name: step.name.to_string(),
        status: "completed",
        input,
        output: json!({ "ok": true, "items": rng.random_range(1..40) }),
        error: None,
        duration_ms: dur,
    };

    // failure?
    let base = match kind {
        Kind::Saga => 0.06,
        Kind::Negotiation | Kind::Broadcast => 0.0,
        _ => def.map(|d| d.fail_p).unwrap_or(0.02),
    };
    if rng.random::<f64>() < cfg.fail_p(base) {
        let (etype, msg) = match kind {
            Kind::Saga => SAGA_ERRORS[k.min(4)],
            _ => *pick(
                rng,
                def.map(|d| d.errors)
                    .filter(|e| !e.is_empty())
                    .unwrap_or(catalog::GENERIC_ERRORS),
            ),
        };
        log.status = "failed";
        log.error = Some(msg.to_string());
        log.output = Json::Null;
        p.status = "failed";
        p.current_step = Some(step.name.to_string());
        p.error = Some((etype.to_string(), msg.to_string()));
        p.error_message = Some(msg.to_string());
        p.logs.push(log);
        if kind == Kind::Saga {
            rollback(ctx, r, k, &mut p, rng);
        }
        if kind == Kind::Reconciliation {
            p.effect = Effect::ReconFailed;
        }
        return Ok(Some(p));
    }

    match (kind, step.name) {
        (Kind::Negotiation, "approval") => {
            let mut neg = approvals::generate(rng, now, cfg);
            // the seed drives the decisions; ids must be new on every run of it
            neg.approval_id = Uuid::new_v4();
            neg.negotiation_id = Uuid::new_v4();
            log.output = neg.step_output();
            if !neg.auto {
                // park at the human
                log.status = "waiting";
                p.status = "waiting";
                p.current_step = Some(step.name.to_string());
                p.ctx_extra
                    .insert("approval_id".into(), json!(neg.approval_id.to_string()));
                p.logs.push(log);
                p.effect = Effect::Negotiation(Box::new(neg));
                return Ok(Some(p));
            }
            p.ctx_extra
                .insert("approval_id".into(), json!(neg.approval_id.to_string()));
            p.effect = Effect::Negotiation(Box::new(neg));
        }
        (Kind::Capacity, "check_thresholds") => p.effect = Effect::CapacityCheck,
        (Kind::Reconciliation, "compare") => {
            let mut rec = recon::generate(rng, now);
            rec.id = Uuid::new_v4();
            log.output = rec.summary();
            p.effect = Effect::Recon(rec);
        }
        (Kind::ErrorAnalysis, "analyze_patterns") => {
            let since = now
                - chrono::Duration::from_std(cfg.real(Duration::from_secs(3600)))
                    .unwrap_or(chrono::Duration::hours(1));
            log.output = recon::error_analysis(&ctx.db, since).await?;
        }
        (Kind::Broadcast, "track_delivery_status") => {
            let Some(out) = approvals::broadcast_state(&ctx.db, r).await? else {
                return Ok(None);
            };
            if out.get("status").and_then(|s| s.as_str()) == Some("failed") {
                log.status = "failed";
                log.error = Some("every delivery failed".into());
                p.status = "failed";
                p.error = Some(("unknown".into(), "every delivery failed".into()));
                p.error_message = Some("every delivery failed".into());
                p.current_step = Some(step.name.to_string());
            }
            log.output = out;
        }
        (Kind::Saga, _) => {
            let (key, _) = SAGA_RESOURCES[k.min(4)];
            let client = r.ctx_str("client").unwrap_or("client").to_string();
            let name = match k {
                0 => format!("sbp_{}", hex(rng, 16)),
                1 => format!("{client}.public"),
                2 => format!("fashionos/{client}-portal"),
                3 => format!("prj_{}", hex(rng, 20)),
                _ => format!("wf_{}", rng.random_range(1000..9999)),
            };
            log.output = json!({ "created": key, "id": name });
            p.ctx_extra.insert(key.into(), json!(name));
        }
        _ => {}
    }

    if let Some(jt) = step.job {
        let jd = catalog::job(jt);
        let id = Uuid::new_v4();
        p.jobs.push(NewJob {
            id,
            job_type: jt.to_string(),
            payload: json!({ "execution_id": r.id.to_string(), "step": step.name }),
            priority: jd.priority,
            max_attempts: jd.max_attempts,
            scheduled_for: now,
            workflow_id: Some(r.workflow_id),
        });
        if let Json::Object(m) = &mut log.output {
            m.insert("job_id".into(), json!(id.to_string()));
        }
    }
    p.logs.push(log);
    if p.status == "failed" {
        return Ok(Some(p));
    }
    let next = k + 1;
    p.steps_completed = next as i64;
    if next >= steps.len() {
        p.status = "completed";
        return Ok(Some(p));
    }
    let ns = steps[next];
    let work = cfg.work(ms_between(rng, ns.ms));
    let wait = work + cfg.real(Duration::from_secs(ns.delay_s));
    p.current_step = Some(ns.name.to_string());
    p.next_in = Some(wait);
    p.ctx_extra
        .insert("step_ms".into(), json!(work.as_millis() as u64));
    if kind == Kind::Sequence {
        p.next_exec_at = Some(super::batch::add_std(now, wait));
    }
    Ok(Some(p))
}

/// Seed 002's saga: undo what the run created, newest first, one step log per rollback.
fn rollback(ctx: &Ctx, r: &OpenRun, failed_at: usize, p: &mut Plan, rng: &mut SmallRng) {
    let mut idx = failed_at as i64 + 1;
    let mut undone = 0;
    for j in (0..failed_at.min(5)).rev() {
        let (key, step_name) = SAGA_RESOURCES[j];
        let Some(id) = r.ctx_str(key) else { continue };
        p.logs.push(Log {
            index: idx,
            name: step_name.to_string(),
            status: "completed",
            input: json!({ "resource": key, "id": id }),
            output: json!({ "deleted": id }),
            error: None,
            duration_ms: ctx.cfg.work(ms_between(rng, (200, 1500))).as_millis() as i64,
        });
        idx += 1;
        undone += 1;
    }
    if let Some(m) = &mut p.error_message {
        m.push_str(&if undone == 0 {
            " (nothing to roll back)".to_string()
        } else {
            format!(" (rolled back {undone} resource(s) in reverse order)")
        });
    }
}

/// The step's writes, inside the run driver's transaction (after its guarded update).
pub(crate) async fn apply(
    tx: &mut Tx,
    ctx: &Ctx,
    r: &OpenRun,
    mut p: Plan,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut rng =
        rand::SeedableRng::seed_from_u64(now.timestamp_micros() as u64 ^ r.id.as_u128() as u64);
    match &p.effect {
        Effect::None => {}
        Effect::Negotiation(neg) => approvals::insert(tx, neg, r, now).await?,
        Effect::CapacityCheck => {
            let created = capacity_alerts(tx, now).await?;
            if let Some(l) = p.logs.last_mut() {
                l.output = json!({ "alerts_created": created.len(), "alerts": created });
            }
            // 90 %: the waitlist opens and marketing pushes (seed 003)
            for a in &created {
                if a.get("threshold").and_then(|t| t.as_i64()) == Some(90) {
                    let jd = catalog::job("social.post");
                    p.jobs.push(NewJob {
                        id: Uuid::new_v4(),
                        job_type: "social.post".into(),
                        payload: json!({ "campaign": "waitlist_push", "event_id": a["event_id"] }),
                        priority: jd.priority,
                        max_attempts: jd.max_attempts,
                        scheduled_for: now,
                        workflow_id: Some(r.workflow_id),
                    });
                }
            }
        }
        Effect::Recon(rec) => rec.insert(tx, now).await?,
        Effect::ReconFailed => {
            let mut rec = Recon::failed(&mut rng, now);
            rec.id = Uuid::new_v4();
            rec.insert(tx, now).await?
        }
    }
    let mut logs = Rows::new("workflow_step_logs", LOG_COLS);
    for (i, l) in p.logs.iter().enumerate() {
        logs.push(vec![
            Val::Uuid(Uuid::new_v4()),
            Val::Uuid(r.id),
            Val::I64(l.index),
            Val::Text(l.name.clone()),
            Val::Text(l.status.into()),
            Val::Json(l.input.clone()),
            Val::Json(l.output.clone()),
            Val::OptText(l.error.clone()),
            Val::I64(l.duration_ms),
            Val::Ts(now + chrono::Duration::microseconds(i as i64)),
        ]);
    }
    logs.insert(tx).await?;
    if let Some((etype, msg)) = &p.error {
        tx.execute(
            "INSERT INTO workflow_errors (id, workflow_id, execution_id, error_type, error_message, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(r.workflow_id),
                Val::Uuid(r.id),
                Val::Text(etype.clone()),
                Val::Text(msg.clone()),
                Val::Ts(now),
            ],
        )
        .await?;
    }
    if !p.jobs.is_empty() {
        let n = queue::enqueue(tx, &p.jobs, now).await?;
        Stats::add(&ctx.stats.jobs_enqueued, n);
    }
    if let Some(t) = p.next_exec_at {
        tx.execute(
            "UPDATE workflows SET next_execution_at = $1, updated_at = $2 WHERE id = $3 \
             AND (next_execution_at IS NULL OR next_execution_at < $2 OR next_execution_at > $1)",
            &[Val::Ts(t), Val::Ts(now), Val::Uuid(r.workflow_id)],
        )
        .await?;
    }
    Ok(())
}

/// Seed 000 phase 3: one alert per crossed threshold (80, 90, 100) per event, insert-if-absent.
async fn capacity_alerts(tx: &mut Tx, now: DateTime<Utc>) -> Result<Vec<Json>, sqlx::Error> {
    let rows = tx
        .fetch_all(
            "INSERT INTO capacity_alerts (event_id, threshold, sold, capacity, created_at) \
             SELECT e.id, t.t, e.tickets_sold, e.capacity, $1 FROM events e, \
               (SELECT 80 AS t UNION ALL SELECT 90 UNION ALL SELECT 100) t \
             WHERE e.capacity > 0 AND e.tickets_sold * 100 >= e.capacity * t.t \
               AND e.status NOT IN ('draft', 'cancelled', 'completed') \
             ON CONFLICT (event_id, threshold) DO NOTHING \
             RETURNING event_id, threshold, sold, capacity",
            &[Val::Ts(now)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            json!({
                "event_id": r.id("event_id").to_string(),
                "threshold": r.n("threshold"),
                "sold": r.n("sold"),
                "capacity": r.n("capacity"),
            })
        })
        .collect())
}
