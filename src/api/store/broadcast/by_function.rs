//! Broadcasts on a Postgres database migrated (or adopted) by opsdeck: each write is one call to
//! the database's `opsdeck_broadcast_*()` functions (migration 0012), which check the login's
//! role (and, where roles decide, the four-eyes rule by login and that a test reaches test
//! recipients only), make the change and write the audit row. The login needs no write rights.
//! The audience is planned here as on the Rust path; the reports are built the same way.

use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::db_err;
use crate::api::db::Val;
use crate::api::store::Store;
use crate::domain::action::Actor;
use crate::domain::broadcast::{Decision, Preview, SendReport};
use crate::domain::sanitize::clean;

/// One call in its own transaction; the function's answer.
async fn call(store: &Store, sql: &str, args: &[Val]) -> Result<Json, String> {
    let mut tx = store.db.begin().await.map_err(db_err)?;
    let r = match tx.fetch_one(sql, args).await {
        Ok(r) => r.json("r").unwrap_or(Json::Null),
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(db_err(e));
        }
    };
    tx.commit().await.map_err(db_err)?;
    Ok(r)
}

fn text(v: &Json, k: &str) -> String {
    clean(v[k].as_str().unwrap_or_default())
}

pub(super) async fn send(
    store: &Store,
    actor: &Actor,
    p: &Preview,
    id: Uuid,
) -> Result<SendReport, String> {
    let payload = json!({
        "id": id,
        "idempotency_key": p.idempotency_key.to_string(),
        "level": p.level.as_str(),
        "scope": p.scope.kind(),
        "event_id": p.scope.event_id(),
        "venue_name": p.venue_name,
        "message": p.message,
        "test": p.test,
        "channels": p.channels.as_ref().map(|c| {
            c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
        }),
        "follow_up_of": p.follow_up_of,
        "reached": p.plan.reached,
        "unreachable": p.plan.unreachable.len(),
        "duplicates": p.plan.duplicates,
        "needs_approval": p.needs_approval,
        "new_people": p.new_people.iter().map(|n| json!({
            "id": n.id, "name": n.name, "phone": n.phone, "email": n.email,
            "primary_channel": n.primary_channel,
        })).collect::<Vec<_>>(),
        "deliveries": p.plan.deliveries.iter()
            .map(|d| json!([d.person_id, d.channel.as_str()]))
            .collect::<Vec<_>>(),
        "after": {
            "level": p.level, "scope": p.scope.kind(), "target": p.scope.label(),
            "test": p.test, "deliveries": p.plan.deliveries.len(),
            "by_channel": p.plan.by_channel,
            "unreachable": p.plan.unreachable.len(), "duplicates": p.plan.duplicates,
            "idempotency_key": p.idempotency_key, "follow_up_of": p.follow_up_of,
        },
    });
    let r = call(
        store,
        "SELECT opsdeck_broadcast_send($1{json}, $2, $3) AS r",
        &[
            Val::Json(payload),
            Val::Text(actor.operator.clone()),
            Val::Text(actor.origin.clone()),
        ],
    )
    .await
    .map_err(|e| format!("nothing was sent: {e}"))?;
    match r["outcome"].as_str() {
        Some("ok") => {}
        Some("replay") => return super::send::replay(store, p).await,
        Some("denied") => {
            return Err(format!(
                "denied — {}: nothing was sent",
                text(&r, "message")
            ));
        }
        _ => return Err(format!("nothing was sent: unexpected answer {r}")),
    }
    let audit_id = r["audit_id"].as_str().and_then(|s| s.parse().ok());
    Ok(super::send::sent_report(p, id, audit_id))
}

/// `verb`: approve, cancel or cancel_waiting.
pub(super) async fn decide(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    verb: &str,
) -> Result<Decision, String> {
    let r = call(
        store,
        "SELECT opsdeck_broadcast_decide($1, $2, $3, $4) AS r",
        &[
            Val::Uuid(id),
            Val::Text(verb.into()),
            Val::Text(actor.operator.clone()),
            Val::Text(actor.origin.clone()),
        ],
    )
    .await?;
    let outcome = match r["outcome"].as_str() {
        Some("ok") => "ok",
        Some("conflict") => "conflict",
        Some("denied") => "denied",
        _ => "error",
    };
    let message = if outcome == "denied" {
        format!("denied — {}", text(&r, "message"))
    } else {
        text(&r, "message")
    };
    let n = |k: &str| r[k].as_u64().unwrap_or(0) as usize;
    let mut d = Decision::new(outcome, id, message);
    d.deliveries = n("deliveries");
    d.stopped = n("stopped");
    d.already_out = n("already_out");
    d.in_flight = n("in_flight");
    Ok(d)
}

/// Failed deliveries back to queued: how many (0: nothing failed); Err when denied.
pub(super) async fn retry_failed(store: &Store, actor: &Actor, id: Uuid) -> Result<usize, String> {
    let r = call(
        store,
        "SELECT opsdeck_broadcast_retry($1, $2, $3) AS r",
        &[
            Val::Uuid(id),
            Val::Text(actor.operator.clone()),
            Val::Text(actor.origin.clone()),
        ],
    )
    .await?;
    match r["outcome"].as_str() {
        Some("denied") => Err(format!("denied — {}", text(&r, "message"))),
        _ => Ok(r["n"].as_u64().unwrap_or(0) as usize),
    }
}

