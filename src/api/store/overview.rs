//! Aggregate reads: the overview numbers, per-workflow stats, error patterns, queue depth.

use std::collections::HashMap;

use anyhow::Result;
use chrono::Duration;
use uuid::Uuid;

use super::Store;
use super::rows::{self, ALERT_COLS, BROADCAST_COLS, EVENT_COLS, WORKFLOW_COLS};
use super::window;
use crate::api::db::Val;
use crate::domain::model::*;

/// Reads an overview refresh runs side by side (the console's pool has 4 connections; one is
/// the NOTIFY listener's, one stays free for actions and the other views).
pub const OVERVIEW_READS: usize = 2;

impl Store {
    /// Queue depth: exact counts of the open states by status and job type (partial index),
    /// the oldest job due and waiting, and completed jobs in the last hour (exact, from the
    /// rollup).
    pub async fn queue_depth(&self, now: Ts) -> Result<QueueDepth> {
        let open = self.db.fetch_all(
            match self.backend() {
                // the same count, as an index-only scan that skips the dead entries earlier
                // refreshes marked (migration 0009)
                super::Backend::Postgres => {
                    "SELECT status, job_type, n FROM opsdeck_open_jobs() ORDER BY job_type, status"
                }
                super::Backend::Sqlite => {
                    "SELECT status, job_type, count(*) AS n FROM job_queue \
                     WHERE status IN ('pending', 'retrying', 'processing', 'failed') \
                     GROUP BY status, job_type ORDER BY job_type, status"
                }
            },
            &[],
        );
        // the oldest pending job, and the completed jobs in the last hour (see `window`): at
        // most 61 minutes × 8 slots of the rollup (migration 0006), exact, whatever the number
        // of jobs; one row, one round trip
        let hour = window::binds(now - Duration::hours(1));
        let args = [
            hour[0].clone(),
            hour[1].clone(),
            crate::api::db::Val::Ts(now),
        ];
        // the oldest job that is due and still waiting (pending or retrying, its time come):
        // how late the queue runs. A job scheduled for later is not late; a retry past its
        // backoff is. Timed from when it was due.
        let one = self.db.fetch_one(
            "SELECT (SELECT min(COALESCE(scheduled_for, created_at)) FROM job_queue \
                     WHERE status IN ('pending', 'retrying') \
                       AND (scheduled_for IS NULL OR scheduled_for <= $3)) AS t, \
               (SELECT CAST(COALESCE(sum(n), 0) AS bigint) FROM job_minutes \
                WHERE minute >= $1 AND minute <= $2) AS n",
            &args,
        );
        // one after the other: the overview already runs its reads side by side, and the pool
        // (4 connections, one of them the NOTIFY listener's) must keep room for an action
        let (rows, one) = (open.await?, one.await?);
        let mut q = QueueDepth::default();
        for r in &rows {
            let (status, n) = (r.s("status"), r.n("n"));
            match status.as_str() {
                "pending" => q.pending += n,
                "retrying" => q.retrying += n,
                "processing" => q.processing += n,
                "failed" => q.failed += n,
                _ => {}
            }
            q.by_type.push((r.s("job_type"), status, n));
        }
        q.oldest_pending_at = one.ts("t");
        q.completed_last_hour = one.n("n");
        Ok(q)
    }

