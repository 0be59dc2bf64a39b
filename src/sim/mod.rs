//! The simulated automation engine: a worker fleet that behaves like the real one on the
//! contract tables (DOMAIN.md). It claims and completes jobs, starts and advances workflow
//! runs, sells tickets, posts rate negotiations and waits for humans, reconciles payments,
//! delivers emergency broadcasts and writes system metrics — through the same rows a real
//! n8n fleet writes, never by painting the screen.
//!
//! ```no_run
//! # async fn demo(store: opsdeck::api::Store) -> anyhow::Result<()> {
//! use opsdeck::sim::{Engine, EngineConfig, seed};
//! if !seed::is_seeded(&store).await? {
//!     seed::seed_scenario(&store, 42, chrono::Utc::now()).await?;
//! }
//! let engine = Engine::start(store, EngineConfig::default());
//! // … later
//! let summary = engine.stop().await;
//! println!("{summary}");
//! # Ok(()) }
//! ```

mod activity;
mod approvals;
pub mod batch;
mod broadcast;
pub mod catalog;
mod config;
mod history;
mod open_run;
pub mod queue;
mod recon;
mod runs;
pub mod seed;
mod steps;
mod worker;
mod world;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use config::{EngineConfig, Summary};

use crate::api::Store;
use crate::api::db::Db;
use config::Stats;

/// What every task of one engine shares.
pub(crate) struct Ctx {
    pub db: Db,
    pub cfg: EngineConfig,
    pub stats: Stats,
    /// This engine's worker ids (`locked_by`).
    pub worker_ids: Vec<String>,
}

impl Ctx {
    /// After one round of a periodic task: `ok` when it went well; after a database error,
    /// counts and logs it and returns the back-off. A database that goes away never kills a task.
    pub fn pause_after(
        &self,
        task: &str,
        r: Result<(), sqlx::Error>,
        backoff: &mut Backoff,
        ok: Duration,
    ) -> Duration {
        match r {
            Ok(()) => {
                backoff.reset();
                ok
            }
            Err(e) => {
                config::Stats::add(&self.stats.db_errors, 1);
                let d = backoff.fail();
                tracing::warn!(
                    "sim {task}: {}; retrying in {d:?}",
                    crate::api::db::describe_sqlx(&e)
                );
                d
            }
        }
    }
}

/// The stop signal as tasks see it: set by `stop()`, or by the handle being dropped.
pub(crate) struct Stop(watch::Receiver<bool>);

impl Stop {
    pub fn is_set(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Sleeps `d`, or less if the engine is told to stop. Returns whether it is stopping.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        if self.is_set() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => self.is_set(),
            _ = self.0.changed() => true,
        }
    }
}

/// Exponential back-off for database errors: 250 ms doubling to 10 s.
#[derive(Default)]
pub(crate) struct Backoff {
    n: u32,
}

impl Backoff {
    pub fn fail(&mut self) -> Duration {
        let d = Duration::from_millis(250) * 2u32.pow(self.n.min(6));
        self.n += 1;
        d.min(Duration::from_secs(10))
    }
    pub fn reset(&mut self) {
        self.n = 0;
    }
}

/// The engine: `start` spawns its tasks on the current tokio runtime.
pub struct Engine;

/// A running engine. Dropping it stops the tasks too, but only [`EngineHandle::stop`] waits for
/// in-flight jobs and hands back what is left.
pub struct EngineHandle {
    ctx: Arc<Ctx>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
}

impl Engine {
    pub fn start(store: Store, cfg: EngineConfig) -> EngineHandle {
        let instance = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let workers = cfg.workers;
        let worker_ids = (0..workers)
            .map(|i| format!("{}-{instance}-w{i}", cfg.worker_prefix))
            .collect();
        let ctx = Arc::new(Ctx {
            db: store.db.clone(),
            cfg,
            stats: Stats::default(),
            worker_ids,
        });
        let (tx, rx) = watch::channel(false);
        let stop = || Stop(rx.clone());
        let mut tasks = Vec::new();
        for i in 0..workers {
            tasks.push(tokio::spawn(worker::run(ctx.clone(), i, stop())));
        }
        if ctx.cfg.rate > 0.0 {
            tasks.push(tokio::spawn(activity::enqueuer(ctx.clone(), stop())));
        }
        if ctx.cfg.runs {
            tasks.push(tokio::spawn(runs::run(ctx.clone(), stop())));
        }
        if ctx.cfg.sales {
            tasks.push(tokio::spawn(activity::sales(ctx.clone(), stop())));
        }
        if ctx.cfg.metrics {
            tasks.push(tokio::spawn(activity::metrics(ctx.clone(), stop())));
        }
        tasks.push(tokio::spawn(activity::maintenance(ctx.clone(), stop())));
        tracing::info!(
            "sim engine started: {workers} workers, rate {}/s, speed {}",
            ctx.cfg.rate,
            ctx.cfg.speed
        );
        EngineHandle {
            ctx,
            stop: tx,
            tasks,
            started: Instant::now(),
        }
    }
}

impl EngineHandle {
    /// Counters so far.
    pub fn summary(&self) -> Summary {
        self.ctx.stats.snapshot(self.started.elapsed())
    }

    /// This engine's worker ids (`job_queue.locked_by`).
    pub fn worker_ids(&self) -> &[String] {
        &self.ctx.worker_ids
    }

    /// Stops cleanly: no new claims, in-flight jobs finish (or are released after
    /// `stop_grace`), and anything still `processing` under this engine's workers is handed back.
    pub async fn stop(self) -> Summary {
        let elapsed = self.started.elapsed();
        let _ = self.stop.send(true);
        let deadline = self.ctx.cfg.stop_grace + Duration::from_secs(15);
        for t in self.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(deadline, t).await.is_err() {
                tracing::warn!("sim: a task did not stop in time; aborted");
                abort.abort();
            }
        }
        let mut s = self.ctx.stats.snapshot(elapsed);
        let now = chrono::Utc::now();
        for w in &self.ctx.worker_ids {
            match queue::release(&self.ctx.db, w, None, now).await {
                Ok(n) => s.released += n,
                Err(e) => tracing::warn!(
                    "sim: releasing {w}'s jobs at stop failed: {}",
                    crate::api::db::describe_sqlx(&e)
                ),
            }
        }
        s
    }
}
