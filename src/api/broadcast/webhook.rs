//! The n8n Emergency Broadcast System webhook (seed 000 phase 5): `POST {n8n}/webhook/
//! emergency-broadcast` with `X-Emergency-Auth` and `{level, scope, event_id, venue_name,
//! message, triggered_by, idempotency_key}`, after the commit, with a timeout. The call is
//! claimed first and its result is written on the broadcast row and audited
//! (`broadcast.webhook`), failures included — both through the store.

use uuid::Uuid;

use super::BroadcastCtx;
use crate::api::store::Store;
use crate::api::store::broadcast::{Claim, claim_webhook, record_webhook};
use crate::config::redact_in;
use crate::domain::broadcast::WebhookResult;

/// Calls the configured webhook for broadcast `id` and records the result. None when no
/// webhook is configured.
pub async fn call_webhook(store: &Store, ctx: &BroadcastCtx, id: Uuid) -> Option<WebhookResult> {
    let url = ctx.cfg.webhook_url.clone()?;
    let result = match claim_webhook(store, id).await {
        Claim::Skip(why) => {
            return Some(WebhookResult {
                ok: false,
                status: None,
                message: why,
            });
        }
        Claim::Body(body) => post(ctx, &url, &body).await,
        Claim::Failed(why) => WebhookResult {
            ok: false,
            status: None,
            message: why,
        },
    };
    record_webhook(store, &ctx.actor, id, &result).await;
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
