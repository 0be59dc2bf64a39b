//! A worker: claims due jobs in batches, holds up to `concurrency` of them while their simulated
//! work runs (no task per job: a list of finish times), and finishes whatever is done in one
//! transaction (batch complete, per-row failures, their workflow_errors, broadcast deliveries).
//! Idle, it polls every `poll`; on database errors it logs, backs off and tries again; on stop it
//! claims nothing more, lets in-flight jobs finish for `stop_grace`, then releases the rest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;
use uuid::Uuid;

use super::batch::{Rows, ms_between, pick};
use super::broadcast::{self, Delivery, DeliveryEnd};
use super::catalog::{self, ErrDef};
use super::config::Stats;
use super::queue::{self, Claimed, Failure};
use super::{Backoff, Ctx, Stop};
use crate::api::db::{Val, describe_sqlx};

struct InFlight {
    job: Claimed,
    finish_at: Instant,
    /// None = succeeds; Some = this attempt fails with that error.
    error: Option<ErrDef>,
    delivery: Option<Delivery>,
}

struct Done {
    job: Claimed,
    error: Option<ErrDef>,
    delivery: Option<Delivery>,
    retry_at: Option<DateTime<Utc>>,
}

pub(crate) async fn run(ctx: Arc<Ctx>, idx: usize, mut stop: Stop) {
    let me = ctx.worker_ids[idx].clone();
    let cfg = &ctx.cfg;
    let mut rng = SmallRng::seed_from_u64(cfg.seed ^ (0x5EED_0000 + idx as u64));
    let concurrency = cfg.concurrency.max(1);
    let batch = cfg.claim_batch.clamp(1, 500);
    // claim again once this many slots are free (or when nothing is in flight)
    let refill = (batch.min(concurrency) / 4).max(1);
    let mut inflight: Vec<InFlight> = Vec::new();
    let mut done: Vec<Done> = Vec::new();
    let mut next_claim = Instant::now();
    let mut backoff = Backoff::default();
    let mut flush_after = Instant::now();
    let mut stopping_since: Option<Instant> = None;
    // after a failed claim the rows may have been claimed anyway (the answer lost with the
    // connection): look for such orphans once the database answers again
    let mut orphan_check = false;

    loop {
        if stopping_since.is_none() && stop.is_set() {
            stopping_since = Some(Instant::now());
        }
        let now = Instant::now();

        // finished work moves to `done` (a 2 ms window coalesces near-simultaneous finishes)
        let mut i = 0;
        while i < inflight.len() {
            if inflight[i].finish_at <= now + Duration::from_millis(2) {
                let f = inflight.swap_remove(i);
                // the contract (seed 004): any failure below max_attempts is retried
                let retry_at = f.error.and_then(|_| {
                    (f.job.attempts < f.job.max_attempts).then(|| retry_time(cfg, &mut rng, &f.job))
                });
                done.push(Done {
                    job: f.job,
                    error: f.error,
                    delivery: f.delivery,
                    retry_at,
                });
            } else {
                i += 1;
            }
        }

        // stop grace over: hand the rest back
        if let Some(t) = stopping_since
            && now.duration_since(t) >= cfg.stop_grace
            && !inflight.is_empty()
        {
            let ids: Vec<Uuid> = inflight.iter().map(|f| f.job.id).collect();
            match queue::release(&ctx.db, &me, Some(&ids), Utc::now()).await {
                Ok(n) => Stats::add(&ctx.stats.released, n),
                Err(e) => tracing::warn!(
                    "{me}: could not release in-flight jobs at stop: {}",
                    describe_sqlx(&e)
                ),
            }
            inflight.clear();
        }

        if !done.is_empty() && now >= flush_after {
            match flush(&ctx, &me, &done).await {
                Ok(()) => {
                    done.clear();
                    backoff.reset();
                }
                Err(e) => {
                    Stats::add(&ctx.stats.db_errors, 1);
                    let d = backoff.fail();
                    tracing::warn!(
                        "{me}: finishing {} jobs failed: {}; retrying in {d:?}",
                        done.len(),
                        describe_sqlx(&e)
                    );
                    flush_after = Instant::now() + d;
                }
            }
        }

        if let Some(t) = stopping_since {
            if inflight.is_empty() && done.is_empty() {
                break;
            }
            // the database is gone and will not take our results: leave them to the rescuer
            if now.duration_since(t) >= cfg.stop_grace + Duration::from_secs(10) {
                tracing::warn!(
                    "{me}: stopping with {} unfinished jobs (database unavailable)",
                    done.len()
                );
                break;
            }
        }

        if orphan_check && stopping_since.is_none() && Instant::now() >= next_claim {
            let keep: Vec<Uuid> = inflight
                .iter()
                .map(|f| f.job.id)
                .chain(done.iter().map(|d| d.job.id))
                .collect();
            match queue::release_orphans(&ctx.db, &me, &keep, Utc::now()).await {
                Ok(n) => {
                    orphan_check = false;
                    if n > 0 {
                        tracing::warn!("{me}: handed back {n} jobs claimed by a lost statement");
                    }
                }
                Err(e) => {
                    Stats::add(&ctx.stats.db_errors, 1);
                    next_claim = Instant::now() + backoff.fail();
                    tracing::warn!("{me}: orphan check failed: {}", describe_sqlx(&e));
                    continue;
                }
            }
        }

        // claim when there is room
        let free = concurrency.saturating_sub(inflight.len() + done.len());
        if stopping_since.is_none()
            && Instant::now() >= next_claim
            && (free >= refill || (inflight.is_empty() && free > 0))
        {
            let want = free.min(batch);
            match claim(&ctx, &me, want, &mut rng).await {
                Ok(mut got) => {
                    backoff.reset();
                    next_claim = if got.len() < want {
                        Instant::now() + cfg.poll
                    } else {
                        Instant::now()
                    };
                    inflight.append(&mut got);
                }
                Err(e) => {
                    Stats::add(&ctx.stats.db_errors, 1);
                    let d = backoff.fail();
                    tracing::warn!(
                        "{me}: claim failed: {}; retrying in {d:?}",
                        describe_sqlx(&e)
                    );
                    next_claim = Instant::now() + d;
                    orphan_check = true;
                }
            }
            continue;
        }

        // sleep until something is due: a finish, a claim, a flush retry, the end of the grace
        let mut wake = Instant::now() + cfg.poll.max(Duration::from_millis(10));
        if let Some(f) = inflight.iter().map(|f| f.finish_at).min() {
            wake = wake.min(f);
        }
        if stopping_since.is_none() && free >= refill {
            wake = wake.min(next_claim);
        }
        if !done.is_empty() {
            wake = wake.min(flush_after);
        }
        if let Some(t) = stopping_since {
            wake = wake.min(t + cfg.stop_grace);
        }
        let d = wake.saturating_duration_since(Instant::now());
        if stopping_since.is_some() {
            tokio::time::sleep(d).await;
        } else {
            stop.sleep(d).await;
        }
    }
}

