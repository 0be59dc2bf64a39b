//! Approval requests: the decision, and telling the waiting n8n run (resume_url), once.

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{Applied, Resume, ResumeCall, at, by, conflict_only};
use crate::api::db::{Tx, Val};
use crate::api::store::Store;
use crate::domain::sanitize::clean;

pub(super) async fn decide(
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
               resume_status = CASE WHEN resume_url IS NULL THEN NULL ELSE 'pending' END, \
               resume_attempt_at = CASE WHEN resume_url IS NULL THEN NULL ELSE $3 END \
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
        claimed_at: now,
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
        rollback: false,
    })
}

pub(in crate::api) fn decision_body(
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

pub(super) async fn resend(
    tx: &mut Tx,
    request: Uuid,
    now: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    // claim the request: a POST already under way (pending, and not stale) is not repeated, so
    // two operators resending at once make one POST
    let n = tx
        .execute(
            &format!(
                "UPDATE approval_requests SET resume_status = 'pending', resume_error = NULL, \
                   resume_attempt_at = $2 \
                 WHERE id = $1 AND status IN ('approved', 'rejected') AND resume_url IS NOT NULL \
                   AND (resume_status IS NULL OR resume_status = 'failed' OR {})",
                crate::api::store::stale_resume_sql("", "$3")
            ),
            &[
                Val::Uuid(request),
                Val::Ts(now),
                Val::Ts(now - crate::domain::action::RESUME_STALE),
            ],
        )
        .await?;
    let cur = tx
        .fetch_optional(
            "SELECT status, decided_by, decision_note, resume_url, resume_status, resumed_at, \
               resume_attempt_at, execution_id FROM approval_requests WHERE id = $1",
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
        } else if cur.text("resume_status").as_deref() == Some("pending")
            && matches!(cur.s("status").as_str(), "approved" | "rejected")
        {
            format!(
                "n8n is being told right now (started{}); wait for its answer",
                at(cur.ts("resume_attempt_at"))
            )
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
            claimed_at: now,
        }),
        rollback: false,
    })
}

/// How the call to n8n went (`failure` None: told): on the request (told is told, whoever
/// claimed last; a failure only while the claim is still this call's) and in the action's
/// audit row.
pub(in crate::api) async fn record_resume(store: &Store, call: &ResumeCall, failure: Option<&str>) {
    if super::acts_by_function(store).await.unwrap_or(false) {
        // the login has no UPDATE rights here: the database records it, for this login's own
        // decision only
        let _ = store
            .db
            .execute(
                "SELECT opsdeck_record_resume($1, $2, $3)",
                &[
                    Val::Uuid(call.audit_id),
                    Val::Ts(call.claimed_at),
                    Val::OptText(failure.map(str::to_string)),
                ],
            )
            .await;
        return;
    }
    let now = Utc::now();
    let (state, told) = match failure {
        None => ("told", json!("told")),
        Some(f) => ("failed", json!(format!("not told: {f}"))),
    };
    let _ = store
        .db
        .execute(
            "UPDATE approval_requests SET resume_status = $1, resume_error = $2, resumed_at = $3 \
             WHERE id = $4 AND COALESCE(resume_status, '') <> 'told' \
               AND ($1 = 'told' OR resume_attempt_at = $5)",
            &[
                Val::Text(state.into()),
                Val::OptText(failure.map(str::to_string)),
                Val::OptTs(failure.is_none().then_some(now)),
                Val::Uuid(call.request),
                Val::Ts(call.claimed_at),
            ],
        )
        .await;
    let mut after = call.after.clone();
    if let Some(m) = after.as_object_mut() {
        m.insert("n8n".into(), told);
    }
    let _ = store
        .db
        .execute(
            "UPDATE operator_actions SET after = $1{json} WHERE id = $2",
            &[Val::Json(after), Val::Uuid(call.audit_id)],
        )
        .await;
}
