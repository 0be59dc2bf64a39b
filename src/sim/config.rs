//! Engine configuration and the end-of-run summary.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the simulated engine behaves. `Default` is the demo: lively but not frantic.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Seeds every random choice (outcomes, durations, which workflow starts next).
    pub seed: u64,
    /// Time compression: simulated delays are divided by it (60 = a simulated minute per second).
    pub speed: f64,
    /// Jobs enqueued per (real) second by the load generator; 0 = none.
    pub rate: f64,
    /// Worker tasks claiming jobs.
    pub workers: usize,
    /// Jobs one worker holds at once (claimed and not yet finished).
    pub concurrency: usize,
    /// Most jobs claimed by one statement.
    pub claim_batch: usize,
    /// Scales every random failure probability (1.0 = realistic, 0 = nothing fails at random;
    /// data-driven failures such as an invalid phone number still fail).
    pub failure_scale: f64,
    /// Worker ids are `{worker_prefix}-{instance}-w{n}`; stuck jobs are rescued only when their
    /// `locked_by` starts with this prefix, so real workers on the same queue are left alone.
    pub worker_prefix: String,
    /// Scales the simulated work time of jobs and steps (1.0 = the catalog's times; tests use 0).
    pub work_scale: f64,
    /// How often an idle worker looks for jobs again (real time).
    pub poll: Duration,
    /// Start workflow runs (event-triggered at `runs_per_min`, scheduled ones when due) and
    /// advance runs, approvals and broadcasts.
    pub runs: bool,
    /// Runs started per simulated minute across the event-triggered workflows.
    pub runs_per_min: f64,
    /// Start runs only of these workflows (by name); empty = all.
    pub only_workflows: Vec<String>,
    /// Sell tickets over time (and trigger Capacity Monitoring on crossed thresholds).
    pub sales: bool,
    /// Share of an event's capacity sold per simulated minute (smaller events sell faster).
    pub sales_per_min: f64,
    /// Write system_metrics every `metrics_every` (simulated).
    pub metrics: bool,
    pub metrics_every: Duration,
    /// Processing jobs of this fleet older than this (real time) are rescued.
    pub rescue_after: Duration,
    /// On stop, in-flight jobs get this long to finish before they are released.
    pub stop_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            seed: 42,
            speed: 1.0,
            rate: 3.0,
            workers: 2,
            concurrency: 100,
            claim_batch: 50,
            failure_scale: 1.0,
            worker_prefix: "opsdeck-sim".into(),
            work_scale: 1.0,
            poll: Duration::from_millis(250),
            runs: true,
            runs_per_min: 20.0,
            only_workflows: Vec::new(),
            sales: true,
            sales_per_min: 0.05,
            metrics: true,
            metrics_every: Duration::from_secs(5),
            rescue_after: Duration::from_secs(300),
            stop_grace: Duration::from_secs(2),
        }
    }
}

impl EngineConfig {
    /// Workers only: nothing enqueued, nothing started, nothing fails at random, no simulated
    /// work time, short polls. Tests switch on what they exercise.
    pub fn quiet(seed: u64) -> Self {
        EngineConfig {
            seed,
            speed: 1.0,
            rate: 0.0,
            workers: 1,
            failure_scale: 0.0,
            work_scale: 0.0,
            poll: Duration::from_millis(50),
            runs: false,
            sales: false,
            metrics: false,
            stop_grace: Duration::from_millis(500),
            ..EngineConfig::default()
        }
    }

    pub(crate) fn speed(&self) -> f64 {
        if self.speed.is_finite() && self.speed > 0.0 {
            self.speed
        } else {
            1.0
        }
    }

    /// Simulated time → real time.
    pub(crate) fn real(&self, sim: Duration) -> Duration {
        sim.div_f64(self.speed())
    }

    /// A simulated work time in ms → real time, with `work_scale`.
    pub(crate) fn work(&self, sim_ms: u64) -> Duration {
        let scale = if self.work_scale.is_finite() && self.work_scale > 0.0 {
            self.work_scale
        } else {
            0.0
        };
        Duration::from_secs_f64(sim_ms as f64 / 1000.0 * scale / self.speed())
    }

    pub(crate) fn fail_p(&self, base: f64) -> f64 {
        (base * self.failure_scale.max(0.0)).clamp(0.0, 1.0)
    }
}

/// Live counters shared by the engine's tasks.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub jobs_completed: AtomicU64,
    pub jobs_failed: AtomicU64,
    pub jobs_retried: AtomicU64,
    pub jobs_enqueued: AtomicU64,
    pub runs_started: AtomicU64,
    pub runs_completed: AtomicU64,
    pub runs_failed: AtomicU64,
    pub tickets_sold: AtomicU64,
    pub db_errors: AtomicU64,
    pub released: AtomicU64,
}

impl Stats {
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self, elapsed: Duration) -> Summary {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Summary {
            elapsed,
            jobs_completed: g(&self.jobs_completed),
            jobs_failed: g(&self.jobs_failed),
            jobs_retried: g(&self.jobs_retried),
            jobs_enqueued: g(&self.jobs_enqueued),
            runs_started: g(&self.runs_started),
            runs_completed: g(&self.runs_completed),
            runs_failed: g(&self.runs_failed),
            tickets_sold: g(&self.tickets_sold),
            db_errors: g(&self.db_errors),
            released: g(&self.released),
        }
    }
}

/// What an engine did between start and stop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub elapsed: Duration,
    pub jobs_completed: u64,
    /// Jobs that reached `failed` (attempts exhausted).
    pub jobs_failed: u64,
    /// Failed attempts put back as `retrying`.
    pub jobs_retried: u64,
    pub jobs_enqueued: u64,
    pub runs_started: u64,
    pub runs_completed: u64,
    pub runs_failed: u64,
    pub tickets_sold: u64,
    /// Database errors the engine rode out (logged, backed off, retried).
    pub db_errors: u64,
    /// In-flight jobs handed back (pending/retrying) at stop.
    pub released: u64,
}

impl Summary {
    pub fn jobs_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s <= 0.0 {
            0.0
        } else {
            self.jobs_completed as f64 / s
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "elapsed {:.1}s · {:.1} jobs/s",
            self.elapsed.as_secs_f64(),
            self.jobs_per_sec()
        )?;
        writeln!(
            f,
            "jobs: {} completed, {} failed, {} retried, {} enqueued{}",
            self.jobs_completed,
            self.jobs_failed,
            self.jobs_retried,
            self.jobs_enqueued,
            if self.released > 0 {
                format!(", {} released at stop", self.released)
            } else {
                String::new()
            }
        )?;
        write!(
            f,
            "runs: {} started, {} completed, {} failed · {} tickets sold",
            self.runs_started, self.runs_completed, self.runs_failed, self.tickets_sold
        )?;
        if self.db_errors > 0 {
            write!(f, " · {} database errors ridden out", self.db_errors)?;
        }
        Ok(())
    }
}
