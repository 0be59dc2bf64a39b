//! Actions on a Postgres database migrated by opsdeck: one call to the database's
//! `opsdeck_act()` (migration 0011), which checks the login's role, makes the change and writes
//! the audit row, as its owner. The login needs no UPDATE rights; a login that holds no opsdeck
//! role is judged by its table grants, as before roles. The transaction, its timeouts and the
//! settling of a lost COMMIT stay here, as for the Rust path.

use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{Applied, ResumeCall, action_error, limits, message};
use crate::api::db::Val;
use crate::api::store::Store;
use crate::domain::action::{Action, ActionReport, Actor, Outcome};
use crate::domain::sanitize::clean;

/// Whether this database acts through `opsdeck_act()` (Postgres, migrated or adopted by an
/// opsdeck that has it; SQLite and older adoptions act from Rust).
pub async fn acts_by_function(store: &Store) -> Result<bool, sqlx::Error> {
    if store.db.pg_pool().is_none() {
        return Ok(false);
    }
    let r = store
        .db
        .fetch_one(
            // unqualified: `opsdeck` first on the search path (an adopted database), else public
            "SELECT to_regprocedure('opsdeck_act(jsonb,text,text)') IS NOT NULL AS f",
            &[],
        )
        .await?;
    Ok(r.bool("f").unwrap_or(false))
}

/// The action as `opsdeck_act()` reads it: its serde form, plus the filter's words for a bulk
/// retry's messages, with the filter's moment at the microseconds Postgres keeps (as a bound
/// parameter would be).
pub(super) fn payload(action: &Action) -> Json {
    let mut p = serde_json::to_value(action).unwrap_or(Json::Null);
    if let (Action::RetryFailed { select, .. }, Some(m)) = (action, p.as_object_mut()) {
        m.insert("describe".into(), json!(select.describe()));
        if let (Some(t), Some(s)) = (
            select.failed_by,
            m.get_mut("select").and_then(Json::as_object_mut),
        ) {
            s.insert(
                "failed_by".into(),
                json!(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
            );
        }
    }
    p
}

pub(super) async fn run(
    store: &Store,
    actor: &Actor,
    action: &Action,
) -> (ActionReport, Option<ResumeCall>) {
    let name = action.name();
    let now = chrono::Utc::now();
    let (mut tx, xid) = match super::open(store, name).await {
        Ok(t) => t,
        Err(r) => return (r, None),
    };
    let res = match limits(&mut tx, store).await {
        Ok(()) => {
            tx.fetch_one(
                "SELECT opsdeck_act($1{json}, $2, $3) AS r",
                &[
                    Val::Json(payload(action)),
                    Val::Text(actor.operator.clone()),
                    Val::Text(actor.origin.clone()),
                ],
            )
            .await
        }
        Err(e) => Err(e),
    };
    let r = match res {
        Ok(row) => row.json("r").unwrap_or(Json::Null),
        Err(e) => {
            let _ = tx.rollback().await;
            let msg = action_error(&e);
            let report = format!("{}: {msg}", action.summary());
            return (
                super::not_applied(store, actor, action, now, msg, report).await,
                None,
            );
        }
    };
    if let Err(r) = super::commit_settled(store, tx, xid, actor, action, now).await {
        return (r, None);
    }
    report(action, &r)
}

/// The function's answer as the report (and the call to n8n an ok decision asks for).
fn report(action: &Action, r: &Json) -> (ActionReport, Option<ResumeCall>) {
    let name = action.name();
    let audit_id = r["audit_id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
    let outcome = match r["outcome"].as_str() {
        Some("ok") => Outcome::Ok,
        Some("conflict") => Outcome::Conflict,
        Some("denied") => Outcome::Denied,
        _ => {
            return (
                ActionReport::error(name, format!("unexpected answer from opsdeck_act: {r}")),
                None,
            );
        }
    };
    if outcome == Outcome::Denied {
        let why = clean(r["message"].as_str().unwrap_or("denied"));
        let report = ActionReport {
            action: name,
            outcome,
            message: format!("{}: denied — {why}", action.summary()),
            changed: 0,
            conflicts: vec![],
            audit_id,
            warning: None,
        };
        return (report, None);
    }
    let conflicts: Vec<String> = r["conflicts"]
        .as_array()
        .map(|a| a.iter().filter_map(Json::as_str).map(clean).collect())
        .unwrap_or_default();
    let applied = Applied {
        changed: r["changed"].as_u64().unwrap_or(0),
        conflicts,
        before: r["before"].clone(),
        after: r["after"].clone(),
        resume: None,
        rollback: r["rolled_back"].as_bool().unwrap_or(false),
    };
    let call = resume_call(action, r, audit_id, &applied.after);
    let report = ActionReport {
        action: name,
        outcome,
        message: message(action, &applied),
        changed: applied.changed,
        conflicts: applied.conflicts,
        audit_id,
        warning: None,
    };
    (report, call)
}

fn resume_call(
    action: &Action,
    r: &Json,
    audit_id: Option<Uuid>,
    after: &Json,
) -> Option<ResumeCall> {
    let res = r.get("resume").filter(|v| !v.is_null())?;
    let request = match action {
        Action::Decide { request, .. } | Action::ResendDecision { request, .. } => *request,
        _ => return None,
    };
    let claimed_at = res["claimed_at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())?
        .with_timezone(&chrono::Utc);
    let body = super::approvals::decision_body(
        request,
        res["status"].as_str().unwrap_or_default(),
        res["decided_by"].as_str().unwrap_or_default(),
        res["note"].as_str(),
        res["execution_id"].as_str().and_then(|s| s.parse().ok()),
    );
    Some(ResumeCall {
        request,
        url: res["url"].as_str()?.to_string(),
        body,
        claimed_at,
        audit_id: audit_id?,
        after: after.clone(),
    })
}
