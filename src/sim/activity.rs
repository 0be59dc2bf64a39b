//! The engine's background activity besides workers and runs: the load generator (jobs per
//! second), ticket sales (and the Capacity Monitoring runs they trigger), system metrics, and
//! maintenance (rescuing stuck jobs, closing finished broadcasts, event status by the clock).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json, json};
use tokio::time::Instant;
use uuid::Uuid;

use super::batch::{Rows, pick, poisson, weighted};
use super::catalog::{self, FIRST_NAMES, JOBS};
use super::config::Stats;
use super::queue::{self, NewJob};
use super::runs::{self, WfRef};
use super::{Backoff, Ctx, Stop, broadcast};
use crate::api::db::Val;

fn payload(rng: &mut SmallRng, job_type: &str) -> Json {
    match job_type {
        "email.send" => json!({
            "to": format!("{}@example.com", pick(rng, FIRST_NAMES).to_lowercase()),
            "template": pick(rng, &["booking_confirmation", "ticket_receipt", "event_reminder", "payment_confirmation"]),
        }),
        "analytics.sync" => json!({ "platform": pick(rng, &["ga4", "instagram", "stripe"]) }),
        "content.generate" => json!({
            "prompt": pick(rng, &["event_description", "instagram_caption", "press_release"]),
            "options": { "model": "gpt-4", "max_tokens": 500 },
        }),
        "image.process" => json!({
            "asset": format!("portfolio/{:08x}.jpg", rng.random::<u32>()),
            "ops": ["resize", "watermark"],
        }),
        "report.generate" => {
            json!({ "report": pick(rng, &["daily_sales", "payout_summary", "capacity"]) })
        }
        "data.export" => {
            json!({ "format": "csv", "table": pick(rng, &["attendees", "payments", "bookings"]) })
        }
        "social.post" => json!({
            "platform": pick(rng, &["instagram", "linkedin", "twitter"]),
            "campaign": pick(rng, &["countdown", "lineup", "behind_the_scenes"]),
        }),
        _ => json!({}),
    }
}

/// The load generator: `rate` jobs per real second, attributed to active workflows that use
/// the job type (70 %) or to none.
pub(crate) async fn enqueuer(ctx: Arc<Ctx>, mut stop: Stop) {
    let cfg = &ctx.cfg;
    let mut rng = SmallRng::seed_from_u64(cfg.seed ^ 0xE1_0AD);
    let tick = Duration::from_millis(100);
    let mut carry = 0.0f64;
    let mut last = Instant::now();
    let mut by_type: HashMap<&'static str, Vec<Uuid>> = HashMap::new();
    let mut refresh_at = Instant::now();
    let mut backoff = Backoff::default();
    let kinds: Vec<&catalog::JobDef> = JOBS.iter().filter(|j| j.weight > 0).collect();
    while !stop.is_set() {
        let now_i = Instant::now();
        carry += cfg.rate.max(0.0) * now_i.duration_since(last).as_secs_f64();
        last = now_i;
        let n = carry.floor().min(5_000.0);
        carry -= n;
        let r: Result<(), sqlx::Error> = async {
            if now_i >= refresh_at {
                by_type.clear();
                for w in runs::load_workflows(&ctx.db).await? {
                    let Some(d) = w.def.filter(|_| w.status == "active") else {
                        continue;
                    };
                    for jt in d.jobs {
                        by_type.entry(jt).or_default().push(w.id);
                    }
                }
                refresh_at = now_i + Duration::from_secs(1);
            }
            if n < 1.0 {
                return Ok(());
            }
            let now = Utc::now();
            let jobs: Vec<NewJob> = (0..n as usize)
                .map(|_| {
                    let d = kinds[weighted(&mut rng, &kinds, |k| k.weight)];
                    let wf = by_type
                        .get(d.job_type)
                        .filter(|v| !v.is_empty() && rng.random_bool(0.7))
                        .map(|v| v[rng.random_range(0..v.len())]);
                    let later = rng.random_bool(0.05);
                    NewJob {
                        id: Uuid::new_v4(),
                        job_type: d.job_type.to_string(),
                        payload: payload(&mut rng, d.job_type),
                        priority: d.priority + rng.random_range(0..=1),
                        max_attempts: d.max_attempts,
                        scheduled_for: if later {
                            now + chrono::Duration::from_std(
                                cfg.real(Duration::from_secs(rng.random_range(5..60))),
                            )
                            .unwrap_or_default()
                        } else {
                            now
                        },
                        workflow_id: wf,
                    }
                })
                .collect();
            let mut tx = ctx.db.begin().await?;
            let k = queue::enqueue(&mut tx, &jobs, now).await?;
            tx.commit().await?;
            Stats::add(&ctx.stats.jobs_enqueued, k);
            Ok(())
        }
        .await;
        let pause = ctx.pause_after("enqueuer", r, &mut backoff, tick);
        stop.sleep(pause).await;
    }
}

