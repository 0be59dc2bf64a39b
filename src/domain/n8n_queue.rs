//! n8n's own queue in queue mode, as opsdeck reads it, and the pure judgement of it.
//!
//! n8n 1.123 runs its queue on Bull 4 in Redis: one queue named `jobs` under the prefix
//! `QUEUE_BULL_PREFIX` (default `bull`). Read from their source (n8n's `scaling.service`, bull's
//! `queue.js`/`worker.js`) and checked on a live main + worker (tests/n8n_queue.rs):
//! - `{prefix}:jobs:wait` (list; the next job at its right end), `:active` (list), `:paused`
//!   (list, while the queue is paused), `:delayed`, `:failed`, `:completed` (sorted sets). n8n
//!   adds every job with `removeOnComplete` and `removeOnFail`, so the last two stay near 0: a
//!   finished job leaves no trace in Redis (n8n's database holds the execution).
//! - `{prefix}:jobs:id`: the counter Bull increments for every job added (so its growth is the
//!   enqueue rate). `{prefix}:jobs:{id}`: the job's hash (`data` = `{executionId, workflowId}`,
//!   `timestamp` = when it was added, `processedOn`). `{prefix}:jobs:{id}:lock`: the token of the
//!   worker holding an active job, with a TTL of `QUEUE_WORKER_LOCK_DURATION` that the worker
//!   renews; an active job without it is stalled (its worker died or hangs).
//! - A worker names its blocking connection `{prefix}:{base64("jobs")}` (`bull:am9icw==`):
//!   `CLIENT LIST` shows who is connected to take jobs, as bull's own `getWorkers` reads it.
//!
//! No IO here: api::n8n::queue reads Redis and the health endpoints into a [`QueueSample`].

use std::time::Duration;

use serde::Serialize;

use crate::domain::model::Ts;
use crate::domain::n8n::N8nDown;

/// n8n's queue name (n8n `scaling/constants`).
pub const QUEUE_NAME: &str = "jobs";
/// The seed's thresholds on waiting jobs.
pub const WARN_WAITING: u64 = crate::domain::model::QUEUE_WARN_DEPTH as u64;
pub const CRIT_WAITING: u64 = crate::domain::model::QUEUE_CRIT_DEPTH as u64;
/// Active jobs read per poll (their locks are checked); the rest are counted.
pub const ACTIVE_READ: usize = 100;

/// The key of `what` under `prefix` (`bull:jobs:wait`).
pub fn key(prefix: &str, what: &str) -> String {
    format!("{prefix}:{QUEUE_NAME}:{what}")
}

/// The name a worker gives its blocking connection (`bull:am9icw==`).
pub fn worker_client_name(prefix: &str) -> String {
    format!("{prefix}:{}", base64(QUEUE_NAME.as_bytes()))
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                o.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// The counts Bull keeps (what `getJobCounts` returns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BullCounts {
    pub waiting: u64,
    pub active: u64,
    pub delayed: u64,
    pub paused: u64,
    pub failed: u64,
    pub completed: u64,
}

/// A job, from its hash: n8n's execution and workflow, when it was added and picked up.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueJob {
    pub job_id: String,
    pub execution_id: Option<String>,
    pub workflow_id: Option<String>,
    pub enqueued_at: Option<Ts>,
    pub started_at: Option<Ts>,
    /// Active jobs: the holder's lock token (None: no lock, the job is stalled).
    pub lock: Option<String>,
    /// Milliseconds the lock has left (None: no lock, or no expiry).
    pub lock_ttl_ms: Option<i64>,
}

impl QueueJob {
    pub fn stalled(&self) -> bool {
        self.lock.is_none()
    }
}

/// A connection named as a worker's (`CLIENT LIST`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerConn {
    pub addr: String,
    /// Seconds connected.
    pub age_secs: u64,
    /// Seconds since its last command (a worker blocks waiting for jobs, so this is how long
    /// the current wait has lasted).
    pub idle_secs: u64,
}