    /// Every workflow with its runs, success rate and p95 (nearest rank) over runs in the window.
    pub async fn workflow_stats(&self, since: Ts) -> Result<Vec<WorkflowStats>> {
        let wf_rows = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {WORKFLOW_COLS}, \
                     (SELECT substr(x.error_message, 1, {cut}) FROM workflow_errors x \
                      WHERE x.workflow_id = w.id ORDER BY x.created_at DESC LIMIT 1) AS last_error, \
                     (SELECT max(x.created_at) FROM workflow_errors x WHERE x.workflow_id = w.id) AS last_error_at \
                     FROM workflows w ORDER BY w.name LIMIT 500",
                    cut = super::rows::LIST_TEXT
                ),
                &[],
            )
            .await?;
        // runs started in the window (by status) and finished in it (by outcome), from the
        // per-minute rollup in one read (exact; see `window`)
        let mut runs: HashMap<Uuid, i64> = HashMap::new();
        let mut done: HashMap<(Uuid, String), i64> = HashMap::new();
        for r in self
            .db
            .fetch_all(
                &format!(
                    "SELECT kind, workflow_id, status, CAST(sum(n) AS bigint) AS n FROM {} t \
                     GROUP BY kind, workflow_id, status",
                    window::runs_both()
                ),
                &window::binds(since),
            )
            .await?
        {
            if r.s("kind") == "started" {
                *runs.entry(r.id("workflow_id")).or_default() += r.n("n");
            } else {
                *done
                    .entry((r.id("workflow_id"), r.s("status")))
                    .or_default() += r.n("n");
            }
        }
        let p95 = self.p95_by_workflow(window::start(since)).await?;
        let mut open: HashMap<(Uuid, String), i64> = HashMap::new();
        // exact open states regardless of window
        for r in self
            .db
            .fetch_all(
                "SELECT workflow_id, status, count(*) AS n FROM workflow_executions \
                 WHERE status IN ('pending', 'running', 'waiting') GROUP BY workflow_id, status",
                &[],
            )
            .await?
        {
            open.insert((r.id("workflow_id"), r.s("status")), r.n("n"));
        }
        Ok(wf_rows
            .iter()
            .map(|r| {
                let workflow = rows::workflow(r);
                let id = workflow.id;
                let get = |m: &HashMap<(Uuid, String), i64>, s: &str| {
                    m.get(&(id, s.to_string())).copied().unwrap_or(0)
                };
                let completed = get(&done, "completed");
                let failed = get(&done, "failed");
                WorkflowStats {
                    runs: runs.get(&id).copied().unwrap_or(0),
                    completed,
                    failed,
                    running: get(&open, "running") + get(&open, "pending"),
                    waiting: get(&open, "waiting"),
                    success_rate: (completed + failed > 0)
                        .then(|| completed as f64 / (completed + failed) as f64),
                    p95_ms: p95.get(&id).copied(),
                    last_error: r.text("last_error"),
                    last_error_at: r.ts("last_error_at"),
                    workflow,
                }
            })
            .collect())
    }

    /// p95 of duration_ms per workflow over runs finished in the window (nearest-rank method:
    /// the value at rank ceil(0.95·n) in ascending order). On SQLite window functions pick that
    /// rank; on Postgres this is `percentile_disc(0.95)`, which is the same nearest rank (the first
    /// value whose cumulative share reaches 0.95) as one ordered-set aggregate, without the
    /// window functions' per-row bookkeeping.
    pub async fn p95_by_workflow(&self, since: Ts) -> Result<HashMap<Uuid, i64>> {
        let sql = match self.backend() {
            super::Backend::Postgres => {
                "SELECT workflow_id, percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) \
                   AS duration_ms FROM workflow_executions \
                 WHERE completed_at >= $1 AND duration_ms IS NOT NULL \
                   AND status IN ('completed', 'failed') GROUP BY workflow_id"
            }
            super::Backend::Sqlite => {
                "SELECT workflow_id, duration_ms FROM ( \
                   SELECT workflow_id, duration_ms, \
                     ROW_NUMBER() OVER (PARTITION BY workflow_id ORDER BY duration_ms) AS rn, \
                     COUNT(*) OVER (PARTITION BY workflow_id) AS cnt \
                   FROM workflow_executions \
                   WHERE completed_at >= $1 AND duration_ms IS NOT NULL \
                     AND status IN ('completed', 'failed') \
                 ) t WHERE rn = (cnt * 95 + 99) / 100"
            }
        };
        let rows = self.db.fetch_all(sql, &[Val::Ts(since)]).await?;
        Ok(rows
            .iter()
            .map(|r| (r.id("workflow_id"), r.n("duration_ms")))
            .collect())
    }

    /// Seed 000's error analysis: (workflow × error_type) in the window with count, first/last
    /// seen and up to three distinct example messages, most frequent first.
    pub async fn error_patterns(&self, since: Ts) -> Result<Vec<ErrorPattern>> {
        // the same window start as the overview's last hour (a whole minute; see `window`)
        let since = window::start(since);
        let since_v = [Val::Ts(since)];
        let rows = self
            .db
            .fetch_all(
                "SELECT x.workflow_id, w.name AS workflow_name, x.error_type, count(*) AS n, \
                 min(x.created_at) AS first_seen, max(x.created_at) AS last_seen \
                 FROM workflow_errors x LEFT JOIN workflows w ON w.id = x.workflow_id \
                 WHERE x.created_at >= $1 \
                 GROUP BY x.workflow_id, w.name, x.error_type \
                 ORDER BY n DESC, last_seen DESC LIMIT 200",
                &since_v,
            )
            .await?;
        let examples = self
            .db
            .fetch_all(
                // the examples as a row can show them: the first characters of each message
                // (a 1 MB message costs 512 characters), grouped on what is shown
                &format!(
                    "SELECT workflow_id, error_type, error_message FROM ( \
                   SELECT workflow_id, error_type, error_message, \
                     ROW_NUMBER() OVER (PARTITION BY workflow_id, error_type ORDER BY last_at DESC, error_message) AS rn \
                   FROM ( \
                     SELECT workflow_id, error_type, substr(error_message, 1, {cut}) AS error_message, \
                       max(created_at) AS last_at \
                     FROM workflow_errors WHERE created_at >= $1 AND error_message IS NOT NULL \
                     GROUP BY workflow_id, error_type, substr(error_message, 1, {cut}) \
                   ) d \
                 ) t WHERE rn <= 3 ORDER BY rn",
                    cut = super::rows::LIST_TEXT
                ),
                &since_v,
            )
            .await?;
        // the n8n executions behind them: errors whose run lives in n8n (seed 000's Global Error
        // Handler writes one per failed n8n execution)
        let linked = self
            .db
            .fetch_all(
                "SELECT x.workflow_id, x.error_type, e.n8n_execution_id AS exec, count(*) AS n, \
                   max(x.created_at) AS last_at \
                 FROM workflow_errors x JOIN workflow_executions e ON e.id = x.execution_id \
                 WHERE x.created_at >= $1 AND e.n8n_execution_id IS NOT NULL \
                   AND e.n8n_execution_id <> '' \
                 GROUP BY x.workflow_id, x.error_type, e.n8n_execution_id \
                 ORDER BY last_at DESC LIMIT 5000",
                &since_v,
            )
            .await?;
        // per pattern: the newest executions, errors behind them, distinct executions
        type Behind = (Vec<String>, i64, i64);
        let mut n8n: HashMap<(Option<Uuid>, String), Behind> = HashMap::new();
        for r in &linked {
            let e = n8n
                .entry((r.uuid("workflow_id"), r.s("error_type")))
                .or_default();
            e.1 += r.n("n");
            e.2 += 1;
            if e.0.len() < ErrorPattern::N8N_MAX {
                e.0.push(crate::domain::sanitize::clean(&r.s("exec")));
            }
        }
        let mut ex: HashMap<(Option<Uuid>, String), Vec<String>> = HashMap::new();
        for r in &examples {
            ex.entry((r.uuid("workflow_id"), r.s("error_type")))
                .or_default()
                .push(r.s("error_message"));
        }
        Ok(rows
            .iter()
            .map(|r| {
                let key = (r.uuid("workflow_id"), r.s("error_type"));
                ErrorPattern {
                    workflow_id: key.0,
                    workflow_name: r
                        .text("workflow_name")
                        .unwrap_or_else(|| "(no workflow)".into()),
                    error_type: key.1.clone(),
                    count: r.n("n"),
                    first_seen: r.ts("first_seen").unwrap_or(since),
                    last_seen: r.ts("last_seen").unwrap_or(since),
                    examples: ex.remove(&key).unwrap_or_default(),
                    n8n_executions: n8n.get(&key).map(|e| e.0.clone()).unwrap_or_default(),
                    n8n_errors: n8n.get(&key).map_or(0, |e| e.1),
                    n8n_executions_total: n8n.get(&key).map_or(0, |e| e.2),
                }
            })
            .collect())
    }

    /// Which of these n8n execution ids a database run links (`n8n_execution_id`), so the
    /// console lists each execution once.
    pub async fn linked_n8n(&self, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ph: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT DISTINCT n8n_execution_id AS e FROM workflow_executions \
             WHERE n8n_execution_id IN ({})",
            ph.join(", ")
        );
        let args: Vec<Val> = ids.iter().map(|i| Val::Text(i.clone())).collect();
        let rows = self.db.fetch_all(&sql, &args).await?;
        Ok(rows.iter().map(|r| r.s("e")).collect())
    }

    /// Sold / capacity per event (tickets_sold is kept by trigger, so this reads only events).
    pub async fn capacity(&self) -> Result<Vec<EventCapacity>> {
        let rows = self
            .db
            .fetch_all(
                &format!("SELECT {EVENT_COLS} FROM events ORDER BY start_at, name LIMIT 500"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(rows::event).collect())
    }

    pub async fn open_capacity_alerts(&self, limit: u32) -> Result<Vec<CapacityAlert>> {
        let rows = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {ALERT_COLS} FROM capacity_alerts a JOIN events ev ON ev.id = a.event_id \
                     WHERE a.acknowledged_at IS NULL ORDER BY a.created_at DESC LIMIT {}",
                    limit.clamp(1, 500)
                ),
                &[],
            )
            .await?;
        Ok(rows.iter().map(rows::alert).collect())
    }

    pub async fn last_broadcasts(&self, limit: u32) -> Result<Vec<Broadcast>> {
        let rows = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {BROADCAST_COLS} FROM emergency_broadcasts ORDER BY created_at DESC, id DESC LIMIT {}",
                    limit.clamp(1, 500)
                ),
                &[],
            )
            .await?;
        Ok(rows.iter().map(rows::broadcast).collect())
    }

    /// The newest system_metrics rows, oldest first.
    pub async fn metrics_history(&self, limit: u32) -> Result<Vec<Metrics>> {
        let rows = self
            .db
            .fetch_all(
                &format!(
                    "SELECT measured_at, cpu_usage, memory_usage, queue_depth FROM system_metrics \
                     ORDER BY measured_at DESC LIMIT {}",
                    limit.clamp(1, 1000)
                ),
                &[],
            )
            .await?;
        let mut v: Vec<Metrics> = rows.iter().map(rows::metrics).collect();
        v.reverse();
        Ok(v)
    }

    /// The last hour's run numbers (see [`RunsLastHour`]), in one read: totals by status from
    /// `run_totals` (at most 61 minutes × statuses × 8 slots) and failures per workflow from the
    /// failed buckets of `run_minutes` (at most 61 minutes × workflows); see `window`.
    async fn runs_last_hour(&self, now: Ts) -> Result<RunsLastHour> {
        let wb = window::binds(now - Duration::hours(1));
        let mut started: std::collections::BTreeMap<String, i64> = Default::default();
        let mut completed_last_hour = 0;
        let mut failed_last_hour = 0;
        let mut failing: Vec<FailingWorkflow> = Vec::new();
        for r in self
            .db
            .fetch_all(
                "SELECT kind, NULL AS workflow_id, NULL AS name, status, CAST(sum(n) AS bigint) AS n \
                 FROM run_totals WHERE kind IN ('started', 'finished') AND minute >= $1 AND minute <= $2 \
                 GROUP BY kind, status \
                 UNION ALL \
                 SELECT 'failing' AS kind, t.workflow_id, w.name, 'failed' AS status, \
                   CAST(sum(t.n) AS bigint) AS n \
                 FROM run_minutes t LEFT JOIN workflows w ON w.id = t.workflow_id \
                 WHERE t.kind = 'finished' AND t.status = 'failed' AND t.minute >= $1 AND t.minute <= $2 \
                 GROUP BY t.workflow_id, w.name",
                &wb,
            )
            .await?
        {
            let (status, n) = (r.s("status"), r.n("n"));
            match (r.s("kind").as_str(), status.as_str()) {
                ("started", _) => *started.entry(status).or_default() += n,
                ("finished", "completed") => completed_last_hour += n,
                ("finished", "failed") => failed_last_hour += n,
                ("failing", _) => {
                    if let Some(name) = r.text("name") {
                        failing.push(FailingWorkflow {
                            workflow_id: r.id("workflow_id"),
                            name,
                            failures: n,
                        });
                    }
                }
                _ => {}
            }
        }
        let runs_last_hour: Vec<(String, i64)> =
            started.into_iter().filter(|(_, n)| *n > 0).collect();
        failing.retain(|f| f.failures > 0);
        failing.sort_by(|a, b| {
            b.failures
                .cmp(&a.failures)
                .then_with(|| a.name.cmp(&b.name))
        });
        failing.truncate(5);
        let top_failing = failing;
        Ok((
            runs_last_hour,
            completed_last_hour,
            failed_last_hour,
            top_failing,
        ))
    }

    /// Everything on the control-room screen in one refresh. Every read is windowed (last hour),
    /// limited, or an exact count of an open state. The reads are independent, so they run
    /// concurrently on the pool's connections: the refresh takes as long as its slowest read
    /// plus the pool's overhead, not the sum of a dozen round trips.
    pub async fn overview(&self, now: Ts) -> Result<Overview> {
        // the open-state counts in one read: discrepancies by kind, paused workflows, waiting
        // runs, pending approvals and the oldest of them (one row each, told apart by `k`)
        let counts = async {
            let mut c = Counts::default();
            for r in self
                .db
                .fetch_all(
                    // the branch with the timestamp first: Postgres resolves a UNION's
                    // column types pair by pair from the left, and NULL against NULL would
                    // become text
                    "SELECT 'appr' AS k, NULL AS s, \
                       (SELECT count(*) FROM approval_requests WHERE status = 'pending') AS n, \
                       (SELECT min(created_at) FROM approval_requests WHERE status = 'pending') AS t \
                     UNION ALL SELECT 'paused', NULL, \
                       (SELECT count(*) FROM workflows WHERE status = 'paused'), NULL \
                     UNION ALL SELECT 'waiting', NULL, \
                       (SELECT count(*) FROM workflow_executions WHERE status = 'waiting'), NULL \
                     UNION ALL SELECT 'disc', kind, count(*), NULL \
                       FROM reconciliation_discrepancies WHERE status = 'open' GROUP BY kind",
                    &[],
                )
                .await?
            {
                match r.s("k").as_str() {
                    "disc" => c.discrepancies.push((r.s("s"), r.n("n"))),
                    "paused" => c.paused = r.n("n"),
                    "waiting" => c.waiting = r.n("n"),
                    _ => (c.approvals, c.oldest_approval) = (r.n("n"), r.ts("t")), // 'appr'

                }
            }
            c.discrepancies.sort();
            Ok::<_, anyhow::Error>(c)
        };
        let (
            queue,
            (runs_last_hour, completed_last_hour, failed_last_hour, top_failing),
            counts,
            history,
            capacity,
            open_alerts,
            last_broadcasts,
        ) = {
            // independent reads, at most OVERVIEW_READS at a time: faster than one by one, and
            // an operator action (or `opsdeck status` on one connection) never waits behind a
            // whole refresh for a connection
            let sem = tokio::sync::Semaphore::new(OVERVIEW_READS);
            macro_rules! limited {
                ($f:expr) => {
                    async {
                        let _permit = sem.acquire().await.expect("the semaphore is never closed");
                        $f.await
                    }
                };
            }
            futures::try_join!(
                limited!(self.queue_depth(now)),
                limited!(self.runs_last_hour(now)),
                limited!(counts),
                limited!(self.metrics_history(60)),
                limited!(self.capacity()),
                limited!(self.open_capacity_alerts(20)),
                limited!(self.last_broadcasts(5)),
            )?
        };
        Ok(Overview {
            queue,
            runs_last_hour,
            completed_last_hour,
            failed_last_hour,
            top_failing,
            capacity,
            open_alerts,
            open_discrepancies: counts.discrepancies,
            pending_approvals: counts.approvals,
            oldest_pending_approval_at: counts.oldest_approval,
            last_broadcasts,
            metrics: history.last().cloned(),
            depth_history: history.iter().filter_map(|m| m.queue_depth).collect(),
            workflows_paused: counts.paused,
            runs_waiting: counts.waiting,
            window_minutes: (now - window::start(now - Duration::hours(1))).num_milliseconds()
                as f64
                / 60_000.0,
        })
    }
}

/// The overview's open-state counts (one read).
#[derive(Default)]
struct Counts {
    discrepancies: Vec<(String, i64)>,
    paused: i64,
    waiting: i64,
    approvals: i64,
    oldest_approval: Option<Ts>,
}

/// Runs started by status, completed, failed, and the top failing workflows, in the last hour.
type RunsLastHour = (Vec<(String, i64)>, i64, i64, Vec<FailingWorkflow>);