/// Ticket sales: each open event sells a Poisson number of tickets per tick (smaller events
/// faster, as a share of capacity), never above capacity; a crossed 80/90/100 % threshold starts
/// a Capacity Monitoring run for that event, which writes the alert.
pub(crate) async fn sales(ctx: Arc<Ctx>, mut stop: Stop) {
    let cfg = &ctx.cfg;
    let mut rng = SmallRng::seed_from_u64(cfg.seed ^ 0x7_1C4E7);
    let tick = cfg
        .real(Duration::from_secs(1))
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut last = Instant::now();
    let mut backoff = Backoff::default();
    while !stop.is_set() {
        let now_i = Instant::now();
        let dt_sim = now_i.duration_since(last).as_secs_f64() * cfg.speed();
        last = now_i;
        let r = sell_round(&ctx, &mut rng, dt_sim).await;
        let pause = ctx.pause_after("sales", r, &mut backoff, tick);
        stop.sleep(pause).await;
    }
}

async fn sell_round(ctx: &Ctx, rng: &mut SmallRng, dt_sim: f64) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let events = ctx
        .db
        .fetch_all(
            "SELECT id, capacity, tickets_sold FROM events \
             WHERE status IN ('published', 'active') AND capacity > 0 AND tickets_sold < capacity \
               AND (end_at IS NULL OR end_at > $1) ORDER BY start_at LIMIT 50",
            &[Val::Ts(now)],
        )
        .await?;
    for e in events {
        let cap = e.n("capacity") as f64;
        let pace = (200.0 / cap).sqrt().min(1.5);
        let lambda = ctx.cfg.sales_per_min * cap * pace * dt_sim / 60.0;
        let k = poisson(rng, lambda) as i64;
        if k > 0 {
            sell(ctx, rng, e.id("id"), k, now).await?;
        }
    }
    Ok(())
}

/// Sells up to `k` tickets of one event under its row lock; starts Capacity Monitoring for
/// every threshold crossed.
pub(crate) async fn sell(
    ctx: &Ctx,
    rng: &mut SmallRng,
    event: Uuid,
    k: i64,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let mut tx = ctx.db.begin().await?;
    // the lock first (and the first statement a write, for SQLite)
    tx.execute(
        "UPDATE events SET updated_at = $1 WHERE id = $2",
        &[Val::Ts(now), Val::Uuid(event)],
    )
    .await?;
    let Some(row) = tx
        .fetch_optional(
            "SELECT capacity, tickets_sold FROM events WHERE id = $1",
            &[Val::Uuid(event)],
        )
        .await?
    else {
        tx.rollback().await?;
        return Ok(0);
    };
    let (cap, before) = (row.n("capacity"), row.n("tickets_sold"));
    let k = k.min(cap - before);
    if k <= 0 {
        tx.rollback().await?;
        return Ok(0);
    }
    let mut rows = Rows::new("tickets", &["id", "event_id", "tier", "status", "sold_at"]);
    // each buyer becomes a person at the event (a broadcast to it reaches them)
    let mut buyers = Rows::new("people", &crate::sim::world::PEOPLE_COLS);
    let mut attending = Rows::new("event_attendees", &["event_id", "person_id", "ticket_id"]);
    for _ in 0..k {
        let tier = if rng.random_bool(0.15) {
            "vip"
        } else {
            "general"
        };
        let ticket = Uuid::new_v4();
        rows.push(vec![
            Val::Uuid(ticket),
            Val::Uuid(event),
            Val::Text(tier.into()),
            Val::Text("sold".into()),
            Val::Ts(now),
        ]);
        let n = rng.random_range(10_000..100_000_000);
        let mut p = crate::sim::world::person(rng, n);
        p.id = Uuid::new_v4();
        buyers.push(p.vals(now));
        attending.push(vec![Val::Uuid(event), Val::Uuid(p.id), Val::Uuid(ticket)]);
    }
    rows.insert(&mut tx).await?;
    buyers.insert(&mut tx).await?;
    attending.insert(&mut tx).await?;
    tx.commit().await?;
    Stats::add(&ctx.stats.tickets_sold, k as u64);
    let after = before + k;
    for t in [80, 90, 100] {
        if before * 100 < cap * t && after * 100 >= cap * t {
            runs::start_run(
                ctx,
                WfRef::Name("Capacity Monitoring"),
                "Capacity Monitoring",
                Some(event),
                json!({ "reason": "threshold_crossed", "threshold": t, "sold": after, "capacity": cap }),
                rng,
                now,
            )
            .await?;
        }
    }
    Ok(k)
}

