//! Operator actions, applied. Each one is a single transaction: a conditional update on the
//! state the operator saw (`… WHERE id = $1 AND status = 'failed'`) plus exactly one
//! `operator_actions` row, whatever the outcome. A lost race is a `Conflict` that names who got
//! there first; nothing is retried silently. The TUI and the CLI both come through [`execute`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::action::{Action, ActionReport, Actor, JobSelect, Named, Outcome};
use crate::api::db::{DbRow, Tx, Val, describe_sqlx};
use crate::api::n8n::N8nClient;
use crate::api::store::{Query, Store};
use crate::sanitize::clean;

/// What actions need besides the store.
#[derive(Debug, Clone)]
pub struct ActionCtx {
    pub actor: Actor,
    /// For resume_url calls (n8n Wait nodes); built with [`http_client`].
    pub http: reqwest::Client,
    /// The n8n API, for n8n actions (None: n8n is not configured).
    pub n8n: Option<N8nClient>,
}

/// Default timeout of a resume_url call.
pub const RESUME_TIMEOUT: Duration = Duration::from_secs(5);

pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

impl ActionCtx {
    pub fn new(actor: Actor) -> Self {
        ActionCtx {
            actor,
            http: http_client(RESUME_TIMEOUT),
            n8n: None,
        }
    }

    /// With an n8n client, for `N8nSetActive` / `N8nRetry`.
    pub fn with_n8n(mut self, client: Option<N8nClient>) -> Self {
        self.n8n = client;
        self
    }
}

/// The change one transaction made (or why it did not).
struct Applied {
    changed: u64,
    conflicts: Vec<String>,
    before: Json,
    after: Json,
    /// For an ok decision with a resume_url: call it after the commit.
    resume: Option<Resume>,
}

struct Resume {
    request: Uuid,
    url: String,
    body: Json,
}

/// Applies `action` and writes its audit row. Never panics on bad input; the report says what
/// happened.
pub async fn execute(store: &Store, ctx: &ActionCtx, action: &Action) -> ActionReport {
    let name = action.name();
    if let Err(e) = action.validate() {
        return ActionReport::error(name, e);
    }
    if matches!(
        action,
        Action::N8nSetActive { .. } | Action::N8nRetry { .. }
    ) {
        // n8n is not a transaction: it acts through its API, then writes its one audit row
        return crate::api::n8n::action::execute(store, ctx, action).await;
    }
    let now = Utc::now();
    let mut tx = match store.db.begin().await {
        Ok(t) => t,
        Err(e) => return ActionReport::error(name, describe_sqlx(&e)),
    };
    // Postgres: the transaction's id, so that a COMMIT whose answer is lost can be settled
    // afterwards (`txid_status`) instead of leaving the operator to guess
    let xid = match xact_id(store, &mut tx).await {
        Ok(x) => x,
        Err(e) => {
            let _ = tx.rollback().await;
            return ActionReport::error(name, describe_sqlx(&e));
        }
    };
    let applied = match apply(&mut tx, ctx, action, now).await {
        Ok(a) => a,
        Err(e) => {
            let _ = tx.rollback().await;
            let msg = describe_sqlx(&e);
            // the change did not happen; record the attempt when the database still answers
            let audit_id = audit_alone(
                store,
                ctx,
                action,
                now,
                json!(null),
                json!({"error": msg}),
                Outcome::Error,
            )
            .await;
            let mut r = ActionReport::error(name, format!("{}: {msg}", action.summary()));
            r.audit_id = audit_id;
            return r;
        }
    };
    let outcome = if applied.changed > 0 {
        Outcome::Ok
    } else {
        Outcome::Conflict
    };
    let audit_id = match audit(
        &mut tx,
        ctx,
        action,
        now,
        &applied.before,
        &applied.after,
        outcome,
    )
    .await
    {
        Ok(id) => id,
        Err(e) => {
            let _ = tx.rollback().await;
            return ActionReport::error(name, describe_sqlx(&e));
        }
    };
    if let Err(e) = tx.commit().await {
        // A failed COMMIT is ambiguous when the connection dropped: the server may have
        // committed before the answer was lost. Ask the database which it was; only when it
        // cannot tell, say so rather than claim either way (the audit row, written in the same
        // transaction, tells which).
        match commit_status(store, xid).await {
            // it was applied: report it as such (one audit row, the one just committed)
            Some(true) => {}
            Some(false) => {
                let msg = describe_sqlx(&e);
                let audit_id = audit_alone(
                    store,
                    ctx,
                    action,
                    now,
                    json!(null),
                    json!({"error": format!("not committed: {msg}")}),
                    Outcome::Error,
                )
                .await;
                let mut r = ActionReport::error(
                    name,
                    format!(
                        "{}: not applied — the connection was lost before the commit ({msg})",
                        action.summary()
                    ),
                );
                r.audit_id = audit_id;
                return r;
            }
            None => {
                return ActionReport::error(
                    name,
                    format!(
                        "{}: the commit failed ({}); if the connection dropped it may have been applied — check the Audit view before retrying",
                        action.summary(),
                        describe_sqlx(&e)
                    ),
                );
            }
        }
    }
    let mut report = ActionReport {
        action: name,
        outcome,
        message: message(action, &applied),
        changed: applied.changed,
        conflicts: applied.conflicts.clone(),
        audit_id: Some(audit_id),
        warning: None,
    };
    if let Some(r) = applied.resume {
        report.warning = tell_n8n(store, ctx, &r, audit_id, &applied.after).await;
    }
    report
}

