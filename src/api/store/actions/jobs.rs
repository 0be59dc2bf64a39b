//! Jobs: retry or cancel by id, and the bulk retry of every failed job a filter matches.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{Applied, last_actor};
use crate::api::db::{Tx, Val};
use crate::api::store::{Query, Store};
use crate::domain::action::JobSelect;
use crate::domain::sanitize::clean;

/// `set` uses `?` for "now" (each `?` gets `now`).
pub(super) async fn jobs_by_id(
    tx: &mut Tx,
    jobs: &[Uuid],
    set: &str,
    from: &[&str],
    to: &str,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let mut jobs = jobs.to_vec();
    jobs.sort();
    jobs.dedup();
    let mut done: Vec<Uuid> = Vec::new();
    for chunk in jobs.chunks(500) {
        let mut q = Query::new("");
        let n_now = set.matches('?').count();
        let mut sql = String::from("UPDATE job_queue SET ");
        let mut i = 0;
        for ch in set.chars() {
            if ch == '?' {
                i += 1;
                sql.push_str(&format!("${i}"));
            } else {
                sql.push(ch);
            }
        }
        q.sql = sql;
        q.args = (0..n_now).map(|_| Val::Ts(now)).collect();
        let ids: Vec<&str> = chunk.iter().map(|_| "?").collect();
        q.and(
            &format!("id IN ({})", ids.join(", ")),
            chunk.iter().map(|id| Val::Uuid(*id)),
        );
        let st: Vec<&str> = from.iter().map(|_| "?").collect();
        q.and(
            &format!("status IN ({})", st.join(", ")),
            from.iter().map(|s| Val::Text(s.to_string())),
        )
        .tail("RETURNING id");
        for r in tx.fetch_all(&q.sql, &q.args).await? {
            done.push(r.id("id"));
        }
    }
    let mut conflicts = Vec::new();
    for id in jobs.iter().filter(|j| !done.contains(j)) {
        let short = &id.to_string()[..8];
        let r = tx
            .fetch_optional(
                "SELECT status, locked_by, updated_at FROM job_queue WHERE id = $1",
                &[Val::Uuid(*id)],
            )
            .await?;
        conflicts.push(match r {
            None => format!("job {short}: no such job"),
            Some(r) => {
                let status = r.s("status");
                let how = match status.as_str() {
                    "processing" => r
                        .text("locked_by")
                        .map(|w| format!(" on {}", clean(&w)))
                        .unwrap_or_default(),
                    s if s == to => {
                        last_actor(
                            tx,
                            id,
                            &["job.retry", "job.retry_failed", "job.cancel"],
                            r.ts("updated_at"),
                        )
                        .await?
                    }
                    _ => String::new(),
                };
                let already = if status == to { "already " } else { "" };
                format!("job {short} {already}{}{how}", clean(&status))
            }
        });
    }
    Ok(Applied {
        changed: done.len() as u64,
        before: json!({"status": from, "jobs": jobs}),
        after: json!({"status": to, "changed": done, "conflicts": conflicts}),
        conflicts,
        resume: None,
        rollback: false,
    })
}

/// The queue's filter as SQL over `job_queue j` — the same predicate the queue view lists with.
pub(crate) fn job_select(q: &mut Query, s: &JobSelect) {
    q.and_opt("j.job_type = ?", s.job_type.clone().map(Val::Text))
        .and_opt("j.workflow_id = ?", s.workflow_id.map(Val::Uuid))
        .and_opt("j.updated_at <= ?", s.failed_by.map(Val::Ts))
        .contains(
            "j.job_type || ' ' || COALESCE(j.error_message, '')",
            s.text.as_deref(),
        );
}

/// How many failed jobs a bulk retry would touch (for its confirm dialog).
pub async fn count_failed(store: &Store, s: &JobSelect) -> Result<i64, sqlx::Error> {
    let mut q = Query::new("SELECT count(*) AS n FROM job_queue j");
    q.and("j.status = 'failed'", []);
    job_select(&mut q, s);
    Ok(store.db.fetch_one(&q.sql, &q.args).await?.n("n"))
}

pub(super) async fn retry_failed(
    tx: &mut Tx,
    select: &JobSelect,
    expected: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let mut q = Query::new(
        "UPDATE job_queue SET status = 'pending', attempts = 0, scheduled_for = $1, \
         started_at = NULL, completed_at = NULL, locked_by = NULL, updated_at = $1 \
         WHERE id IN (SELECT j.id FROM job_queue j",
    );
    q.args.push(Val::Ts(now));
    q.and("j.status = 'failed'", []);
    job_select(&mut q, select);
    q.tail(") AND status = 'failed'");
    if let Some(t) = select.failed_by {
        // re-checked on the row as updated: a job retried and failed again while this waited
        // for its lock failed after the operator asked
        q.sql
            .push_str(&format!(" AND updated_at <= ${}", q.args.len() + 1));
        q.args.push(Val::Ts(t));
    }
    let n = tx.execute(&q.sql, &q.args).await?;
    if let Some(e) = expected.filter(|e| n as i64 > *e) {
        // more failed jobs match now than the operator saw and confirmed: a bulk change must
        // not grow behind their back
        let why = format!(
            "{n} failed jobs match {} now, {e} when you confirmed: nothing retried — count again",
            select.describe()
        );
        return Ok(Applied {
            changed: 0,
            before: json!({"status": "failed", "filter": select, "expected": e}),
            after: json!({"conflict": why, "matching": n}),
            conflicts: vec![why],
            resume: None,
            rollback: true,
        });
    }
    let conflicts = if n == 0 {
        vec![format!("no failed job matches {}", select.describe())]
    } else {
        vec![]
    };
    Ok(Applied {
        changed: n,
        before: json!({"status": "failed", "filter": select, "expected": expected}),
        after: json!({"status": "pending", "count": n}),
        conflicts,
        resume: None,
        rollback: false,
    })
}