/// When a failed attempt runs again: seed 004's retryDelay, doubled per attempt, ±20 % jitter,
/// compressed by speed.
fn retry_time(cfg: &super::EngineConfig, rng: &mut SmallRng, job: &Claimed) -> DateTime<Utc> {
    let def = catalog::job(&job.job_type);
    let exp = (job.attempts - 1).clamp(0, 10) as u32;
    let base = def.retry_s as f64 * 2f64.powi(exp as i32);
    let jitter = rng.random_range(0.8..1.2);
    let real = cfg.real(Duration::from_secs_f64(base * jitter));
    Utc::now() + chrono::Duration::from_std(real).unwrap_or(chrono::Duration::seconds(1))
}

/// Claims up to `want` jobs and decides how each attempt will go.
async fn claim(
    ctx: &Ctx,
    me: &str,
    want: usize,
    rng: &mut SmallRng,
) -> Result<Vec<InFlight>, sqlx::Error> {
    let now = Utc::now();
    let jobs = queue::claim(&ctx.db, me, want, now).await?;
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let bjobs: Vec<&Claimed> = jobs
        .iter()
        .filter(|j| broadcast::is_broadcast(&j.job_type))
        .collect();
    let mut deliveries: HashMap<Uuid, Delivery> = HashMap::new();
    if !bjobs.is_empty() {
        match broadcast::on_claim(&ctx.db, &bjobs, now).await {
            Ok(d) => deliveries = d,
            Err(e) => {
                // the claim stands; hand the broadcast jobs back rather than guess
                let ids: Vec<Uuid> = bjobs.iter().map(|j| j.id).collect();
                let _ = queue::release(&ctx.db, me, Some(&ids), Utc::now()).await;
                let keep: Vec<Claimed> = jobs
                    .into_iter()
                    .filter(|j| !broadcast::is_broadcast(&j.job_type))
                    .collect();
                tracing::warn!("{me}: preparing deliveries failed: {}", describe_sqlx(&e));
                Stats::add(&ctx.stats.db_errors, 1);
                return Ok(plan(ctx, keep, HashMap::new(), rng));
            }
        }
    }
    Ok(plan(ctx, jobs, deliveries, rng))
}

