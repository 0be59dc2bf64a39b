//! The run driver: starts runs of active workflows (event-triggered ones as a Poisson process,
//! scheduled ones when `next_execution_at` is due) and moves open runs through their steps.
//!
//! Runs are driven from the database, not from memory: each tick reads the open runs (bounded,
//! through the partial index on open states), and a run's next due time lives in its `context`
//! (`next_at`). Each step is one short transaction whose first statement is the guarded update
//! `… WHERE id = $1 AND steps_completed = $k AND status IN ('pending', 'running')`, so a run an
//! operator cancelled, or one another engine advanced, is left alone. An engine that restarts
//! simply carries on with what it finds.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json, json};
use tokio::time::Instant;
use uuid::Uuid;

use super::batch::{add_std, ms_between, weighted};
use super::catalog::{self, Kind, WfDef};
use super::config::Stats;
use super::open_run::{OpenRun, steps_of};
use super::steps::{self, Plan};
use super::{Backoff, Ctx, Stop};
use crate::api::db::{Db, Val};

/// Most open runs of one workflow at a time (sequences: fewer, they last days).
const MAX_OPEN: i64 = 20;
const MAX_OPEN_SEQUENCE: i64 = 3;

#[derive(Clone)]
pub(crate) struct Wf {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub trigger: String,
    pub next_at: Option<DateTime<Utc>>,
    pub def: Option<&'static WfDef>,
}

pub(crate) async fn load_workflows(db: &Db) -> Result<Vec<Wf>, sqlx::Error> {
    let rows = db
        .fetch_all(
            "SELECT id, name, status, trigger_type, next_execution_at FROM workflows ORDER BY name LIMIT 500",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let name = r.s("name");
            Wf {
                id: r.id("id"),
                def: catalog::workflow(&name),
                name,
                status: r.s("status"),
                trigger: r.s("trigger_type"),
                next_at: r.ts("next_execution_at"),
            }
        })
        .collect())
}

pub(crate) async fn load_event_ids(db: &Db, now: DateTime<Utc>) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = db
        .fetch_all(
            "SELECT id FROM events WHERE start_at >= $1 AND status NOT IN ('cancelled', 'draft') \
             ORDER BY start_at LIMIT 50",
            &[Val::Ts(now - chrono::Duration::days(1))],
        )
        .await?;
    Ok(rows.iter().map(|r| r.id("id")).collect())
}

pub(crate) enum WfRef<'a> {
    Id(Uuid),
    Name(&'a str),
}

