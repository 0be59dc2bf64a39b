//! Operator actions, applied. Each one is a single transaction: a conditional update on the
//! state the operator saw (`… WHERE id = $1 AND status = 'failed'`) plus exactly one
//! `operator_actions` row, whatever the outcome. A lost race is a `Conflict` that names who got
//! there first; nothing is retried silently. The TUI and the CLI both come through `api::actions::execute`, which calls [`run`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::api::db::{Tx, Val, describe_sqlx};
use crate::api::store::{Query, Store};
use crate::domain::action::{Action, ActionReport, Actor, Outcome};
use crate::domain::sanitize::clean;

mod approvals;
mod by_function;
mod jobs;
mod recon;
mod runs;
mod workflows;

use approvals::{decide, resend};
pub(in crate::api) use approvals::{decision_body, record_resume};
pub use by_function::acts_by_function;
pub use jobs::count_failed;
use jobs::{jobs_by_id, retry_failed};
use recon::{ack, resolve};
use runs::{cancel_run, retry_run};
use workflows::pause_resume;
pub(in crate::api) use workflows::{cancelled_in_n8n, n8n_targets, record_n8n};

/// The change one transaction made (or why it did not).
pub(super) struct Applied {
    pub(super) changed: u64,
    pub(super) conflicts: Vec<String>,
    pub(super) before: Json,
    pub(super) after: Json,
    /// For an ok decision with a resume_url: call it after the commit.
    pub(super) resume: Option<Resume>,
    /// The change must not stand (a bulk retry matched more jobs than the operator confirmed):
    /// roll it back and record a conflict.
    pub(super) rollback: bool,
}

pub(super) struct Resume {
    pub(super) request: Uuid,
    pub(super) url: String,
    pub(super) body: Json,
    /// The claim this POST made (`resume_attempt_at`): a failure is written back only while the
    /// claim is still this one (a resend after the stale delay may have taken over).
    pub(super) claimed_at: DateTime<Utc>,
}

/// An ok decision's call to n8n, for after the commit: where, what, the claim it made, and
/// the audit row to complete with how it went.
pub(in crate::api) struct ResumeCall {
    pub request: Uuid,
    pub url: String,
    pub body: Json,
    pub claimed_at: DateTime<Utc>,
    pub audit_id: Uuid,
    pub after: Json,
}

/// Applies a database `action` in one transaction with its audit row (validated and not an
/// n8n action: see `api::actions::execute`). Never panics on bad input; the report says what
/// happened. An ok decision with a resume_url also returns the call to make after the commit.
pub(in crate::api) async fn run(
    store: &Store,
    actor: &Actor,
    action: &Action,
) -> (ActionReport, Option<ResumeCall>) {
    // a database migrated by opsdeck acts through its own function, which checks the role
    match acts_by_function(store).await {
        Ok(true) => return by_function::run(store, actor, action).await,
        Ok(false) => {}
        Err(e) => return (ActionReport::error(action.name(), describe_sqlx(&e)), None),
    }
    let name = action.name();
    let now = Utc::now();
    let (mut tx, xid) = match open(store, name).await {
        Ok(t) => t,
        Err(r) => return (r, None),
    };
    let applied = match limits(&mut tx, store).await {
        Ok(()) => apply(&mut tx, actor, action, now).await,
        Err(e) => Err(e),
    };
    let applied = match applied {
        Ok(a) if a.rollback => {
            // nothing of the change stands; the attempt is still on record
            let _ = tx.rollback().await;
            let why = a.conflicts.first().cloned().unwrap_or_default();
            let audit_id = audit_alone(
                store,
                actor,
                action,
                now,
                a.before,
                a.after,
                Outcome::Conflict,
            )
            .await;
            let report = ActionReport {
                action: name,
                outcome: Outcome::Conflict,
                message: why,
                changed: 0,
                conflicts: a.conflicts,
                audit_id,
                warning: None,
            };
            return (report, None);
        }
        Ok(a) => a,
        Err(e) => {
            let _ = tx.rollback().await;
            let msg = action_error(&e);
            // the change did not happen; record the attempt when the database still answers
            let report = format!("{}: {msg}", action.summary());
            return (
                not_applied(store, actor, action, now, msg, report).await,
                None,
            );
        }
    };
    let outcome = if applied.changed > 0 {
        Outcome::Ok
    } else {
        Outcome::Conflict
    };
    let audit_id = match audit(
        &mut tx,
        actor,
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
            return (ActionReport::error(name, describe_sqlx(&e)), None);
        }
    };
    if let Err(r) = commit_settled(store, tx, xid, actor, action, now).await {
        return (r, None);
    }
    let report = ActionReport {
        action: name,
        outcome,
        message: message(action, &applied),
        changed: applied.changed,
        conflicts: applied.conflicts.clone(),
        audit_id: Some(audit_id),
        warning: None,
    };
    let call = applied.resume.map(|r| ResumeCall {
        request: r.request,
        url: r.url,
        body: r.body,
        claimed_at: r.claimed_at,
        audit_id,
        after: applied.after,
    });
    (report, call)
}