/// Parses `CLIENT LIST` for the workers' connections of `prefix`.
pub fn parse_client_list(list: &str, prefix: &str) -> Vec<WorkerConn> {
    let want = worker_client_name(prefix);
    list.lines()
        .filter_map(|l| {
            let field = |k: &str| {
                l.split(' ')
                    .find_map(|kv| kv.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
            };
            let name = field("name")?;
            if !name.starts_with(&want) {
                return None;
            }
            Some(WorkerConn {
                addr: field("addr").unwrap_or("?").to_string(),
                age_secs: field("age").and_then(|v| v.parse().ok()).unwrap_or(0),
                idle_secs: field("idle").and_then(|v| v.parse().ok()).unwrap_or(0),
            })
        })
        .collect()
}

/// One health line: a component, whether it answered, how, and how fast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthLine {
    /// "redis", "n8n main", "n8n main readiness", "worker 1", "database".
    pub component: String,
    /// What was asked (a URL, `host:port`), never a password.
    pub target: String,
    pub ok: bool,
    /// "ok", "HTTP 503", "cannot connect", "PONG", …
    pub detail: String,
    pub latency_ms: Option<f64>,
}

/// What one read of Redis found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueSample {
    pub counts: BullCounts,
    /// Bull's job counter (`{prefix}:jobs:id`); None: no such key (nothing was ever enqueued
    /// under this prefix: a wrong prefix, or a new n8n).
    pub last_id: Option<u64>,
    /// The next job in line (the right end of `wait`: the oldest of the highest priority).
    pub next: Option<QueueJob>,
    /// The active jobs read (at most [`ACTIVE_READ`]), with their locks.
    pub active: Vec<QueueJob>,
    pub workers: Vec<WorkerConn>,
    /// Whether `workers` is known: CLIENT LIST is an admin command that a least-privilege
    /// Redis user may not run.
    pub workers_known: bool,
    /// The queue is paused globally (Bull's `meta-paused`).
    pub paused: bool,
    pub redis_ms: f64,
}

impl QueueSample {
    pub fn stalled(&self) -> Vec<&QueueJob> {
        self.active.iter().filter(|j| j.stalled()).collect()
    }
    /// Distinct lock tokens among the active jobs: the workers busy now.
    pub fn busy_workers(&self) -> usize {
        let mut t: Vec<&str> = self
            .active
            .iter()
            .filter_map(|j| j.lock.as_deref())
            .collect();
        t.sort_unstable();
        t.dedup();
        t.len()
    }
}

/// One poll: Redis (or why not) and the HTTP health endpoints (probed even when Redis is down).
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePolled {
    pub at: Ts,
    pub redis: Result<QueueSample, N8nDown>,
    pub health: Vec<HealthLine>,
}

/// Jobs added and taken between two samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Flow {
    pub enqueued: u64,
    pub dequeued: u64,
    pub secs: f64,
}

/// The flow from `a` to `b`: added = the counter's growth; taken = added − growth of what is
/// still queued (waiting, delayed, paused). A job removed by hand from `wait` counts as taken.
/// None when the counter is missing or went back (Redis flushed, another prefix).
pub fn flow(a: &QueueSample, a_at: Ts, b: &QueueSample, b_at: Ts) -> Option<Flow> {
    let (ia, ib) = (a.last_id?, b.last_id?);
    if ib < ia {
        return None;
    }
    let enq = ib - ia;
    let queued = |s: &QueueSample| (s.counts.waiting + s.counts.delayed + s.counts.paused) as i128;
    let deq = (enq as i128 - (queued(b) - queued(a))).max(0) as u64;
    Some(Flow {
        enqueued: enq,
        dequeued: deq,
        secs: (b_at - a_at).num_milliseconds().max(0) as f64 / 1000.0,
    })
}

