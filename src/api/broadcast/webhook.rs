//! The n8n Emergency Broadcast System webhook (seed 000 phase 5): `POST {n8n}/webhook/
//! emergency-broadcast` with `X-Emergency-Auth` and `{level, scope, event_id, venue_name,
//! message, triggered_by, idempotency_key}`, after the commit, with a timeout. The result is
//! written on the broadcast row and audited (`broadcast.webhook`), failures included.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::BroadcastCtx;
use super::sql::audit;
use crate::api::db::Val;
use crate::api::store::Store;
use crate::config::redact_in;
use crate::domain::action::Outcome;
use crate::domain::broadcast::WebhookResult;

/// Calls the configured webhook for broadcast `id` and records the result. None when no
/// webhook is configured.
pub async fn call_webhook(store: &Store, ctx: &BroadcastCtx, id: Uuid) -> Option<WebhookResult> {
    let url = ctx.cfg.webhook_url.clone()?;
    // claim the call: never for a broadcast that is cancelled (or still waiting for its second
    // operator), and never twice — a cancel racing an approval cannot let n8n's own broadcast
    // go out afterwards
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
    if let Ok(None) = row {
        let why = match store
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
        };
        return Some(WebhookResult {
            ok: false,
            status: None,
            message: why,
        });
    }
    let result = match row {
        Ok(Some(r)) => {
            let body = json!({
                "level": r.s("level"),
                "scope": r.s("scope"),
                "event_id": r.uuid("event_id").map(|u| u.to_string()),
                "venue_name": r.text("venue_name"),
                "message": r.s("message"),
                "triggered_by": r.s("triggered_by"),
                "idempotency_key": r.s("idempotency_key"),
                "broadcast_id": id.to_string(),
            });
            post(ctx, &url, &body).await
        }
        Ok(None) => WebhookResult {
            ok: false,
            status: None,
            message: format!("broadcast {id} not found"),
        },
        Err(e) => WebhookResult {
            ok: false,
            status: None,
            message: crate::api::db::describe_sqlx(&e),
        },
    };
    record(store, ctx, id, &result).await;
    Some(result)
}

async fn post(ctx: &BroadcastCtx, url: &str, body: &serde_json::Value) -> WebhookResult {
    let timeout = ctx.cfg.timeout();
    let mut req = ctx.http.post(url).timeout(timeout).json(body);
    if let Some(auth) = ctx.cfg.auth() {
        req = req.header("X-Emergency-Auth", auth);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let message = match status {
                200..=299 => format!("n8n accepted the broadcast ({status})"),
                401 | 403 => format!(
                    "n8n refused the X-Emergency-Auth header ({status}): check webhook_auth / {}",
                    ctx.cfg
                        .webhook_auth_env
                        .as_deref()
                        .unwrap_or(crate::config::BroadcastConfig::DEFAULT_AUTH_ENV)
                ),
                404 => format!(
                    "n8n has no such webhook ({status}): is the Emergency Broadcast System workflow active in n8n?"
                ),
                s => format!("n8n answered {s}"),
            };
            WebhookResult {
                ok: (200..300).contains(&status),
                status: Some(status),
                message,
            }
        }
        Err(e) if e.is_timeout() => WebhookResult {
            ok: false,
            status: None,
            message: format!("n8n did not answer within {:.1}s", timeout.as_secs_f64()),
        },
        Err(e) => WebhookResult {
            ok: false,
            status: None,
            message: format!("n8n unreachable: {}", redact_in(&e.to_string())),
        },
    }
}

/// The result on the broadcast row and one audit row (best effort: the broadcast stands).
async fn record(store: &Store, ctx: &BroadcastCtx, id: Uuid, r: &WebhookResult) {
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
        &ctx.actor,
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