/// Opens an action's transaction with (Postgres) its id, so that a COMMIT whose answer is lost
/// can be settled afterwards (`txid_status`) instead of leaving the operator to guess.
pub(super) async fn open(
    store: &Store,
    name: &'static str,
) -> Result<(Tx, Option<i64>), ActionReport> {
    let mut tx = store
        .db
        .begin()
        .await
        .map_err(|e| ActionReport::error(name, describe_sqlx(&e)))?;
    match xact_id(store, &mut tx).await {
        Ok(x) => Ok((tx, x)),
        Err(e) => {
            let _ = tx.rollback().await;
            Err(ActionReport::error(name, describe_sqlx(&e)))
        }
    }
}

/// Commits an action's transaction. A failed COMMIT is ambiguous when the connection dropped:
/// the server may have committed before the answer was lost. Ask the database which it was;
/// only when it cannot tell, say so rather than claim either way (the audit row, written in the
/// same transaction, tells which). Err: the report to give instead.
pub(super) async fn commit_settled(
    store: &Store,
    tx: Tx,
    xid: Option<i64>,
    actor: &Actor,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<(), ActionReport> {
    let Err(e) = tx.commit().await else {
        return Ok(());
    };
    match commit_status(store, xid).await {
        // it was applied: report it as such (one audit row, the one just committed)
        Some(true) => Ok(()),
        Some(false) => {
            let msg = describe_sqlx(&e);
            let report = format!(
                "{}: not applied — the connection was lost before the commit ({msg})",
                action.summary()
            );
            let err = format!("not committed: {msg}");
            Err(not_applied(store, actor, action, now, err, report).await)
        }
        None => Err(ActionReport::error(
            action.name(),
            format!(
                "{}: the commit failed ({}); if the connection dropped it may have been applied — check the Audit view before retrying",
                action.summary(),
                describe_sqlx(&e)
            ),
        )),
    }
}

/// How long an action waits for a row another transaction holds, and how long any one of its
/// statements may run (Postgres). Without them an action behind a stuck transaction hangs the
/// operator's dialog for ever.
pub const LOCK_TIMEOUT_SECS: u64 = 5;
pub const STATEMENT_TIMEOUT_SECS: u64 = 60;

async fn limits(tx: &mut Tx, store: &Store) -> Result<(), sqlx::Error> {
    if store.db.pg_pool().is_none() {
        return Ok(());
    }
    tx.execute(
        &format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECS}s'"),
        &[],
    )
    .await?;
    tx.execute(
        &format!("SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT_SECS}s'"),
        &[],
    )
    .await?;
    Ok(())
}

/// An action's database error in the operator's words.
fn action_error(e: &sqlx::Error) -> String {
    let code = match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.to_string()),
        _ => None,
    };
    match code.as_deref() {
        Some("55P03") => format!(
            "another transaction holds the row (waited {LOCK_TIMEOUT_SECS} s); nothing changed — try again"
        ),
        Some("57014") => format!(
            "the change took longer than {STATEMENT_TIMEOUT_SECS} s and was cancelled; nothing changed"
        ),
        Some("40P01") => "deadlock with another transaction; nothing changed — try again".into(),
        _ => describe_sqlx(e),
    }
}

/// An action that did not happen: its `error` audit row (when the database still answers) and
/// the report saying so.
async fn not_applied(
    store: &Store,
    actor: &Actor,
    action: &Action,
    now: DateTime<Utc>,
    error: String,
    report: String,
) -> ActionReport {
    let audit_id = audit_alone(
        store,
        actor,
        action,
        now,
        json!(null),
        json!({"error": error}),
        Outcome::Error,
    )
    .await;
    let mut r = ActionReport::error(action.name(), report);
    r.audit_id = audit_id;
    r
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
    // bounded as a whole: with the database unreachable each try could wait for a connection
    tokio::time::timeout(Duration::from_secs(8), settle(store, xid))
        .await
        .ok()
        .flatten()
}

async fn settle(store: &Store, xid: i64) -> Option<bool> {
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
        Action::N8nSetActive { .. }
        | Action::N8nRetry { .. }
        | Action::N8nRetryMany { .. }
        | Action::AlertAct { .. } => action.summary(),
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
    actor: &Actor,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    let op = &actor.operator;
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
        Action::ResendDecision { request, .. } => resend(tx, *request, now).await,
        Action::Resolve {
            discrepancy,
            ignore,
            note,
            ..
        } => resolve(tx, op, *discrepancy, *ignore, note, now).await,
        Action::AckCapacity { event, .. } => ack(tx, op, *event, now).await,
        Action::N8nSetActive { .. } | Action::N8nRetry { .. } | Action::N8nRetryMany { .. } => Err(
            sqlx::Error::Protocol("n8n actions do not run in a database transaction".into()),
        ),
        Action::AlertAct { .. } => Err(sqlx::Error::Protocol(
            "alert actions run through api::store::alerts".into(),
        )),
    }
}

