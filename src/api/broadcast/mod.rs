//! Emergency broadcasts, end to end: the database work is the store's
//! ([`crate::api::store::broadcast`]: audience, plan, fan-out, approvals, progress); this module
//! adds what is not a transaction — n8n's Emergency Broadcast System webhook, called after the
//! commit ([`webhook`]) — and is the one entry point the console and the CLI use.

mod webhook;

use uuid::Uuid;

use crate::api::store::Store;
use crate::config::BroadcastConfig;
use crate::domain::action::Actor;
use crate::domain::broadcast::{Decision, Preview, SendReport};
use crate::domain::idem::IdemKey;

pub use crate::api::store::broadcast::{
    WORKFLOW, audience, awaiting, event_choices, follow_up, prepare, progress,
};
pub use webhook::call_webhook;

/// What broadcasts need besides the store.
#[derive(Debug, Clone)]
pub struct BroadcastCtx {
    pub actor: Actor,
    pub cfg: BroadcastConfig,
    pub http: reqwest::Client,
}

impl BroadcastCtx {
    pub fn new(actor: Actor, cfg: BroadcastConfig) -> Self {
        let http = crate::api::actions::http_client(cfg.timeout());
        BroadcastCtx { actor, cfg, http }
    }
}

/// A new idempotency key (for the compose screen, handed to the state by app.rs, or per CLI
/// run).
pub fn new_key() -> IdemKey {
    IdemKey::new(format!("bc-{}", Uuid::now_v7()))
}

/// Sends (or stores for approval) a prepared broadcast: exactly one broadcast per idempotency
/// key, whoever submits it and however often. Then the webhook triggers n8n's own broadcast:
/// never for a test, never before approval.
pub async fn send(store: &Store, ctx: &BroadcastCtx, p: &Preview) -> Result<SendReport, String> {
    let mut report = crate::api::store::broadcast::send(store, &ctx.actor, p).await?;
    let fresh = matches!(report.outcome, crate::domain::broadcast::SendOutcome::Sent);
    if fresh && !p.test && !p.needs_approval {
        report.webhook = call_webhook(store, ctx, report.broadcast_id).await;
    }
    Ok(report)
}

/// A second operator approves a broadcast waiting under the four-eyes rule (its deliveries are
/// queued in one transaction), then n8n's webhook is called.
pub async fn approve(store: &Store, ctx: &BroadcastCtx, id: Uuid) -> Result<Decision, String> {
    let mut d = crate::api::store::broadcast::approve(store, &ctx.actor, id).await?;
    if d.is_ok() {
        d.webhook = call_webhook(store, ctx, id).await;
    }
    Ok(d)
}

/// Cancels a broadcast (either operator): see [`crate::api::store::broadcast::cancel`].
pub async fn cancel(store: &Store, ctx: &BroadcastCtx, id: Uuid) -> Result<Decision, String> {
    crate::api::store::broadcast::cancel(store, &ctx.actor, id).await
}

/// Cancels a broadcast only while it awaits approval: see [`crate::api::store::broadcast::cancel_waiting`].
pub async fn cancel_waiting(
    store: &Store,
    ctx: &BroadcastCtx,
    id: Uuid,
) -> Result<Decision, String> {
    crate::api::store::broadcast::cancel_waiting(store, &ctx.actor, id).await
}

/// Queues the failed deliveries of a broadcast again: see [`crate::api::store::broadcast::retry_failed`].
pub async fn retry_failed(store: &Store, ctx: &BroadcastCtx, id: Uuid) -> Result<usize, String> {
    crate::api::store::broadcast::retry_failed(store, &ctx.actor, id).await
}