/// Postgres: the id of the open transaction (assigned now; the action writes anyway).
async fn xact_id(store: &Store, tx: &mut Tx) -> Result<Option<i64>, sqlx::Error> {
    if store.db.pg_pool().is_none() {
        return Ok(None);
    }
    Ok(tx
        .fetch_one("SELECT txid_current() AS x", &[])
        .await?
        .i64("x"))
}

/// After a failed COMMIT: whether transaction `xid` committed (`Some(true)`), did not
/// (`Some(false)`), or cannot be told (`None`: SQLite, the database still unreachable, or the
/// old backend still running it after a few seconds).
async fn commit_status(store: &Store, xid: Option<i64>) -> Option<bool> {
    let xid = xid?;
    for _ in 0..10 {
        let r = store
            .db
            .fetch_one("SELECT txid_status($1) AS s", &[Val::I64(xid)])
            .await;
        match r.map(|r| r.text("s")) {
            Ok(Some(s)) if s == "committed" => return Some(true),
            Ok(Some(s)) if s == "aborted" => return Some(false),
            // too old to tell (cannot happen seconds later, but never guess)
            Ok(None) => return None,
            // "in progress" (the server has not noticed the lost connection yet) or an error
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    None
}

fn message(action: &Action, a: &Applied) -> String {
    let first = a.conflicts.first().cloned().unwrap_or_default();
    if a.changed == 0 {
        return if a.conflicts.len() > 1 {
            format!(
                "nothing changed: {first} (and {} more)",
                a.conflicts.len() - 1
            )
        } else if first.is_empty() {
            "nothing changed".into()
        } else {
            first
        };
    }
    let done = match action {
        Action::PauseWorkflows { .. } => format!("paused {} workflow(s)", a.changed),
        Action::ResumeWorkflows { .. } => format!("resumed {} workflow(s)", a.changed),
        Action::RetryJobs { .. } => format!("retried {} job(s)", a.changed),
        Action::RetryFailed { expected, .. } => match expected {
            Some(e) if *e != a.changed as i64 => format!(
                "retried {} failed job(s) ({} when you confirmed; the queue moved)",
                a.changed, e
            ),
            _ => format!("retried {} failed job(s)", a.changed),
        },
        Action::CancelJobs { .. } => format!("cancelled {} job(s)", a.changed),
        Action::RetryRun { label, .. } => {
            format!("run {} retried as a new pending run", clean(label))
        }
        Action::CancelRun { label, .. } => format!("run {} cancelled", clean(label)),
        Action::Decide { label, approve, .. } => format!(
            "{} {}",
            if *approve { "approved" } else { "rejected" },
            clean(label)
        ),
        Action::ResendDecision { label, .. } => format!("decision on {} resent", clean(label)),
        Action::Resolve { label, ignore, .. } => format!(
            "{} discrepancy {}",
            if *ignore { "ignored" } else { "resolved" },
            clean(label)
        ),
        Action::AckCapacity { label, .. } => {
            format!("acknowledged capacity alerts of {}", clean(label))
        }
        Action::N8nSetActive { .. } | Action::N8nRetry { .. } => action.summary(),
    };
    if a.conflicts.is_empty() {
        done
    } else {
        format!(
            "{done}; {} not changed: {first}{}",
            a.conflicts.len(),
            if a.conflicts.len() > 1 { " …" } else { "" }
        )
    }
}

async fn apply(
    tx: &mut Tx,
    ctx: &ActionCtx,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let op = &ctx.actor.operator;
    match action {
        Action::PauseWorkflows { workflows, reason } => {
            pause_resume(tx, op, workflows, Some(reason), now).await
        }
        Action::ResumeWorkflows { workflows } => pause_resume(tx, op, workflows, None, now).await,
        Action::RetryJobs { jobs } => {
            let set = "status = 'pending', attempts = 0, scheduled_for = ?, started_at = NULL, \
                       completed_at = NULL, locked_by = NULL, updated_at = ?";
            let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
            jobs_by_id(tx, &ids, set, &["failed"], "pending", now).await
        }
        Action::CancelJobs { jobs } => {
            let set = "status = 'cancelled', completed_at = ?, locked_by = NULL, updated_at = ?";
            let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
            jobs_by_id(tx, &ids, set, &["pending", "retrying"], "cancelled", now).await
        }
        Action::RetryFailed { select, expected } => retry_failed(tx, select, *expected, now).await,
        Action::RetryRun { run, .. } => retry_run(tx, *run, now).await,
        Action::CancelRun { run, .. } => cancel_run(tx, op, *run, now).await,
        Action::Decide {
            request,
            approve,
            note,
            ..
        } => decide(tx, op, *request, *approve, note.as_deref(), now).await,
        Action::ResendDecision { request, .. } => resend(tx, *request).await,
        Action::Resolve {
            discrepancy,
            ignore,
            note,
            ..
        } => resolve(tx, op, *discrepancy, *ignore, note, now).await,
        Action::AckCapacity { event, .. } => ack(tx, op, *event, now).await,
        Action::N8nSetActive { .. } | Action::N8nRetry { .. } => Err(sqlx::Error::Protocol(
            "n8n actions do not run in a database transaction".into(),
        )),
    }
}

// ---- who got there first -------------------------------------------------------------------

fn at(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| format!(" at {}", t.format("%H:%M UTC")))
        .unwrap_or_default()
}

fn by(who: Option<String>, when: Option<DateTime<Utc>>) -> String {
    match who {
        Some(w) => format!(" by {}{}", clean(&w), at(when)),
        None => at(when),
    }
}

/// The last successful operator action on a target ("by maya@ops at 03:12 UTC"), or "".
async fn last_actor(tx: &mut Tx, target: &Uuid, actions: &[&str]) -> Result<String, sqlx::Error> {
    let mut q = Query::new("SELECT operator, at FROM operator_actions");
    q.and("target_id = ?", [Val::Text(target.to_string())])
        .and("outcome = 'ok'", []);
    let marks: Vec<String> = actions.iter().map(|_| "?".to_string()).collect();
    q.and(
        &format!("action IN ({})", marks.join(", ")),
        actions.iter().map(|a| Val::Text(a.to_string())),
    )
    .tail("ORDER BY at DESC")
    .limit(1);
    let r = tx.fetch_optional(&q.sql, &q.args).await?;
    Ok(r.map(|r| by(r.text("operator"), r.ts("at")))
        .unwrap_or_default())
}

// ---- workflows ----------------------------------------------------------------------------

async fn pause_resume(
    tx: &mut Tx,
    op: &str,
    workflows: &[Named],
    reason: Option<&String>,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let pausing = reason.is_some();
    let mut changed = Vec::new();
    let mut conflicts = Vec::new();
    for w in workflows {
        let n = if let Some(reason) = reason {
            tx.execute(
                "UPDATE workflows SET status = 'paused', paused_by = $1, paused_at = $2, \
                 pause_reason = $3, updated_at = $2 WHERE id = $4 AND status = 'active'",
                &[
                    Val::Text(op.into()),
                    Val::Ts(now),
                    Val::Text(reason.clone()),
                    Val::Uuid(w.id),
                ],
            )
            .await?
        } else {
            tx.execute(
                "UPDATE workflows SET status = 'active', paused_by = NULL, paused_at = NULL, \
                 pause_reason = NULL, updated_at = $1 WHERE id = $2 AND status = 'paused'",
                &[Val::Ts(now), Val::Uuid(w.id)],
            )
            .await?
        };
        if n == 1 {
            changed.push(w.id.to_string());
            continue;
        }
        let cur = tx
            .fetch_optional(
                "SELECT status, paused_by, paused_at FROM workflows WHERE id = $1",
                &[Val::Uuid(w.id)],
            )
            .await?;
        let label = clean(&w.label);
        conflicts.push(match cur {
            None => format!("{label}: no such workflow"),
            Some(r) => {
                let status = r.s("status");
                match (pausing, status.as_str()) {
                    (true, "paused") => format!(
                        "{label} already paused{}",
                        by(r.text("paused_by"), r.ts("paused_at"))
                    ),
                    (false, "active") => format!(
                        "{label} already active (resumed{})",
                        last_actor(tx, &w.id, &["workflow.resume"]).await?
                    ),
                    (_, s) => format!("{label} is {}", clean(s)),
                }
            }
        });
    }
    let (from, to) = if pausing {
        ("active", "paused")
    } else {
        ("paused", "active")
    };
    Ok(Applied {
        changed: changed.len() as u64,
        before: json!({"status": from, "workflows": workflows}),
        after: json!({"status": to, "changed": changed, "conflicts": conflicts}),
        conflicts,
        resume: None,
    })
}

// ---- jobs ---------------------------------------------------------------------------------

/// `set` uses `?` for "now" (each `?` gets `now`).
async fn jobs_by_id(
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
                "SELECT status, locked_by FROM job_queue WHERE id = $1",
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
                        last_actor(tx, id, &["job.retry", "job.retry_failed", "job.cancel"]).await?
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
    })
}

