//! `opsdeck bench load`: the console's refresh while the simulated engine runs at a high rate,
//! several consoles watch and one operator keeps retrying every failed job in bulk.
//!
//! Each console is a loop doing what the console does under a stream of NOTIFYs: one read of
//! its view through `api::refresh::load` (the overview, the queue with its depth, the runs
//! list) at most every 200 ms (the console's cadence under a stream of changes, `app::MIN_GAP`).
//! The operator counts the failed jobs and retries them (`RetryFailed` through
//! `api::actions::execute`, as the confirm dialog does) every second. Every database error of every party is kept (with its SQLSTATE), and
//! Postgres' own deadlock counter (`pg_stat_database.deadlocks`) is read before and after, and
//! the statements waiting on a lock are sampled every 100 ms.
//! [`run`] is shared by the benchmark and by the correctness test (tests/load.rs).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use tokio::sync::Mutex;

use crate::api::Store;
use crate::api::actions::{ActionCtx, execute};
use crate::api::refresh;
use crate::api::store::actions::count_failed;
use crate::config::DbTarget;
use crate::domain::action::{Action, ActionReport, Actor, JobSelect, Outcome};
use crate::domain::mode::Mode;
use crate::domain::refresh::{LoadKind, LoadReq, ViewId};
use crate::sim::{Engine, EngineConfig, Summary};
use crate::state::App;

/// The views the consoles watch, in turn (console i watches `WATCHED[i % 3]`).
pub const WATCHED: [ViewId; 3] = [ViewId::Overview, ViewId::Queue, ViewId::Runs];

/// The console's refresh cadence under a stream of changes (`app::MIN_GAP`).
pub const REFRESH_EVERY: Duration = crate::app::MIN_GAP;

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub consoles: usize,
    pub duration: Duration,
    /// The engine; `None` measures idle (consoles only, no operator).
    pub engine: Option<EngineConfig>,
    /// How often the operator retries every failed job.
    pub retry_every: Duration,
}

/// One party's database error.
#[derive(Debug, Clone)]
pub struct PartyError {
    pub party: String,
    pub sqlstate: Option<String>,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct LoadResult {
    /// Milliseconds of each console refresh, sorted.
    pub refresh_ms: Vec<f64>,
    /// Per watched view: sorted milliseconds.
    pub by_view: Vec<(ViewId, Vec<f64>)>,
    /// The operator's bulk retries, in order.
    pub retries: Vec<ActionReport>,
    pub errors: Vec<PartyError>,
    pub engine: Option<Summary>,
    /// `pg_stat_database.deadlocks` after minus before (Postgres; 0 on SQLite).
    pub pg_deadlocks: i64,
    /// Lock-wait samples taken (one every 100 ms) and, per waiting statement (its first 60
    /// characters and the lock kind), how many samples caught one waiting.
    pub lock_samples: u64,
    pub lock_waits: Vec<(String, u64)>,
    pub elapsed: Duration,
}

pub use super::measure::pct;

impl LoadResult {
    pub fn p(&self, q: f64) -> f64 {
        pct(&self.refresh_ms, q)
    }
    /// Deadlocks seen: Postgres' counter, or SQLSTATE 40P01 reported to any party.
    pub fn deadlocks(&self) -> i64 {
        let reported = self
            .errors
            .iter()
            .filter(|e| e.sqlstate.as_deref() == Some("40P01"))
            .count() as i64;
        self.pg_deadlocks.max(reported)
    }
}

fn sqlstate(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|c| {
        c.downcast_ref::<sqlx::Error>()
            .and_then(|s| s.as_database_error())
            .and_then(|d| d.code())
            .map(|c| c.into_owned())
    })
}