/// The lines the judgement uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueRules {
    pub warn_waiting: u64,
    pub crit_waiting: u64,
    /// Waiting jobs and nothing taken for this long: "not moving".
    pub not_moving_after: Duration,
}

impl Default for QueueRules {
    fn default() -> Self {
        QueueRules {
            warn_waiting: WARN_WAITING,
            crit_waiting: CRIT_WAITING,
            not_moving_after: Duration::from_secs(60),
        }
    }
}

/// OK / WARNING / CRITICAL / UNKNOWN, as Nagios numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Level {
    pub fn word(self) -> &'static str {
        ["OK", "WARNING", "CRITICAL", "UNKNOWN"][self as usize]
    }
}

/// The verdict on n8n's queue: the worst level and every reason, spelled out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub level: Level,
    pub reasons: Vec<String>,
    /// Each reason's own level (the screen colours each by it).
    #[serde(skip)]
    pub levels: Vec<Level>,
}

/// What the judgement looks at: the latest sample (or why there is none), the health lines,
/// and for how long waiting jobs have seen nothing taken (the caller's observation).
pub struct Seen<'a> {
    pub prefix: &'a str,
    pub redis: Result<&'a QueueSample, &'a N8nDown>,
    pub health: &'a [HealthLine],
    pub stuck_for: Option<Duration>,
    /// Over what the stuck time was observed ("for 2m", "in 3 s while the next job has waited 5m").
    pub stuck_how: Option<String>,
}

/// The verdict: the worst level, and the reasons worst first.
pub fn judge(s: &Seen, r: &QueueRules) -> Verdict {
    let mut found: Vec<(Level, String)> = Vec::new();
    found_of(s, r, &mut found);
    found.sort_by_key(|(l, _)| std::cmp::Reverse(*l));
    Verdict {
        level: found.first().map_or(Level::Ok, |(l, _)| *l),
        levels: found.iter().map(|(l, _)| *l).collect(),
        reasons: found.into_iter().map(|(_, w)| w).collect(),
    }
}