// ---- who got there first -------------------------------------------------------------------

pub(super) fn at(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| format!(" at {}", t.format("%H:%M UTC")))
        .unwrap_or_default()
}

pub(super) fn by(who: Option<String>, when: Option<DateTime<Utc>>) -> String {
    match who {
        Some(w) => format!(" by {}{}", clean(&w), at(when)),
        None => at(when),
    }
}

/// The last successful operator action on a target ("by maya@ops at 03:12 UTC"), or "".
/// Only an action at or after `since` (the row's `updated_at`) counts: an older one did not make
/// the row what it is now (something else changed it since), so naming it would mis-credit.
pub(super) async fn last_actor(
    tx: &mut Tx,
    target: &Uuid,
    actions: &[&str],
    since: Option<DateTime<Utc>>,
) -> Result<String, sqlx::Error> {
    let mut q = Query::new("SELECT operator, at FROM operator_actions");
    q.and("target_id = ?", [Val::Text(target.to_string())])
        .and("outcome = 'ok'", [])
        .and_opt("at >= ?", since.map(Val::Ts));
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
pub(super) fn conflict_only(before: Json, why: String) -> Applied {
    Applied {
        changed: 0,
        before,
        after: json!({"conflict": why}),
        conflicts: vec![why],
        resume: None,
        rollback: false,
    }
}

// ---- the audit trail ----------------------------------------------------------------------

/// Writes the one `operator_actions` row of an action inside its transaction.
pub async fn audit(
    tx: &mut Tx,
    actor: &Actor,
    action: &Action,
    now: DateTime<Utc>,
    before: &Json,
    after: &Json,
    outcome: Outcome,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    tx.execute(
        AUDIT_SQL,
        &audit_args(id, actor, action, now, before, after, outcome),
    )
    .await?;
    Ok(id)
}

const AUDIT_SQL: &str = "INSERT INTO operator_actions (id, at, operator, origin, action, target_type, \
     target_id, before, after, note, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8{json}, $9{json}, $10, $11)";

fn audit_args(
    id: Uuid,
    actor: &Actor,
    action: &Action,
    now: DateTime<Utc>,
    before: &Json,
    after: &Json,
    outcome: Outcome,
) -> Vec<Val> {
    vec![
        Val::Uuid(id),
        Val::Ts(now),
        Val::Text(actor.operator.clone()),
        Val::OptText(Some(actor.origin.clone())),
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
pub(in crate::api) async fn audit_alone(
    store: &Store,
    actor: &Actor,
    action: &Action,
    now: DateTime<Utc>,
    before: Json,
    after: Json,
    outcome: Outcome,
) -> Option<Uuid> {
    if acts_by_function(store).await.unwrap_or(false) {
        // the database names the login and checks it may (an n8n action it may not do is
        // recorded as denied)
        let r = store
            .db
            .fetch_one(
                "SELECT opsdeck_audit($1{json}, $2, $3, $4, $5{json}, $6{json})::text AS id",
                &[
                    Val::Json(by_function::payload(action)),
                    Val::Text(actor.operator.clone()),
                    Val::Text(actor.origin.clone()),
                    Val::Text(outcome.as_str().into()),
                    Val::Json(before),
                    Val::Json(after),
                ],
            )
            .await
            .ok()?;
        return r.text("id").and_then(|s| s.parse().ok());
    }
    let id = Uuid::now_v7();
    store
        .db
        .execute(
            AUDIT_SQL,
            &audit_args(id, actor, action, now, &before, &after, outcome),
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
               AND has_table_privilege(current_user, 'operator_actions', 'INSERT') \
               AND has_table_privilege(current_user, 'workflow_executions', 'INSERT') AS ok \
             FROM unnest(ARRAY['workflows', 'job_queue', 'workflow_executions', \
               'approval_requests', 'rate_negotiations', 'reconciliation_discrepancies', \
               'capacity_alerts']) AS t",
            &[],
        )
        .await?;
    Ok(r.bool("ok").unwrap_or(false))
}

/// The last ok retry of n8n execution `id` on record: who, when, and its `after` (which holds
/// `retried_as`).
pub(in crate::api) async fn last_n8n_retry(
    store: &Store,
    id: &str,
) -> Result<Option<(String, Option<DateTime<Utc>>, Option<Json>)>, sqlx::Error> {
    Ok(store
        .db
        .fetch_optional(
            "SELECT operator, at, after FROM operator_actions WHERE target_type = 'n8n_execution' \
             AND target_id = $1 AND action = 'n8n.execution.retry' AND outcome = 'ok' \
             ORDER BY at DESC LIMIT 1",
            &[Val::Text(id.to_string())],
        )
        .await?
        .map(|r| (r.s("operator"), r.ts("at"), r.json("after"))))
}