/// The queue's filter as SQL over `job_queue j` — the same predicate the queue view lists with.
pub(crate) fn job_select(q: &mut Query, s: &JobSelect) {
    q.and_opt("j.job_type = ?", s.job_type.clone().map(Val::Text))
        .and_opt("j.workflow_id = ?", s.workflow_id.map(Val::Uuid))
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

async fn retry_failed(
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
    let n = tx.execute(&q.sql, &q.args).await?;
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
    })
}

// ---- runs ---------------------------------------------------------------------------------

async fn retry_run(tx: &mut Tx, run: Uuid, now: DateTime<Utc>) -> Result<Applied, sqlx::Error> {
    let new_id = Uuid::now_v7();
    let n = tx
        .execute(
            "UPDATE workflow_executions SET retried_as = $1, updated_at = $2 \
             WHERE id = $3 AND status IN ('failed', 'cancelled') AND retried_as IS NULL",
            &[Val::Uuid(new_id), Val::Ts(now), Val::Uuid(run)],
        )
        .await?;
    let short = &run.to_string()[..8];
    if n == 0 {
        let r = tx
            .fetch_optional(
                "SELECT status, retried_as FROM workflow_executions WHERE id = $1",
                &[Val::Uuid(run)],
            )
            .await?;
        let why = match r {
            None => format!("run {short}: no such run"),
            Some(r) if r.uuid("retried_as").is_some() => format!(
                "run {short} already retried{} (new run {})",
                last_actor(tx, &run, &["run.retry"]).await?,
                &r.id("retried_as").to_string()[..8]
            ),
            Some(r) => format!(
                "run {short} is {}: only failed or cancelled runs can be retried",
                clean(&r.s("status"))
            ),
        };
        return Ok(conflict_only(json!({"run": run}), why));
    }
    let old = tx
        .fetch_one(
            "SELECT workflow_id, event_id, steps_total, context FROM workflow_executions WHERE id = $1",
            &[Val::Uuid(run)],
        )
        .await?;
    let mut context = match old.json("context") {
        Some(Json::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    context.insert("retry_of".into(), json!(run));
    tx.execute(
        "INSERT INTO workflow_executions (id, workflow_id, status, started_at, event_id, \
           steps_total, steps_completed, context, retry_of, updated_at) \
         VALUES ($1, $2, 'pending', $3, $4, $5, 0, $6{json}, $7, $3)",
        &[
            Val::Uuid(new_id),
            Val::Uuid(old.id("workflow_id")),
            Val::Ts(now),
            Val::OptUuid(old.uuid("event_id")),
            Val::OptI64(old.i64("steps_total")),
            Val::Json(Json::Object(context)),
            Val::Uuid(run),
        ],
    )
    .await?;
    Ok(Applied {
        changed: 1,
        before: json!({"run": run}),
        after: json!({"new_run": new_id, "status": "pending"}),
        conflicts: vec![],
        resume: None,
    })
}

async fn cancel_run(
    tx: &mut Tx,
    op: &str,
    run: Uuid,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let before = tx
        .fetch_optional(
            "SELECT status FROM workflow_executions WHERE id = $1",
            &[Val::Uuid(run)],
        )
        .await?
        .map(|r| r.s("status"));
    let n = tx
        .execute(
            "UPDATE workflow_executions SET status = 'cancelled', completed_at = $1, \
             error_message = $2, updated_at = $1 \
             WHERE id = $3 AND status IN ('pending', 'running', 'waiting')",
            &[
                Val::Ts(now),
                Val::Text(format!("cancelled by {op}")),
                Val::Uuid(run),
            ],
        )
        .await?;
    let short = &run.to_string()[..8];
    let conflicts = match (n, before.as_deref()) {
        (1, _) => vec![],
        (_, None) => vec![format!("run {short}: no such run")],
        (_, Some("cancelled")) => vec![format!(
            "run {short} already cancelled{}",
            last_actor(tx, &run, &["run.cancel"]).await?
        )],
        (_, Some(s)) => vec![format!("run {short} already {}", clean(s))],
    };
    Ok(Applied {
        changed: n,
        before: json!({"status": before}),
        after: json!({"status": if n == 1 { "cancelled" } else { before.as_deref().unwrap_or("") }}),
        conflicts,
        resume: None,
    })
}

// ---- approvals ----------------------------------------------------------------------------

async fn decide(
    tx: &mut Tx,
    op: &str,
    request: Uuid,
    approve: bool,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let status = if approve { "approved" } else { "rejected" };
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let n = tx
        .execute(
            "UPDATE approval_requests SET status = $1, decided_by = $2, decided_at = $3, \
               decision_note = $4, \
               resume_status = CASE WHEN resume_url IS NULL THEN NULL ELSE 'pending' END \
             WHERE id = $5 AND status = 'pending' AND (expires_at IS NULL OR expires_at > $3)",
            &[
                Val::Text(status.into()),
                Val::Text(op.into()),
                Val::Ts(now),
                Val::OptText(note.map(str::to_string)),
                Val::Uuid(request),
            ],
        )
        .await?;
    let cur = tx
        .fetch_optional(
            "SELECT status, decided_by, decided_at, resume_url, expires_at, execution_id \
             FROM approval_requests WHERE id = $1",
            &[Val::Uuid(request)],
        )
        .await?;
    let short = &request.to_string()[..8];
    let Some(cur) = cur else {
        let why = format!("approval request {short}: no such request");
        return Ok(conflict_only(json!({"request": request}), why));
    };
    if n == 0 {
        let s = cur.s("status");
        let why = match s.as_str() {
            "pending" => format!("request {short} expired{}", at(cur.ts("expires_at"))),
            "approved" | "rejected" => format!(
                "already {s}{}",
                by(cur.text("decided_by"), cur.ts("decided_at"))
            ),
            other => format!("request {short} is {}", clean(other)),
        };
        return Ok(conflict_only(json!({"status": s}), why));
    }
    tx.execute(
        "UPDATE rate_negotiations SET status = $1 WHERE approval_request_id = $2 AND status = 'pending'",
        &[Val::Text(status.into()), Val::Uuid(request)],
    )
    .await?;
    let resume = cur.text("resume_url").map(|url| Resume {
        request,
        url,
        body: decision_body(request, status, op, note, cur.uuid("execution_id")),
    });
    Ok(Applied {
        changed: 1,
        before: json!({"status": "pending"}),
        after: json!({
            "status": status,
            "n8n": if resume.is_some() { "pending" } else { "no resume_url" },
        }),
        conflicts: vec![],
        resume,
    })
}

fn decision_body(
    request: Uuid,
    status: &str,
    op: &str,
    note: Option<&str>,
    execution: Option<Uuid>,
) -> Json {
    json!({
        "approval_request_id": request,
        "decision": status,
        "approved": status == "approved",
        "decided_by": op,
        "note": note,
        "execution_id": execution,
        "source": "opsdeck",
    })
}

fn conflict_only(before: Json, why: String) -> Applied {
    Applied {
        changed: 0,
        before,
        after: json!({"conflict": why}),
        conflicts: vec![why],
        resume: None,
    }
}

async fn resend(tx: &mut Tx, request: Uuid) -> Result<Applied, sqlx::Error> {
    let n = tx
        .execute(
            "UPDATE approval_requests SET resume_status = 'pending', resume_error = NULL \
             WHERE id = $1 AND status IN ('approved', 'rejected') AND resume_url IS NOT NULL \
               AND COALESCE(resume_status, 'failed') <> 'told'",
            &[Val::Uuid(request)],
        )
        .await?;
    let cur = tx
        .fetch_optional(
            "SELECT status, decided_by, decision_note, resume_url, resume_status, resumed_at, \
               execution_id FROM approval_requests WHERE id = $1",
            &[Val::Uuid(request)],
        )
        .await?;
    let short = &request.to_string()[..8];
    let Some(cur) = cur else {
        return Ok(conflict_only(
            json!({"request": request}),
            format!("approval request {short}: no such request"),
        ));
    };
    if n == 0 {
        let why = if cur.text("resume_url").is_none() {
            format!("request {short} has no resume_url: nothing to tell")
        } else if cur.text("resume_status").as_deref() == Some("told") {
            format!("n8n was already told{}", at(cur.ts("resumed_at")))
        } else {
            format!(
                "request {short} is {}: decide it first",
                clean(&cur.s("status"))
            )
        };
        return Ok(conflict_only(
            json!({"resume_status": cur.text("resume_status")}),
            why,
        ));
    }
    let status = cur.s("status");
    let op = cur.s("decided_by");
    let note = cur.text("decision_note");
    Ok(Applied {
        changed: 1,
        before: json!({"resume_status": "failed"}),
        after: json!({"n8n": "pending"}),
        conflicts: vec![],
        resume: cur.text("resume_url").map(|url| Resume {
            request,
            url,
            body: decision_body(
                request,
                &status,
                &op,
                note.as_deref(),
                cur.uuid("execution_id"),
            ),
        }),
    })
}

/// POSTs the decision to n8n after the commit. 2xx and 409 ("already resumed") count as told;
/// anything else leaves the decision standing, marks the request `failed` (the console offers a
/// resend) and records it in the audit row. Returns the warning to show, if any.
async fn tell_n8n(
    store: &Store,
    ctx: &ActionCtx,
    r: &Resume,
    audit_id: Uuid,
    after: &Json,
) -> Option<String> {
    let res = ctx.http.post(&r.url).json(&r.body).send().await;
    let failure = match res {
        Ok(resp) if resp.status().is_success() => None,
        Ok(resp) if resp.status().as_u16() == 409 => None,
        Ok(resp) => Some(format!("HTTP {}", resp.status().as_u16())),
        Err(e) if e.is_timeout() => Some("timed out".to_string()),
        Err(e) if e.is_connect() => Some("cannot connect".to_string()),
        Err(e) => Some(crate::config::redact_in(&e.to_string())),
    };
    let now = Utc::now();
    let (state, told) = match &failure {
        None => ("told", json!("told")),
        Some(f) => ("failed", json!(format!("not told: {f}"))),
    };
    let _ = store
        .db
        .execute(
            "UPDATE approval_requests SET resume_status = $1, resume_error = $2, resumed_at = $3 WHERE id = $4",
            &[
                Val::Text(state.into()),
                Val::OptText(failure.clone()),
                Val::OptTs(failure.is_none().then_some(now)),
                Val::Uuid(r.request),
            ],
        )
        .await;
    let mut after = after.clone();
    if let Some(m) = after.as_object_mut() {
        m.insert("n8n".into(), told);
    }
    let _ = store
        .db
        .execute(
            "UPDATE operator_actions SET after = $1{json} WHERE id = $2",
            &[Val::Json(after), Val::Uuid(audit_id)],
        )
        .await;
    failure.map(|f| format!("n8n not told ({f}) — press E to resend"))
}

// ---- reconciliation, capacity ---------------------------------------------------------------

async fn resolve(
    tx: &mut Tx,
    op: &str,
    id: Uuid,
    ignore: bool,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let to = if ignore { "ignored" } else { "resolved" };
    let n = tx
        .execute(
            "UPDATE reconciliation_discrepancies SET status = $1, resolved_by = $2, \
             resolved_at = $3, note = $4 WHERE id = $5 AND status = 'open'",
            &[
                Val::Text(to.into()),
                Val::Text(op.into()),
                Val::Ts(now),
                Val::Text(note.trim().into()),
                Val::Uuid(id),
            ],
        )
        .await?;
    if n == 1 {
        return Ok(Applied {
            changed: 1,
            before: json!({"status": "open"}),
            after: json!({"status": to}),
            conflicts: vec![],
            resume: None,
        });
    }
    let cur = tx
        .fetch_optional(
            "SELECT status, resolved_by, resolved_at FROM reconciliation_discrepancies WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await?;
    let short = &id.to_string()[..8];
    let why = match cur {
        None => format!("discrepancy {short}: no such discrepancy"),
        Some(r) => format!(
            "already {}{}",
            clean(&r.s("status")),
            by(r.text("resolved_by"), r.ts("resolved_at"))
        ),
    };
    Ok(conflict_only(json!({"discrepancy": id}), why))
}

async fn ack(
    tx: &mut Tx,
    op: &str,
    event: Uuid,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let rows = tx
        .fetch_all(
            "UPDATE capacity_alerts SET acknowledged_by = $1, acknowledged_at = $2 \
             WHERE event_id = $3 AND acknowledged_at IS NULL RETURNING threshold",
            &[Val::Text(op.into()), Val::Ts(now), Val::Uuid(event)],
        )
        .await?;
    if !rows.is_empty() {
        let th: Vec<i64> = rows.iter().map(|r: &DbRow| r.n("threshold")).collect();
        return Ok(Applied {
            changed: rows.len() as u64,
            before: json!({"open_thresholds": th}),
            after: json!({"acknowledged": th}),
            conflicts: vec![],
            resume: None,
        });
    }
    let last = tx
        .fetch_optional(
            "SELECT acknowledged_by, acknowledged_at FROM capacity_alerts \
             WHERE event_id = $1 AND acknowledged_at IS NOT NULL ORDER BY acknowledged_at DESC LIMIT 1",
            &[Val::Uuid(event)],
        )
        .await?;
    let why = match last {
        Some(r) => format!(
            "already acknowledged{}",
            by(r.text("acknowledged_by"), r.ts("acknowledged_at"))
        ),
        None => "no capacity alert is open for this event".to_string(),
    };
    Ok(conflict_only(json!({"event": event}), why))
}

// ---- the audit trail ----------------------------------------------------------------------

/// Writes the one `operator_actions` row of an action inside its transaction.
pub async fn audit(
    tx: &mut Tx,
    ctx: &ActionCtx,
    action: &Action,
    now: DateTime<Utc>,
    before: &Json,
    after: &Json,
    outcome: Outcome,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    tx.execute(
        AUDIT_SQL,
        &audit_args(id, ctx, action, now, before, after, outcome),
    )
    .await?;
    Ok(id)
}

const AUDIT_SQL: &str = "INSERT INTO operator_actions (id, at, operator, origin, action, target_type, \
     target_id, before, after, note, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8{json}, $9{json}, $10, $11)";

fn audit_args(
    id: Uuid,
    ctx: &ActionCtx,
    action: &Action,
    now: DateTime<Utc>,
    before: &Json,
    after: &Json,
    outcome: Outcome,
) -> Vec<Val> {
    vec![
        Val::Uuid(id),
        Val::Ts(now),
        Val::Text(ctx.actor.operator.clone()),
        Val::OptText(Some(ctx.actor.origin.clone())),
        Val::Text(action.name().into()),
        Val::Text(action.target_type().into()),
        Val::OptText(action.target_id()),
        Val::Json(before.clone()),
        Val::Json(after.clone()),
        Val::OptText(action.note()),
        Val::Text(outcome.as_str().into()),
    ]
}

/// An audit row on its own (for an action that failed before it could commit, and for n8n
/// actions, which are not database transactions).
pub(crate) async fn audit_alone(
    store: &Store,
    ctx: &ActionCtx,
    action: &Action,
    now: DateTime<Utc>,
    before: Json,
    after: Json,
    outcome: Outcome,
) -> Option<Uuid> {
    let id = Uuid::now_v7();
    store
        .db
        .execute(
            AUDIT_SQL,
            &audit_args(id, ctx, action, now, &before, &after, outcome),
        )
        .await
        .ok()
        .map(|_| id)
}

/// Whether the connected role may change the action tables (Postgres: `has_table_privilege`
/// UPDATE on each). SQLite files are writable when opened.
pub async fn can_act(store: &Store) -> Result<bool, sqlx::Error> {
    if store.db.pg_pool().is_none() {
        return Ok(true);
    }
    let r = store
        .db
        .fetch_one(
            "SELECT bool_and(has_table_privilege(current_user, t, 'UPDATE')) \
               AND has_table_privilege(current_user, 'operator_actions', 'INSERT') AS ok \
             FROM unnest(ARRAY['workflows', 'job_queue', 'workflow_executions', \
               'approval_requests', 'rate_negotiations', 'reconciliation_discrepancies', \
               'capacity_alerts']) AS t",
            &[],
        )
        .await?;
    Ok(r.bool("ok").unwrap_or(false))
}
