//! The job queue, as a worker speaks to it (seed 004 / DOMAIN.md semantics):
//!
//! - claim: pending or retrying, due (`scheduled_for ≤ now`), not of a workflow that is not
//!   active (checked in the statement itself), highest priority then oldest first; one statement
//!   that marks up to `n` rows `processing` with `locked_by`, `started_at` and `attempts + 1`.
//!   Postgres locks the candidates `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the
//!   same row; SQLite runs the one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` under its
//!   single-writer lock.
//! - finish: completions in one `UPDATE … WHERE id IN (…)`; failures row by row (each has its own
//!   error and backoff). Every update is guarded by `status = 'processing' AND locked_by = me`, so a
//!   job an operator cancelled or a rescuer took back is never overwritten.
//! - release: in-flight claims handed back at stop (attempt not counted).
//! - rescue: jobs of this fleet left `processing` by a worker that died.

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use uuid::Uuid;

use super::batch::{Rows, placeholders};
use crate::api::db::{Db, Tx, Val};

/// A job as claimed.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub job_type: String,
    pub payload: Json,
    /// Including this attempt.
    pub attempts: i64,
    pub max_attempts: i64,
    pub workflow_id: Option<Uuid>,
}

const CLAIM_SQL: &str = "UPDATE job_queue SET status = 'processing', locked_by = $1, started_at = $2, \
     updated_at = $2, attempts = attempts + 1 \
     WHERE id IN (SELECT q.id FROM job_queue q \
       WHERE q.status IN ('pending', 'retrying') AND q.scheduled_for <= $2 \
         AND (q.workflow_id IS NULL OR EXISTS (SELECT 1 FROM workflows w \
              WHERE w.id = q.workflow_id AND w.status = 'active')) \
       ORDER BY q.priority DESC, q.scheduled_for, q.created_at \
       LIMIT $3 {skip_locked}) \
     RETURNING id, job_type, payload, attempts, max_attempts, workflow_id";

/// Claims up to `n` due jobs for `worker`.
pub async fn claim(
    db: &Db,
    worker: &str,
    n: usize,
    now: DateTime<Utc>,
) -> Result<Vec<Claimed>, sqlx::Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = db
        .fetch_all(
            CLAIM_SQL,
            &[
                Val::Text(worker.to_string()),
                Val::Ts(now),
                Val::I64(n as i64),
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Claimed {
            id: r.id("id"),
            job_type: r.s("job_type"),
            payload: r.json("payload").unwrap_or(Json::Null),
            attempts: r.n("attempts"),
            max_attempts: r.i64("max_attempts").unwrap_or(3),
            workflow_id: r.uuid("workflow_id"),
        })
        .collect())
}

/// A failed attempt: `retrying` at `retry_at`, or `failed` for good when `retry_at` is None.
#[derive(Debug, Clone)]
pub struct Failure {
    pub id: Uuid,
    pub error: String,
    pub retry_at: Option<DateTime<Utc>>,
}

/// Marks `ids` completed (only those still processing under `worker`); returns how many were.
pub async fn complete(
    tx: &mut Tx,
    worker: &str,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut n = 0;
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE job_queue SET status = 'completed', completed_at = $1, updated_at = $1, \
             error_message = NULL WHERE status = 'processing' AND locked_by = $2 AND id IN ({})",
            placeholders(3, chunk.len())
        );
        let mut args = vec![Val::Ts(now), Val::Text(worker.to_string())];
        args.extend(chunk.iter().map(|id| Val::Uuid(*id)));
        n += tx.execute(&sql, &args).await?;
    }
    Ok(n)
}

/// Records one failed attempt; returns whether the row was still ours.
pub async fn fail(
    tx: &mut Tx,
    worker: &str,
    f: &Failure,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = match f.retry_at {
        Some(at) => {
            tx.execute(
                "UPDATE job_queue SET status = 'retrying', error_message = $1, scheduled_for = $2, \
                 locked_by = NULL, updated_at = $3 \
                 WHERE id = $4 AND status = 'processing' AND locked_by = $5",
                &[
                    Val::Text(f.error.clone()),
                    Val::Ts(at),
                    Val::Ts(now),
                    Val::Uuid(f.id),
                    Val::Text(worker.to_string()),
                ],
            )
            .await?
        }
        None => {
            tx.execute(
                "UPDATE job_queue SET status = 'failed', error_message = $1, completed_at = $2, \
                 updated_at = $2 WHERE id = $3 AND status = 'processing' AND locked_by = $4",
                &[
                    Val::Text(f.error.clone()),
                    Val::Ts(now),
                    Val::Uuid(f.id),
                    Val::Text(worker.to_string()),
                ],
            )
            .await?
        }
    };
    Ok(n == 1)
}