async fn deadlock_counter(store: &Store) -> i64 {
    if store.db.pg_pool().is_none() {
        return 0;
    }
    store
        .db
        .fetch_one(
            "SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .map(|r| r.n("n"))
        .unwrap_or(0)
}

fn req(view: ViewId, filter: crate::domain::model::ListFilter) -> LoadReq {
    LoadReq {
        view,
        kind: LoadKind::Main,
        filter: crate::domain::model::ListFilter {
            limit: crate::domain::refresh::PAGE,
            ..filter
        },
        id: None,
        now: Utc::now(),
        seq: 0,
    }
}

/// Runs the consoles (and, with an engine, the engine and the operator) for `cfg.duration`.
/// Every party has its own connection pool, as separate processes would: the engine its
/// workers' and tasks', each console 2 connections, the operator 2, the lock sampler 1.
pub async fn run(target: &DbTarget, cfg: &LoadConfig) -> Result<LoadResult> {
    let open = |n: u32| async move {
        Store::open(target, n)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let store = &open(2).await?;
    let app = App::new(
        Mode::Live,
        crate::theme::Theme::builtin("default").ok_or_else(|| anyhow::anyhow!("theme"))?,
        crate::keymap::Keymap::default_map(),
        "bench".into(),
        "bench".into(),
        Utc::now(),
    );
    let deadlocks_before = deadlock_counter(store).await;
    let stop = Arc::new(AtomicBool::new(false));
    let errors: Arc<Mutex<Vec<PartyError>>> = Arc::default();
    let engine = match cfg.engine.clone() {
        Some(e) => {
            let conns = (e.workers as u32).clamp(1, 64) + 6;
            Some(Engine::start(open(conns).await?, e))
        }
        None => None,
    };
    let started = Instant::now();

    // who waits on a lock, sampled every 100 ms (Postgres): shared rows serialising writers
    let sampler = match store.db.pg_pool() {
        Some(_) => {
            let (db, stop) = (open(1).await?, stop.clone());
            Some(tokio::spawn(async move {
                let mut waits: BTreeMap<String, u64> = BTreeMap::new();
                let mut samples = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(rows) = db
                        .db
                        .fetch_all(
                            "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS q, \
                               wait_event AS w FROM pg_stat_activity \
                             WHERE datname = current_database() AND wait_event_type = 'Lock' \
                               AND pid <> pg_backend_pid()",
                            &[],
                        )
                        .await
                    {
                        samples += 1;
                        for r in rows {
                            *waits
                                .entry(format!("{} … [{}]", r.s("q"), r.s("w")))
                                .or_default() += 1;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                db.db.close().await;
                (samples, waits)
            }))
        }
        None => None,
    };

    let mut consoles = Vec::new();
    for i in 0..cfg.consoles {
        let view = WATCHED[i % WATCHED.len()];
        let filter = app.base_filter(view);
        let (store, stop, errors) = (open(2).await?, stop.clone(), errors.clone());
        consoles.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = refresh::load(&store, &req(view, filter.clone())).await;
                let took = t.elapsed();
                match r {
                    Ok(_) => ms.push(took.as_secs_f64() * 1000.0),
                    Err(e) => errors.lock().await.push(PartyError {
                        party: format!("console {i} ({})", view.title()),
                        sqlstate: sqlstate(&e),
                        message: format!("{e:#}"),
                    }),
                }
                if let Some(rest) = REFRESH_EVERY.checked_sub(took) {
                    tokio::time::sleep(rest).await;
                }
            }
            store.db.close().await;
            (view, ms)
        }));
    }

    let operator = match engine.is_some() {
        false => None,
        true => Some({
            let (store, stop, every) = (open(2).await?, stop.clone(), cfg.retry_every);
            tokio::spawn(async move {
                let ctx = ActionCtx::new(Actor {
                    operator: "bench-operator".into(),
                    origin: "opsdeck bench load".into(),
                });
                let select = JobSelect::default();
                let mut reports = Vec::new();
                let mut errs = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(every).await;
                    // what the dialog does: count, confirm, retry (the count may move meanwhile)
                    let expected = match count_failed(&store, &select).await {
                        Ok(n) => n,
                        Err(e) => {
                            errs.push(PartyError {
                                party: "operator (count)".into(),
                                sqlstate: e
                                    .as_database_error()
                                    .and_then(|d| d.code())
                                    .map(|c| c.into_owned()),
                                message: crate::api::db::describe_sqlx(&e),
                            });
                            continue;
                        }
                    };
                    if expected == 0 {
                        continue;
                    }
                    let action = Action::RetryFailed {
                        select: select.clone(),
                        expected: Some(expected),
                    };
                    let r = execute(&store, &ctx, &action).await;
                    if r.outcome == Outcome::Error {
                        errs.push(PartyError {
                            party: "operator (retry)".into(),
                            sqlstate: ["40P01", "40001", "57P01"]
                                .into_iter()
                                .find(|c| r.message.contains(c))
                                .map(str::to_string),
                            message: r.message.clone(),
                        });
                    }
                    reports.push(r);
                }
                store.db.close().await;
                (reports, errs)
            })
        }),
    };

    tokio::time::sleep(cfg.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut res = LoadResult::default();
    for c in consoles {
        let (view, mut ms) = c.await?;
        ms.sort_by(|a, b| a.total_cmp(b));
        res.refresh_ms.extend_from_slice(&ms);
        match res.by_view.iter_mut().find(|(v, _)| *v == view) {
            Some((_, all)) => all.extend(ms),
            None => res.by_view.push((view, ms)),
        }
    }
    res.refresh_ms.sort_by(|a, b| a.total_cmp(b));
    for (_, ms) in &mut res.by_view {
        ms.sort_by(|a, b| a.total_cmp(b));
    }
    if let Some(op) = operator {
        let (reports, errs) = op.await?;
        res.retries = reports;
        errors.lock().await.extend(errs);
    }
    if let Some(sm) = sampler {
        let (samples, waits) = sm.await?;
        res.lock_samples = samples;
        res.lock_waits = waits.into_iter().collect();
        res.lock_waits.sort_by_key(|w| std::cmp::Reverse(w.1));
    }
    res.elapsed = started.elapsed();
    if let Some(e) = engine {
        res.engine = Some(e.stop().await);
    }
    // the statistics of the last transactions reach pg_stat_database within a second
    tokio::time::sleep(Duration::from_millis(1500)).await;
    res.pg_deadlocks = deadlock_counter(store).await - deadlocks_before;
    res.errors = std::mem::take(&mut *errors.lock().await);
    store.db.close().await;
    Ok(res)
}

/// The engine the benchmark (and the test) runs: `rate` jobs/s on top of the demo's activity
/// (runs, ticket sales, metrics), at 20× simulated time so failures and retries come quickly.
pub fn engine_config(rate: f64, seed: u64) -> EngineConfig {
    EngineConfig {
        seed,
        rate,
        speed: 20.0,
        workers: 4,
        concurrency: 100,
        claim_batch: 50,
        failure_scale: 2.0,
        poll: Duration::from_millis(100),
        ..EngineConfig::default()
    }
}
