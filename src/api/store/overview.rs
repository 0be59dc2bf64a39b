//! Aggregate reads: the overview numbers, per-workflow stats, error patterns, queue depth.

use std::collections::HashMap;

use anyhow::Result;
use chrono::Duration;
use uuid::Uuid;

use super::rows::{self, ALERT_COLS, BROADCAST_COLS, EVENT_COLS, WORKFLOW_COLS};
use super::window::{self, RunClock};
use super::{COUNT_CAP, Store};
use crate::api::db::Val;
use crate::model::*;

impl Store {
    /// Queue depth: exact counts of the open states by status and job type (partial index),
    /// the oldest pending job, and completed jobs in the last hour (capped).
    pub async fn queue_depth(&self, now: Ts) -> Result<QueueDepth> {
        let rows = self
            .db
            .fetch_all(
                "SELECT status, job_type, count(*) AS n FROM job_queue \
                 WHERE status IN ('pending', 'retrying', 'processing', 'failed') \
                 GROUP BY status, job_type ORDER BY job_type, status",
                &[],
            )
            .await?;
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
        q.oldest_pending_at = self
            .db
            .fetch_one(
                "SELECT min(created_at) AS t FROM job_queue WHERE status = 'pending'",
                &[],
            )
            .await?
            .ts("t");
        let n = self
            .db
            .fetch_one(
                &format!(
                    // ORDER BY: even a generic plan (after five runs of the prepared statement)
                    // then walks jq_completed_idx from $1 and stops at the cap, instead of
                    // scanning the table for "the first 10,001 matches"
                    "SELECT count(*) AS n FROM (SELECT 1 FROM job_queue WHERE status = 'completed' \
                     AND completed_at >= $1 ORDER BY completed_at LIMIT {}) t",
                    COUNT_CAP + 1
                ),
                &[Val::Ts(now - Duration::hours(1))],
            )
            .await?
            .n("n");
        q.completed_last_hour = Count {
            n: n.min(COUNT_CAP),
            capped: n > COUNT_CAP,
        };
        Ok(q)
    }