fn plan(
    ctx: &Ctx,
    jobs: Vec<Claimed>,
    mut deliveries: HashMap<Uuid, Delivery>,
    rng: &mut SmallRng,
) -> Vec<InFlight> {
    let start = Instant::now();
    jobs.into_iter()
        .map(|job| {
            let def = catalog::job(&job.job_type);
            let delivery = deliveries.remove(&job.id);
            let error = if broadcast::is_broadcast(&job.job_type) {
                match &delivery {
                    None => Some(("validation", "broadcast delivery not found for this job")),
                    Some(d) => broadcast::unreachable(d),
                }
            } else {
                None
            }
            .or_else(|| {
                (rng.random::<f64>() < ctx.cfg.fail_p(def.fail_p)).then(|| *pick(rng, def.errors))
            });
            let work = ctx.cfg.work(ms_between(rng, def.ms));
            InFlight {
                job,
                finish_at: start + work,
                error,
                delivery,
            }
        })
        .collect()
}

/// Writes the outcome of finished jobs in one transaction.
async fn flush(ctx: &Ctx, me: &str, done: &[Done]) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let ok: Vec<Uuid> = done
        .iter()
        .filter(|d| d.error.is_none())
        .map(|d| d.job.id)
        .collect();
    let mut tx = ctx.db.begin().await?;
    let completed = queue::complete(&mut tx, me, &ok, now).await?;
    let (mut retried, mut failed) = (0, 0);
    let mut errors = Rows::new(
        "workflow_errors",
        &[
            "id",
            "workflow_id",
            "execution_id",
            "error_type",
            "error_message",
            "created_at",
        ],
    );
    let mut results = Vec::new();
    for d in done {
        let outcome = match d.error {
            None => DeliveryEnd::Delivered,
            Some((etype, msg)) => {
                let f = Failure {
                    id: d.job.id,
                    error: msg.to_string(),
                    retry_at: d.retry_at,
                };
                if queue::fail(&mut tx, me, &f, now).await? {
                    if d.retry_at.is_some() {
                        retried += 1;
                    } else {
                        failed += 1;
                    }
                    errors.push(vec![
                        Val::Uuid(Uuid::new_v4()),
                        Val::OptUuid(d.job.workflow_id),
                        Val::OptUuid(None),
                        Val::Text(etype.into()),
                        Val::Text(format!("{}: {msg}", d.job.job_type)),
                        Val::Ts(now),
                    ]);
                }
                if d.retry_at.is_some() {
                    DeliveryEnd::Retrying(msg.to_string())
                } else {
                    DeliveryEnd::Failed(msg.to_string())
                }
            }
        };
        if let Some(del) = &d.delivery {
            results.push((del.clone(), outcome));
        }
    }
    errors.insert(&mut tx).await?;
    broadcast::on_finish(&mut tx, &results, now).await?;
    tx.commit().await?;
    Stats::add(&ctx.stats.jobs_completed, completed);
    Stats::add(&ctx.stats.jobs_retried, retried);
    Stats::add(&ctx.stats.jobs_failed, failed);
    Ok(())
}