fn found_of(s: &Seen, r: &QueueRules, found: &mut Vec<(Level, String)>) {
    let mut raise = |l: Level, why: String| found.push((l, why));
    for h in s.health.iter().filter(|h| !h.ok) {
        // the main down stops every webhook and trigger; one worker down leaves the others
        let l = if h.component.starts_with("worker") {
            Level::Warning
        } else {
            Level::Critical
        };
        raise(l, format!("{} ({}): {}", h.component, h.target, h.detail));
    }
    let q = match s.redis {
        Err(e) => {
            raise(Level::Critical, format!("n8n queue: {}", e.full));
            return;
        }
        Ok(q) => q,
    };
    let c = q.counts;
    if q.last_id.is_none() && q.workers.is_empty() && c == BullCounts::default() && !q.paused {
        raise(
            Level::Warning,
            format!(
                "no n8n queue under the prefix '{}' (no key {}, no worker connected): check QUEUE_BULL_PREFIX and the Redis database",
                s.prefix,
                key(s.prefix, "id")
            ),
        );
        return;
    }
    if q.paused {
        raise(
            Level::Warning,
            format!("the n8n queue is paused: {} jobs held", c.paused),
        );
    }
    if c.waiting > r.crit_waiting {
        raise(
            Level::Critical,
            format!("n8n queue: {} waiting > {}", c.waiting, r.crit_waiting),
        );
    } else if c.waiting > r.warn_waiting {
        raise(
            Level::Warning,
            format!("n8n queue: {} waiting > {}", c.waiting, r.warn_waiting),
        );
    }
    let healthy_workers = s
        .health
        .iter()
        .filter(|h| h.component.starts_with("worker"))
        .all(|h| h.ok);
    if c.waiting > 0 && q.workers_known && q.workers.is_empty() {
        raise(
            Level::Critical,
            format!(
                "no n8n worker is connected to the queue: {} jobs wait",
                c.waiting
            ),
        );
    } else if c.waiting > 0
        && let Some(f) = s.stuck_for.filter(|d| *d >= r.not_moving_after)
    {
        let how = s
            .stuck_how
            .clone()
            .unwrap_or_else(|| format!("for {}", short(f)));
        let live = q.active.iter().filter(|j| !j.stalled()).count();
        let busy = if live > 0 {
            format!(
                "; {live} active job{} hold{} a live lock (every worker at its concurrency with long executions?)",
                if live == 1 { "" } else { "s" },
                if live == 1 { "s" } else { "" },
            )
        } else if c.active > 0 {
            "; the active jobs have lost their locks: their workers hang or died".into()
        } else {
            "; none is active: the workers are not taking jobs".into()
        };
        raise(
            Level::Critical,
            format!(
                "not moving: {} waiting and nothing taken {how}, while {}{}{busy}",
                c.waiting,
                if q.workers_known {
                    format!(
                        "{} worker{} connected",
                        q.workers.len(),
                        if q.workers.len() == 1 { " is" } else { "s are" }
                    )
                } else {
                    "workers may be connected (CLIENT LIST not allowed)".to_string()
                },
                if healthy_workers && s.health.iter().any(|h| h.component.starts_with("worker")) {
                    " and their /healthz says ok"
                } else {
                    ""
                },
            ),
        );
    }
    let stalled = q.stalled();
    if !stalled.is_empty() {
        let ids: Vec<String> = stalled
            .iter()
            .take(5)
            .map(|j| match &j.execution_id {
                Some(e) => format!("execution {e}"),
                None => format!("job {}", j.job_id),
            })
            .collect();
        raise(
            Level::Warning,
            format!(
                "{} active job{} without a live lock (stalled: its worker died or hangs): {}",
                stalled.len(),
                if stalled.len() == 1 { "" } else { "s" },
                ids.join(", ")
            ),
        );
    }
}

