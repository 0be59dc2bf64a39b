//! n8n's webhook call, the database part: the claim before the call (never for a cancelled
//! broadcast or one still waiting for its second operator, never twice) and the record of how
//! it went.

use chrono::Utc;
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::sql::audit;
use crate::api::db::Val;
use crate::api::store::Store;
use crate::domain::action::{Actor, Outcome};
use crate::domain::broadcast::WebhookResult;

/// What the claim of a webhook call found.
pub(in crate::api) enum Claim {
    /// Claimed: POST this body.
    Body(Json),
    /// Not to be called (cancelled, waiting, already called, unknown): why.
    Skip(String),
    /// The claim itself failed: why (recorded as the call's failure).
    Failed(String),
}

/// Claims the webhook call of broadcast `id`.
pub(in crate::api) async fn claim_webhook(store: &Store, id: Uuid) -> Claim {
    match crate::api::store::actions::acts_by_function(store).await {
        Ok(true) => return super::by_function::claim_webhook(store, id).await,
        Ok(false) => {}
        Err(e) => return Claim::Failed(crate::api::db::describe_sqlx(&e)),
    }
    // a cancel racing an approval cannot let n8n's own broadcast go out afterwards
    let row = store
        .db
        .fetch_optional(
            "UPDATE emergency_broadcasts SET webhook_status = 'calling' \
             WHERE id = $1 AND webhook_status IS NULL \
               AND status NOT IN ('cancelled', 'awaiting_approval') \
             RETURNING level, scope, event_id, venue_name, message, triggered_by, idempotency_key",
            &[Val::Uuid(id)],
        )
        .await;
    let row = match row {
        Ok(r) => r,
        Err(e) => return Claim::Failed(crate::api::db::describe_sqlx(&e)),
    };
    if let Some(r) = row {
        return Claim::Body(json!({
            "level": r.s("level"),
            "scope": r.s("scope"),
            "event_id": r.uuid("event_id").map(|u| u.to_string()),
            "venue_name": r.text("venue_name"),
            "message": r.s("message"),
            "triggered_by": r.s("triggered_by"),
            "idempotency_key": r.s("idempotency_key"),
            "broadcast_id": id.to_string(),
        }));
    }
    Claim::Skip(
        match store
            .db
            .fetch_optional(
                "SELECT status, webhook_status FROM emergency_broadcasts WHERE id = $1",
                &[Val::Uuid(id)],
            )
            .await
        {
            Ok(Some(r)) if r.text("webhook_status").is_some() => format!(
                "n8n not called again: its call is {}",
                r.s("webhook_status")
            ),
            Ok(Some(r)) => format!("n8n not called: the broadcast is {}", r.s("status")),
            Ok(None) => format!("broadcast {id} not found"),
            Err(e) => crate::api::db::describe_sqlx(&e),
        },
    )
}

/// The result on the broadcast row and one audit row (best effort: the broadcast stands).
pub(in crate::api) async fn record_webhook(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    r: &WebhookResult,
) {
    if crate::api::store::actions::acts_by_function(store)
        .await
        .unwrap_or(false)
    {
        let after = json!({"ok": r.ok, "status": r.status, "message": r.message});
        let error = (!r.ok).then(|| r.message.clone());
        return super::by_function::record_webhook(store, actor, id, r.ok, error, after).await;
    }
    let now = Utc::now();
    let Ok(mut tx) = store.db.begin().await else {
        return;
    };
    let upd = tx
        .execute(
            "UPDATE emergency_broadcasts SET webhook_status = $2, webhook_error = $3 WHERE id = $1",
            &[
                Val::Uuid(id),
                Val::Text(if r.ok { "ok" } else { "failed" }.into()),
                Val::OptText((!r.ok).then(|| r.message.clone())),
            ],
        )
        .await;
    let aud = audit(
        &mut tx,
        actor,
        "broadcast.webhook",
        id,
        now,
        json!(null),
        json!({"ok": r.ok, "status": r.status, "message": r.message}),
        None,
        if r.ok { Outcome::Ok } else { Outcome::Error },
    )
    .await;
    if upd.is_ok() && aud.is_ok() {
        let _ = tx.commit().await;
    } else {
        let _ = tx.rollback().await;
        tracing::warn!("broadcast {id}: webhook result not recorded");
    }
}