/// Hands claimed jobs back: `pending` (or `retrying` if an earlier attempt failed), the
/// attempt not counted, lock cleared. `ids = None` releases everything `worker` still holds.
pub async fn release(
    db: &Db,
    worker: &str,
    ids: Option<&[Uuid]>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let base = "UPDATE job_queue SET status = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END, \
         attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, locked_by = NULL, \
         started_at = NULL, updated_at = $1 WHERE status = 'processing' AND locked_by = $2";
    let mut args = vec![Val::Ts(now), Val::Text(worker.to_string())];
    match ids {
        None => db.execute(base, &args).await,
        Some([]) => Ok(0),
        Some(ids) => {
            let mut n = 0;
            for chunk in ids.chunks(500) {
                args.truncate(2);
                args.extend(chunk.iter().map(|id| Val::Uuid(*id)));
                let sql = format!("{base} AND id IN ({})", placeholders(3, chunk.len()));
                n += db.execute(&sql, &args).await?;
            }
            Ok(n)
        }
    }
}

/// Jobs of this fleet (`locked_by` starting with `prefix`, not one of `live` workers) stuck in
/// processing since before `older_than`: back to `retrying`, or `failed` when out of attempts.
pub async fn rescue(
    db: &Db,
    prefix: &str,
    live: &[String],
    older_than: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut sql = String::from(
        "UPDATE job_queue SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'retrying' END, \
         error_message = 'worker lost: rescued from processing', locked_by = NULL, \
         scheduled_for = $1, updated_at = $1, \
         completed_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END \
         WHERE status = 'processing' AND started_at < $2 AND locked_by LIKE $3 ESCAPE '\\'",
    );
    let mut args = vec![
        Val::Ts(now),
        Val::Ts(older_than),
        Val::Text(format!("{}%", like_escape(prefix))),
    ];
    if !live.is_empty() {
        sql.push_str(&format!(
            " AND locked_by NOT IN ({})",
            placeholders(4, live.len())
        ));
        args.extend(live.iter().map(|w| Val::Text(w.clone())));
    }
    db.execute(&sql, &args).await
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: Uuid,
    pub job_type: String,
    pub payload: Json,
    pub priority: i64,
    pub max_attempts: i64,
    pub scheduled_for: DateTime<Utc>,
    pub workflow_id: Option<Uuid>,
}

pub const JOB_COLS: &[&str] = &[
    "id",
    "job_type",
    "payload",
    "status",
    "priority",
    "attempts",
    "max_attempts",
    "scheduled_for",
    "workflow_id",
    "created_at",
    "updated_at",
];

/// A job row in the shape of [`JOB_COLS`] (the seeder writes history through it too).
#[allow(clippy::too_many_arguments)]
pub fn job_row(j: &NewJob, status: &str, attempts: i64, created: DateTime<Utc>) -> Vec<Val> {
    vec![
        Val::Uuid(j.id),
        Val::Text(j.job_type.clone()),
        Val::Json(j.payload.clone()),
        Val::Text(status.into()),
        Val::I64(j.priority),
        Val::I64(attempts),
        Val::I64(j.max_attempts),
        Val::Ts(j.scheduled_for),
        Val::OptUuid(j.workflow_id),
        Val::Ts(created),
        Val::Ts(created),
    ]
}

/// Inserts pending jobs (multi-row) inside `tx`.
pub async fn enqueue(tx: &mut Tx, jobs: &[NewJob], now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let mut rows = Rows::new("job_queue", JOB_COLS);
    for j in jobs {
        rows.push(job_row(j, "pending", 0, now));
    }
    rows.insert(tx).await
}

/// Queue depth as the seed defines it: pending + retrying.
pub async fn depth(db: &Db) -> Result<i64, sqlx::Error> {
    Ok(db
        .fetch_one(
            "SELECT count(*) AS n FROM job_queue WHERE status IN ('pending', 'retrying')",
            &[],
        )
        .await?
        .n("n"))
}

/// Jobs `worker` holds in the database but not in memory (a claim whose answer was lost with
/// the connection): handed back like [`release`]. `keep` are the ids the worker does hold.
pub async fn release_orphans(
    db: &Db,
    worker: &str,
    keep: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut sql = String::from(
        "UPDATE job_queue SET status = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END, \
         attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, locked_by = NULL, \
         started_at = NULL, updated_at = $1 WHERE status = 'processing' AND locked_by = $2",
    );
    let mut args = vec![Val::Ts(now), Val::Text(worker.to_string())];
    if !keep.is_empty() {
        sql.push_str(&format!(" AND id NOT IN ({})", placeholders(3, keep.len())));
        args.extend(keep.iter().map(|id| Val::Uuid(*id)));
    }
    db.execute(&sql, &args).await
}