/// "45s", "2m", "1h05m".
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> Ts {
        chrono::Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn sample(waiting: u64, active: u64, id: u64, workers: usize) -> QueueSample {
        QueueSample {
            counts: BullCounts {
                waiting,
                active,
                ..Default::default()
            },
            last_id: Some(id),
            workers_known: true,
            workers: (0..workers)
                .map(|i| WorkerConn {
                    addr: format!("127.0.0.1:{i}"),
                    age_secs: 10,
                    idle_secs: 1,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_worker_client_name_is_bulls() {
        assert_eq!(worker_client_name("bull"), "bull:am9icw==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        let list = "id=3 addr=127.0.0.1:5000 laddr=x fd=9 name=bull:am9icw== age=12 idle=3 flags=b\n\
                    id=4 addr=127.0.0.1:5001 fd=10 name=n8n.client(bull) age=12 idle=0\n\
                    id=5 addr=127.0.0.1:5002 fd=11 name=other:am9icw== age=1 idle=1\n";
        let w = parse_client_list(list, "bull");
        assert_eq!(
            w,
            vec![WorkerConn {
                addr: "127.0.0.1:5000".into(),
                age_secs: 12,
                idle_secs: 3
            }]
        );
    }

    #[test]
    fn flow_counts_added_and_taken() {
        let a = sample(10, 0, 100, 1);
        let b = sample(4, 1, 103, 1);
        // 3 added, waiting fell by 6: 9 taken
        assert_eq!(
            flow(&a, at(0), &b, at(2)),
            Some(Flow {
                enqueued: 3,
                dequeued: 9,
                secs: 2.0
            })
        );
        // nothing added and more waiting (a retry put back?) never goes negative
        assert_eq!(flow(&b, at(2), &a, at(4)), None, "the counter went back");
        let mut c = b.clone();
        c.counts.waiting = 8;
        assert_eq!(flow(&b, at(2), &c, at(3)).unwrap().dequeued, 0);
    }

    #[test]
    fn thresholds_workers_and_not_moving() {
        let r = QueueRules {
            not_moving_after: Duration::from_secs(30),
            ..Default::default()
        };
        let judge_of = |q: &QueueSample, stuck: Option<u64>| {
            judge(
                &Seen {
                    prefix: "bull",
                    redis: Ok(q),
                    health: &[],
                    stuck_for: stuck.map(Duration::from_secs),
                    stuck_how: None,
                },
                &r,
            )
        };
        assert_eq!(judge_of(&sample(0, 0, 5, 1), None).level, Level::Ok);
        assert_eq!(judge_of(&sample(51, 0, 5, 1), None).level, Level::Warning);
        let v = judge_of(&sample(101, 0, 5, 1), None);
        assert_eq!(v.level, Level::Critical);
        assert!(v.reasons[0].contains("101 waiting > 100"), "{v:?}");
        let v = judge_of(&sample(3, 0, 5, 0), None);
        assert_eq!(v.level, Level::Critical);
        assert!(v.reasons[0].contains("no n8n worker"), "{v:?}");
        // stuck shorter than the line: fine; longer: critical, with why
        assert_eq!(judge_of(&sample(3, 0, 5, 2), Some(29)).level, Level::Ok);
        let mut busy = sample(3, 1, 5, 2);
        busy.active = vec![QueueJob {
            job_id: "4".into(),
            lock: Some("t".into()),
            ..Default::default()
        }];
        let v = judge_of(&busy, Some(95));
        assert_eq!(v.level, Level::Critical);
        assert!(
            v.reasons[0].contains("not moving: 3 waiting and nothing taken for 1m")
                && v.reasons[0].contains("2 workers are connected")
                && v.reasons[0].contains("1 active job holds a live lock"),
            "{v:?}"
        );
        let v = judge_of(&sample(3, 0, 5, 1), Some(95));
        assert!(
            v.reasons[0].contains("none is active: the workers are not taking jobs"),
            "{v:?}"
        );
    }

    #[test]
    fn stalled_unknown_prefix_and_down() {
        let r = QueueRules::default();
        let mut q = sample(0, 2, 9, 1);
        q.active = vec![
            QueueJob {
                job_id: "7".into(),
                execution_id: Some("41".into()),
                lock: None,
                ..Default::default()
            },
            QueueJob {
                job_id: "8".into(),
                lock: Some("tok".into()),
                ..Default::default()
            },
        ];
        assert_eq!(q.busy_workers(), 1);
        let v = judge(
            &Seen {
                prefix: "bull",
                redis: Ok(&q),
                health: &[],
                stuck_for: None,
                stuck_how: None,
            },
            &r,
        );
        assert_eq!(v.level, Level::Warning);
        assert!(
            v.reasons[0].contains("1 active job without a live lock")
                && v.reasons[0].contains("execution 41"),
            "{v:?}"
        );
        let empty = QueueSample::default();
        let v = judge(
            &Seen {
                prefix: "nope",
                redis: Ok(&empty),
                health: &[],
                stuck_for: None,
                stuck_how: None,
            },
            &r,
        );
        assert!(
            v.reasons[0].contains("no n8n queue under the prefix 'nope'"),
            "{v:?}"
        );
        let down = N8nDown {
            short: "cannot connect".into(),
            full: "Redis at 127.0.0.1:1: cannot connect".into(),
        };
        let h = [HealthLine {
            component: "worker 1".into(),
            target: "http://w1:5678/healthz".into(),
            ok: false,
            detail: "cannot connect".into(),
            latency_ms: None,
        }];
        let v = judge(
            &Seen {
                prefix: "bull",
                redis: Err(&down),
                health: &h,
                stuck_for: None,
                stuck_how: None,
            },
            &r,
        );
        assert_eq!(v.level, Level::Critical);
        assert_eq!(v.reasons.len(), 2, "{v:?}");
    }
}