pub(super) async fn claim_webhook(store: &Store, id: Uuid) -> super::Claim {
    match call(
        store,
        "SELECT opsdeck_broadcast_claim_webhook($1) AS r",
        &[Val::Uuid(id)],
    )
    .await
    {
        Ok(r) if r["body"].is_object() => super::Claim::Body(r["body"].clone()),
        Ok(r) => super::Claim::Skip(text(&r, "skip")),
        Err(e) => super::Claim::Failed(e),
    }
}

pub(super) async fn record_webhook(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    ok: bool,
    error: Option<String>,
    after: Json,
) {
    let r = store
        .db
        .execute(
            "SELECT opsdeck_broadcast_record_webhook($1, $2, $3, $4{json}, $5, $6)",
            &[
                Val::Uuid(id),
                Val::Bool(ok),
                Val::OptText(error),
                Val::Json(after),
                Val::Text(actor.operator.clone()),
                Val::Text(actor.origin.clone()),
            ],
        )
        .await;
    if r.is_err() {
        tracing::warn!("broadcast {id}: webhook result not recorded");
    }
}

/// The levels the database holds for a second operator (`opsdeck broadcast rules`).
pub async fn rules(store: &Store) -> Result<Vec<String>, String> {
    let r = store
        .db
        .fetch_optional(
            "SELECT array_to_string(second_operator_for, ',') AS l FROM opsdeck_broadcast_rules",
            &[],
        )
        .await
        .map_err(db_err)?;
    Ok(r.map(|r| r.s("l"))
        .unwrap_or_default()
        .split(',')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Sets them (admin): the levels now held, or Err (denied, or an unknown level).
pub async fn set_rules(
    store: &Store,
    actor: &Actor,
    levels: &[String],
) -> Result<Vec<String>, String> {
    let r = call(
        store,
        "SELECT opsdeck_set_broadcast_rules(ARRAY(SELECT jsonb_array_elements_text($1{json})), \
         $2, $3) AS r",
        &[
            Val::Json(json!(levels)),
            Val::Text(actor.operator.clone()),
            Val::Text(actor.origin.clone()),
        ],
    )
    .await?;
    match r["outcome"].as_str() {
        Some("ok") => Ok(r["levels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()),
        _ => Err(format!("denied — {}", text(&r, "message"))),
    }
}

/// One test recipient the database holds (`opsdeck broadcast test-recipients`, migration 0013).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeldRecipient {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub added_by: Option<String>,
    pub added_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The test recipients the database holds, oldest first (None: this database predates them).
pub async fn test_recipients(store: &Store) -> Result<Option<Vec<HeldRecipient>>, String> {
    let has = store
        .db
        .fetch_one(
            "SELECT to_regclass('opsdeck_test_recipients') IS NOT NULL AS t",
            &[],
        )
        .await
        .map_err(db_err)?;
    if has.bool("t") != Some(true) {
        return Ok(None);
    }
    let rows = store
        .db
        .fetch_all(
            "SELECT name, phone, email, added_by, added_at FROM opsdeck_test_recipients \
             ORDER BY added_at, name",
            &[],
        )
        .await
        .map_err(db_err)?;
    Ok(Some(rows.iter().map(held_of).collect()))
}

fn held_of(r: &crate::api::db::DbRow) -> HeldRecipient {
    HeldRecipient {
        name: clean(&r.s("name")),
        phone: r.text("phone").map(|s| clean(&s)),
        email: r.text("email").map(|s| clean(&s)),
        added_by: r.text("added_by").map(|s| clean(&s)),
        added_at: r.ts("added_at"),
    }
}

/// Changes them (admin): empties the list when `clear`, removes the entries with a phone or
/// e-mail in `remove`, then adds `add` (name, phone, e-mail). The list now held, or Err.
pub async fn set_test_recipients(
    store: &Store,
    actor: &Actor,
    add: &[(String, Option<String>, Option<String>)],
    remove: &[String],
    clear: bool,
) -> Result<Vec<HeldRecipient>, String> {
    let add: Vec<Json> = add
        .iter()
        .map(|(n, p, e)| json!({"name": n, "phone": p, "email": e}))
        .collect();
    let r = call(
        store,
        "SELECT opsdeck_set_test_recipients($1{json}, \
         ARRAY(SELECT jsonb_array_elements_text($2{json})), $3, $4, $5) AS r",
        &[
            Val::Json(json!(add)),
            Val::Json(json!(remove)),
            Val::Bool(clear),
            Val::Text(actor.operator.clone()),
            Val::Text(actor.origin.clone()),
        ],
    )
    .await?;
    match r["outcome"].as_str() {
        Some("ok") => Ok(r["recipients"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| HeldRecipient {
                        name: text(x, "name"),
                        phone: x["phone"].as_str().map(clean),
                        email: x["email"].as_str().map(clean),
                        added_by: x["added_by"].as_str().map(clean),
                        added_at: x["added_at"]
                            .as_str()
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                            .map(|t| t.with_timezone(&chrono::Utc)),
                    })
                    .collect()
            })
            .unwrap_or_default()),
        _ => Err(format!("denied — {}", text(&r, "message"))),
    }
}