/// Starts a run if the workflow is active and has room; returns its id.
pub(crate) async fn start_run(
    ctx: &Ctx,
    wf: WfRef<'_>,
    name: &str,
    event_id: Option<Uuid>,
    extra: Json,
    rng: &mut SmallRng,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let steps = steps_of(name, 0);
    let first = steps[0];
    let seq = catalog::workflow(name).is_some_and(|d| d.kind == Kind::Sequence);
    let work = ctx.cfg.work(ms_between(rng, first.ms));
    let next_at = add_std(now, work + ctx.cfg.real(Duration::from_secs(first.delay_s)));
    let mut context = match extra {
        Json::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    steps::initial_context(name, &mut context, rng);
    context.insert("next_at".into(), json!(next_at.to_rfc3339()));
    context.insert("step_ms".into(), json!(work.as_millis() as u64));
    context.insert("trigger".into(), json!("opsdeck-sim"));
    let id = Uuid::new_v4();
    let (cond, wf_val) = match wf {
        WfRef::Id(id) => ("w.id = $7", Val::Uuid(id)),
        WfRef::Name(n) => ("w.name = $7", Val::Text(n.to_string())),
    };
    let sql = format!(
        "INSERT INTO workflow_executions (id, workflow_id, status, started_at, event_id, steps_total, \
           steps_completed, current_step, context, updated_at) \
         SELECT $1, w.id, 'running', $2, $3, $4, 0, $5, $6, $2 FROM workflows w \
         WHERE {cond} AND w.status = 'active' \
           AND (SELECT count(*) FROM workflow_executions x WHERE x.workflow_id = w.id \
                AND x.status IN ('pending', 'running', 'waiting')) < $8"
    );
    let n = ctx
        .db
        .execute(
            &sql,
            &[
                Val::Uuid(id),
                Val::Ts(now),
                Val::OptUuid(event_id),
                Val::I64(steps.len() as i64),
                Val::Text(first.name.into()),
                Val::Json(Json::Object(context)),
                wf_val,
                Val::I64(if seq { MAX_OPEN_SEQUENCE } else { MAX_OPEN }),
            ],
        )
        .await?;
    if n == 1 {
        Stats::add(&ctx.stats.runs_started, 1);
        Ok(Some(id))
    } else {
        Ok(None)
    }
}

async fn open_runs(db: &Db) -> Result<Vec<OpenRun>, sqlx::Error> {
    let rows = db
        .fetch_all(
            "SELECT e.id, e.workflow_id, w.name AS wf_name, e.steps_total, e.steps_completed, \
                    e.context, e.started_at, e.event_id \
             FROM workflow_executions e JOIN workflows w ON w.id = e.workflow_id \
             WHERE e.status IN ('pending', 'running') ORDER BY e.started_at LIMIT 300",
            &[],
        )
        .await?;
    Ok(rows.iter().map(OpenRun::from_row).collect())
}

/// The driver task.
pub(crate) async fn run(ctx: Arc<Ctx>, mut stop: Stop) {
    let cfg = &ctx.cfg;
    let mut rng = SmallRng::seed_from_u64(cfg.seed ^ 0x52_554E);
    let tick = cfg
        .real(Duration::from_millis(200))
        .clamp(Duration::from_millis(20), Duration::from_millis(250))
        .min(cfg.poll.max(Duration::from_millis(20)));
    let mut wfs: Vec<Wf> = Vec::new();
    let mut events: Vec<Uuid> = Vec::new();
    let mut refresh_at = Instant::now();
    let mut next_start = Instant::now() + start_gap(cfg, &mut rng);
    let mut backoff = Backoff::default();
    while !stop.is_set() {
        let r: Result<(), sqlx::Error> = async {
            let now = Utc::now();
            if Instant::now() >= refresh_at {
                wfs = load_workflows(&ctx.db).await?;
                events = load_event_ids(&ctx.db, now).await?;
                refresh_at = Instant::now() + Duration::from_secs(1);
            }
            start_scheduled(&ctx, &mut wfs, &events, &mut rng, now).await?;
            let mut n = 0;
            while Instant::now() >= next_start && n < 10 {
                start_random(&ctx, &wfs, &events, &mut rng, now).await?;
                next_start += start_gap(cfg, &mut rng);
                n += 1;
            }
            if n == 10 {
                next_start = Instant::now() + start_gap(cfg, &mut rng);
            }
            advance_due(&ctx, &mut rng).await?;
            steps::watch_approvals(&ctx, &mut rng).await?;
            Ok(())
        }
        .await;
        let pause = ctx.pause_after("runs", r, &mut backoff, tick);
        stop.sleep(pause).await;
    }
}

fn start_gap(cfg: &super::EngineConfig, rng: &mut SmallRng) -> Duration {
    let per_sec = cfg.runs_per_min / 60.0 * cfg.speed();
    if per_sec <= 0.0 || !per_sec.is_finite() {
        return Duration::from_secs(3600);
    }
    let u: f64 = rng.random::<f64>().max(1e-9);
    Duration::from_secs_f64((-u.ln() / per_sec).min(3600.0))
}

fn allowed(cfg: &super::EngineConfig, name: &str) -> bool {
    cfg.only_workflows.is_empty() || cfg.only_workflows.iter().any(|n| n == name)
}

async fn start_scheduled(
    ctx: &Ctx,
    wfs: &mut [Wf],
    events: &[Uuid],
    rng: &mut SmallRng,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for w in wfs.iter_mut() {
        let Some(def) = w.def else { continue };
        if def.every_s == 0 || w.status != "active" || !allowed(&ctx.cfg, &w.name) {
            continue;
        }
        if w.next_at.is_some_and(|t| t > now) {
            continue;
        }
        let next = add_std(now, ctx.cfg.real(Duration::from_secs(def.every_s)));
        // one engine fires it: the update is the claim
        let n = ctx
            .db
            .execute(
                "UPDATE workflows SET next_execution_at = $1, updated_at = $2 \
                 WHERE id = $3 AND status = 'active' \
                   AND (next_execution_at IS NULL OR next_execution_at <= $2)",
                &[Val::Ts(next), Val::Ts(now), Val::Uuid(w.id)],
            )
            .await?;
        w.next_at = Some(next);
        if n == 1 {
            let ev = pick_event(def, events, rng);
            start_run(ctx, WfRef::Id(w.id), &w.name, ev, json!({}), rng, now).await?;
        }
    }
    Ok(())
}

fn pick_event(def: &WfDef, events: &[Uuid], rng: &mut SmallRng) -> Option<Uuid> {
    let wants = matches!(def.kind, Kind::Sequence | Kind::Negotiation)
        || def.name.starts_with("Model")
        || def.name.starts_with("Bulk")
        || def.name == "Event Countdown";
    (wants && !events.is_empty()).then(|| events[rng.random_range(0..events.len())])
}

async fn start_random(
    ctx: &Ctx,
    wfs: &[Wf],
    events: &[Uuid],
    rng: &mut SmallRng,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let cands: Vec<(&Wf, u32)> = wfs
        .iter()
        .filter(|w| w.status == "active" && allowed(&ctx.cfg, &w.name))
        .filter_map(|w| match w.def {
            Some(d) if d.every_s == 0 && d.weight > 0 => Some((w, d.weight)),
            Some(_) => None,
            None if w.trigger != "schedule" => Some((w, 2)),
            None => None,
        })
        .collect();
    if cands.is_empty() {
        return Ok(());
    }
    let (w, _) = cands[weighted(rng, &cands, |c| c.1)];
    let ev = w.def.and_then(|d| pick_event(d, events, rng));
    start_run(ctx, WfRef::Id(w.id), &w.name, ev, json!({}), rng, now).await?;
    Ok(())
}

async fn advance_due(ctx: &Ctx, rng: &mut SmallRng) -> Result<(), sqlx::Error> {
    let runs = open_runs(&ctx.db).await?;
    let now = Utc::now();
    let mut n = 0;
    for r in runs {
        if r.due_at().is_some_and(|t| t > now) {
            continue;
        }
        let plan = steps::plan(ctx, &r, rng, now).await?;
        if let Some(p) = plan {
            write(ctx, &r, p, now).await?;
        }
        n += 1;
        if n >= 100 {
            break;
        }
    }
    Ok(())
}

/// Writes one planned step: the guarded run update first, then the step's effects and logs.
async fn write(ctx: &Ctx, r: &OpenRun, p: Plan, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let mut context = match r.context.clone() {
        Json::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    for (k, v) in p.ctx_extra.clone() {
        context.insert(k, v);
    }
    match p.next_in {
        Some(d) => context.insert("next_at".into(), json!(add_std(now, d).to_rfc3339())),
        None => context.remove("next_at"),
    };
    let finished = matches!(p.status, "completed" | "failed" | "cancelled");
    let duration = (now - r.started_at).num_milliseconds().max(0);
    let mut tx = ctx.db.begin().await?;
    let n = tx
        .execute(
            "UPDATE workflow_executions SET status = $1, steps_completed = $2, current_step = $3, \
               context = $4, error_message = $5, completed_at = $6, duration_ms = $7, \
               updated_at = $8, steps_total = $9 \
             WHERE id = $10 AND steps_completed = $11 AND status IN ('pending', 'running')",
            &[
                Val::Text(p.status.into()),
                Val::I64(p.steps_completed),
                Val::OptText(p.current_step.clone()),
                Val::Json(Json::Object(context)),
                Val::OptText(p.error_message.clone()),
                Val::OptTs(finished.then_some(now)),
                Val::OptI64(finished.then_some(duration)),
                Val::Ts(now),
                Val::I64(p.steps_total),
                Val::Uuid(r.id),
                Val::I64(r.steps_completed),
            ],
        )
        .await?;
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let status = p.status;
    steps::apply(&mut tx, ctx, r, p, now).await?;
    tx.commit().await?;
    match status {
        "completed" => Stats::add(&ctx.stats.runs_completed, 1),
        "failed" => Stats::add(&ctx.stats.runs_failed, 1),
        _ => {}
    }
    Ok(true)
}