    /// Every workflow with its runs, success rate and p95 (nearest rank) over runs in the window.
    pub async fn workflow_stats(&self, since: Ts) -> Result<Vec<WorkflowStats>> {
        let wf_rows = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {WORKFLOW_COLS}, \
                     (SELECT x.error_message FROM workflow_errors x WHERE x.workflow_id = w.id \
                      ORDER BY x.created_at DESC LIMIT 1) AS last_error, \
                     (SELECT max(x.created_at) FROM workflow_errors x WHERE x.workflow_id = w.id) AS last_error_at \
                     FROM workflows w ORDER BY w.name LIMIT 500"
                ),
                &[],
            )
            .await?;
        let since_v = [Val::Ts(since)];
        // runs started in the window, by status
        let started = self
            .db
            .fetch_all(
                "SELECT workflow_id, status, count(*) AS n FROM workflow_executions \
                 WHERE started_at >= $1 GROUP BY workflow_id, status",
                &since_v,
            )
            .await?;
        // runs finished in the window, by outcome
        let finished = self
            .db
            .fetch_all(
                "SELECT workflow_id, status, count(*) AS n FROM workflow_executions \
                 WHERE completed_at >= $1 GROUP BY workflow_id, status",
                &since_v,
            )
            .await?;
        let p95 = self.p95_by_workflow(since).await?;
        let mut runs: HashMap<Uuid, i64> = HashMap::new();
        let mut open: HashMap<(Uuid, String), i64> = HashMap::new();
        for r in &started {
            *runs.entry(r.id("workflow_id")).or_default() += r.n("n");
        }
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
        let mut done: HashMap<(Uuid, String), i64> = HashMap::new();
        for r in &finished {
            done.insert((r.id("workflow_id"), r.s("status")), r.n("n"));
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
    /// the value at rank ceil(0.95·n) in ascending order). Same SQL on both backends.
    pub async fn p95_by_workflow(&self, since: Ts) -> Result<HashMap<Uuid, i64>> {
        let rows = self
            .db
            .fetch_all(
                "SELECT workflow_id, duration_ms FROM ( \
                   SELECT workflow_id, duration_ms, \
                     ROW_NUMBER() OVER (PARTITION BY workflow_id ORDER BY duration_ms) AS rn, \
                     COUNT(*) OVER (PARTITION BY workflow_id) AS cnt \
                   FROM workflow_executions \
                   WHERE completed_at >= $1 AND duration_ms IS NOT NULL \
                     AND status IN ('completed', 'failed') \
                 ) t WHERE rn = (cnt * 95 + 99) / 100",
                &[Val::Ts(since)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.id("workflow_id"), r.n("duration_ms")))
            .collect())
    }

    /// Seed 000's error analysis: (workflow × error_type) in the window with count, first/last
    /// seen and up to three distinct example messages, most frequent first.
    pub async fn error_patterns(&self, since: Ts) -> Result<Vec<ErrorPattern>> {
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
                "SELECT workflow_id, error_type, error_message FROM ( \
                   SELECT workflow_id, error_type, error_message, \
                     ROW_NUMBER() OVER (PARTITION BY workflow_id, error_type ORDER BY last_at DESC, error_message) AS rn \
                   FROM ( \
                     SELECT workflow_id, error_type, error_message, max(created_at) AS last_at \
                     FROM workflow_errors WHERE created_at >= $1 AND error_message IS NOT NULL \
                     GROUP BY workflow_id, error_type, error_message \
                   ) d \
                 ) t WHERE rn <= 3 ORDER BY rn",
                &since_v,
            )
            .await?;
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
                }
            })
            .collect())
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

    /// Everything on the control-room screen in one refresh. Every read is windowed (last hour),
    /// limited, or an exact count of an open state.
    pub async fn overview(&self, now: Ts) -> Result<Overview> {
        let queue = self.queue_depth(now).await?;
        // last-hour run numbers from the per-minute rollup (exact; see `window`)
        let since = now - Duration::hours(1);
        let wb = window::binds(since);
        let runs_last_hour = self
            .db
            .fetch_all(
                &format!(
                    "SELECT status, CAST(sum(n) AS bigint) AS n FROM {} t \
                     GROUP BY status HAVING sum(n) > 0 ORDER BY status",
                    window::runs_since(RunClock::Started, None)
                ),
                &wb,
            )
            .await?
            .iter()
            .map(|r| (r.s("status"), r.n("n")))
            .collect();
        let mut completed_last_hour = 0;
        let mut failed_last_hour = 0;
        for r in self
            .db
            .fetch_all(
                &format!(
                    "SELECT status, CAST(sum(n) AS bigint) AS n FROM {} t GROUP BY status",
                    window::runs_since(RunClock::Finished, None)
                ),
                &wb,
            )
            .await?
        {
            match r.s("status").as_str() {
                "completed" => completed_last_hour = r.n("n"),
                "failed" => failed_last_hour = r.n("n"),
                _ => {}
            }
        }
        let top_failing = self
            .db
            .fetch_all(
                &format!(
                    "SELECT t.workflow_id, w.name, CAST(sum(t.n) AS bigint) AS n FROM {} t \
                     JOIN workflows w ON w.id = t.workflow_id \
                     GROUP BY t.workflow_id, w.name HAVING sum(t.n) > 0 \
                     ORDER BY n DESC, w.name LIMIT 5",
                    window::runs_since(RunClock::Finished, Some("failed"))
                ),
                &wb,
            )
            .await?
            .iter()
            .map(|r| FailingWorkflow {
                workflow_id: r.id("workflow_id"),
                name: r.s("name"),
                failures: r.n("n"),
            })
            .collect();
        let open_discrepancies = self
            .db
            .fetch_all(
                "SELECT kind, count(*) AS n FROM reconciliation_discrepancies WHERE status = 'open' \
                 GROUP BY kind ORDER BY kind",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.s("kind"), r.n("n")))
            .collect();
        let appr = self
            .db
            .fetch_one(
                "SELECT count(*) AS n, min(created_at) AS oldest FROM approval_requests WHERE status = 'pending'",
                &[],
            )
            .await?;
        let counts = self
            .db
            .fetch_one(
                "SELECT (SELECT count(*) FROM workflows WHERE status = 'paused') AS paused, \
                 (SELECT count(*) FROM workflow_executions WHERE status = 'waiting') AS waiting",
                &[],
            )
            .await?;
        let history = self.metrics_history(60).await?;
        Ok(Overview {
            queue,
            runs_last_hour,
            completed_last_hour,
            failed_last_hour,
            top_failing,
            capacity: self.capacity().await?,
            open_alerts: self.open_capacity_alerts(20).await?,
            open_discrepancies,
            pending_approvals: appr.n("n"),
            oldest_pending_approval_at: appr.ts("oldest"),
            last_broadcasts: self.last_broadcasts(5).await?,
            metrics: history.last().cloned(),
            depth_history: history.iter().filter_map(|m| m.queue_depth).collect(),
            workflows_paused: counts.n("paused"),
            runs_waiting: counts.n("waiting"),
        })
    }
}