/// CPU and memory use of the machine, from /proc (None elsewhere).
#[derive(Default)]
pub(crate) struct ProcStat {
    last: Option<(u64, u64)>,
    pct: Option<f64>,
}

impl ProcStat {
    pub fn cpu(&mut self) -> Option<f64> {
        let s = std::fs::read_to_string("/proc/stat").ok()?;
        let line = s.lines().next()?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() < 5 {
            return None;
        }
        let total: u64 = v.iter().take(8).sum();
        let idle = v[3] + v[4];
        let (pt, pi) = self.last.unwrap_or((0, 0));
        let (dt, di) = (total.saturating_sub(pt), idle.saturating_sub(pi));
        if dt == 0 {
            // too soon for the counters (10 ms ticks) to move: the last figure holds
            return self.pct;
        }
        self.last = Some((total, idle));
        let pct = ((dt - di.min(dt)) as f64 * 100.0 / dt as f64 * 10.0).round() / 10.0;
        self.pct = Some(pct);
        self.pct
    }

    pub fn memory() -> Option<f64> {
        let s = std::fs::read_to_string("/proc/meminfo").ok()?;
        let field = |name: &str| -> Option<f64> {
            s.lines()
                .find(|l| l.starts_with(name))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        };
        let (total, avail) = (field("MemTotal:")?, field("MemAvailable:")?);
        (total > 0.0).then(|| ((1.0 - avail / total) * 1000.0).round() / 10.0)
    }
}

/// system_metrics every `metrics_every` (simulated): queue depth, CPU and memory.
pub(crate) async fn metrics(ctx: Arc<Ctx>, mut stop: Stop) {
    let every = ctx
        .cfg
        .real(ctx.cfg.metrics_every)
        .max(Duration::from_millis(200));
    let mut ps = ProcStat::default();
    let mut backoff = Backoff::default();
    let _ = ps.cpu();
    while !stop.is_set() {
        let r: Result<(), sqlx::Error> = async {
            let depth = queue::depth(&ctx.db).await?;
            ctx.db
                .execute(
                    "INSERT INTO system_metrics (measured_at, cpu_usage, memory_usage, queue_depth) \
                     VALUES ($1, NULLIF($2, -1.0), NULLIF($3, -1.0), $4)",
                    // always f64 binds (-1 = unknown → NULL): Postgres caches the statement
                    // with the parameter types of its first use
                    &[
                        Val::Ts(Utc::now()),
                        Val::F64(ps.cpu().unwrap_or(-1.0)),
                        Val::F64(ProcStat::memory().unwrap_or(-1.0)),
                        Val::I64(depth),
                    ],
                )
                .await?;
            Ok(())
        }
        .await;
        let pause = ctx.pause_after("metrics", r, &mut backoff, every);
        stop.sleep(pause).await;
    }
}

/// Every few seconds: rescue this fleet's stuck jobs, close finished broadcasts, move events
/// through published → active → completed by the clock.
pub(crate) async fn maintenance(ctx: Arc<Ctx>, mut stop: Stop) {
    let every = Duration::from_secs(5);
    let mut backoff = Backoff::default();
    while !stop.is_set() {
        let r: Result<(), sqlx::Error> = async {
            let now = Utc::now();
            let older = now
                - chrono::Duration::from_std(ctx.cfg.rescue_after)
                    .unwrap_or(chrono::Duration::minutes(5));
            let n = queue::rescue(
                &ctx.db,
                &ctx.cfg.worker_prefix,
                &ctx.worker_ids,
                older,
                now,
            )
            .await?;
            if n > 0 {
                tracing::info!("sim: rescued {n} jobs stuck in processing");
            }
            broadcast::sweep(&ctx.db, now).await?;
            if ctx.cfg.sales {
                ctx.db
                    .execute(
                        "UPDATE events SET status = 'active', updated_at = $1 WHERE status = 'published' \
                         AND start_at <= $1 AND (end_at IS NULL OR end_at > $1)",
                        &[Val::Ts(now)],
                    )
                    .await?;
                ctx.db
                    .execute(
                        "UPDATE events SET status = 'completed', updated_at = $1 \
                         WHERE status IN ('published', 'active') AND end_at <= $1",
                        &[Val::Ts(now)],
                    )
                    .await?;
            }
            Ok(())
        }
        .await;
        let pause = ctx.pause_after("maintenance", r, &mut backoff, every);
        stop.sleep(pause).await;
    }
}
