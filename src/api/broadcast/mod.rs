//! Emergency broadcasts, end to end: the database work is the store's
//! ([`crate::api::store::broadcast`]: audience, plan, fan-out, approvals, progress); this module
//! adds what is not a transaction — n8n's Emergency Broadcast System webhook, called after the
//! commit ([`webhook`]) — and is the one entry point the console and the CLI use.

mod webhook;

use uuid::Uuid;

use crate::api::store::Store;
use crate::api::store::broadcast::by_function::{self, HeldRecipient};
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

/// The levels the database holds for a second operator, whatever a console's configuration
/// says (None: this database has no such rules: SQLite, or not migrated by this opsdeck).
pub async fn rules(store: &Store) -> Result<Option<Vec<String>>, String> {
    if !crate::api::store::actions::acts_by_function(store)
        .await
        .map_err(|e| crate::api::db::describe_sqlx(&e))?
    {
        return Ok(None);
    }
    crate::api::store::broadcast::by_function::rules(store)
        .await
        .map(Some)
}

/// Sets them (needs opsdeck_admin where roles decide).
pub async fn set_rules(
    store: &Store,
    ctx: &BroadcastCtx,
    levels: &[String],
) -> Result<Vec<String>, String> {
    if rules(store).await?.is_none() {
        return Err("this database has no broadcast rules (a Postgres database migrated by this opsdeck has them; elsewhere use second_operator_for in the config)".into());
    }
    crate::api::store::broadcast::by_function::set_rules(store, &ctx.actor, levels).await
}

/// The test recipients the database holds (None: it holds none: SQLite, or not migrated by
/// this opsdeck). Where roles decide, a login short of opsdeck_broadcaster may test only to them.
pub async fn test_recipients(store: &Store) -> Result<Option<Vec<HeldRecipient>>, String> {
    if rules(store).await?.is_none() {
        return Ok(None);
    }
    by_function::test_recipients(store).await
}

/// Changes them (needs opsdeck_admin where roles decide): see
/// [`by_function::set_test_recipients`].
pub async fn set_test_recipients(
    store: &Store,
    ctx: &BroadcastCtx,
    add: &[(String, Option<String>, Option<String>)],
    remove: &[String],
    clear: bool,
) -> Result<Vec<HeldRecipient>, String> {
    if test_recipients(store).await?.is_none() {
        return Err("this database holds no test recipients (a Postgres database migrated by this opsdeck does; elsewhere they come from the config's [[broadcast.test_recipients]])".into());
    }
    by_function::set_test_recipients(store, &ctx.actor, add, remove, clear).await
}

/// Queues the failed deliveries of a broadcast again: see [`crate::api::store::broadcast::retry_failed`].
pub async fn retry_failed(store: &Store, ctx: &BroadcastCtx, id: Uuid) -> Result<usize, String> {
    crate::api::store::broadcast::retry_failed(store, &ctx.actor, id).await
}
