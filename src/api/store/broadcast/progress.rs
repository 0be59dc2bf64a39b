//! After the send: progress per channel, the failed deliveries with their reasons, a retry of
//! the failures (new jobs, audited) and a follow-up (all-clear / correction) to the same people.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::sql::{audit, insert_jobs, job_targets, workflow_id};
use super::{db_err, person_of, workflow_state};
use crate::api::db::Val;
use crate::api::store::Store;
use crate::domain::action::Actor;
use crate::domain::action::Outcome;
use crate::domain::broadcast::{
    Channel, ChannelProgress, FailedDelivery, Level, Preview, Progress, Scope, plan, segments,
    validate_message,
};
use crate::domain::idem::IdemKey;

pub async fn progress(store: &Store, id: Uuid) -> Result<Progress, String> {
    let b = store
        .db
        .fetch_optional(
            "SELECT b.id, b.level, b.scope, b.venue_name, b.message, b.status, b.test, b.triggered_by, \
               b.created_at, b.completed_at, b.approved_by, b.webhook_status, b.webhook_error, e.name AS event_name \
             FROM emergency_broadcasts b LEFT JOIN events e ON e.id = b.event_id WHERE b.id = $1",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?
        .ok_or_else(|| format!("no broadcast {id}"))?;
    let rows = store
        .db
        .fetch_all(
            "SELECT channel, status, count(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 \
             GROUP BY channel, status",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?;
    let mut by_channel: BTreeMap<String, ChannelProgress> = BTreeMap::new();
    for r in rows {
        let c = by_channel.entry(r.s("channel")).or_default();
        let n = r.n("n");
        match r.s("status").as_str() {
            "queued" => c.queued += n,
            "sent" => c.sent += n,
            "delivered" => c.delivered += n,
            "failed" => c.failed += n,
            _ => c.other += n,
        }
    }
    let failed = store
        .db
        .fetch_all(
            "SELECT d.id, d.channel, d.error, p.name, p.phone, p.email FROM broadcast_deliveries d \
             LEFT JOIN people p ON p.id = d.person_id \
             WHERE d.broadcast_id = $1 AND d.status = 'failed' ORDER BY p.name, d.id LIMIT 200",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|r| {
            let ch = r.s("channel");
            FailedDelivery {
                delivery_id: r.id("id"),
                address: if ch == "email" {
                    r.text("email")
                } else {
                    r.text("phone")
                }
                .unwrap_or_else(|| "(none)".into()),
                channel: ch,
                person: r.text("name").unwrap_or_else(|| "(unknown)".into()),
                error: r.text("error").unwrap_or_default(),
            }
        })
        .collect();
    let scope = b.s("scope");
    Ok(Progress {
        broadcast_id: id,
        level: b.s("level"),
        target: if scope == "event" {
            b.text("event_name").unwrap_or_default()
        } else {
            b.text("venue_name").unwrap_or_default()
        },
        scope,
        message: b.s("message"),
        status: b.s("status"),
        test: b.bool("test").unwrap_or(false),
        triggered_by: b.s("triggered_by"),
        created_at: b.ts("created_at"),
        completed_at: b.ts("completed_at"),
        approved_by: b.text("approved_by"),
        webhook_status: b.text("webhook_status"),
        webhook_error: b.text("webhook_error"),
        by_channel,
        failed,
    })
}

/// Puts the failed deliveries of a broadcast back to queued with new jobs, one transaction and
/// one audit row. Returns how many; 0 is a conflict (nothing failed).
pub(in crate::api) async fn retry_failed(
    store: &Store,
    actor: &Actor,
    id: Uuid,
) -> Result<usize, String> {
    if crate::api::store::actions::acts_by_function(store)
        .await
        .map_err(db_err)?
    {
        return super::by_function::retry_failed(store, actor, id).await;
    }
    let now = Utc::now();
    let mut tx = store.db.begin().await.map_err(db_err)?;
    // lock the broadcast first (the engine's order), reopen it if it had closed
    let open = tx
        .execute(
            "UPDATE emergency_broadcasts SET status = CASE WHEN status = 'queued' THEN 'queued' ELSE 'sending' END, \
               completed_at = NULL \
             WHERE id = $1 AND status IN ('queued', 'sending', 'sent', 'partially_failed', 'failed')",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?;
    let failed = if open == 0 {
        Vec::new()
    } else {
        tx.fetch_all(
            "SELECT id, channel FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'failed'",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?
    };
    if failed.is_empty() {
        let _ = tx.rollback().await;
        return Ok(0);
    }
    tx.execute(
        "UPDATE broadcast_deliveries SET status = 'queued', error = NULL, sent_at = NULL \
         WHERE broadcast_id = $1 AND status = 'failed'",
        &[Val::Uuid(id)],
    )
    .await
    .map_err(db_err)?;
    let jobs = job_targets(&failed);
    let wf = workflow_id(&mut tx).await.map_err(db_err)?;
    insert_jobs(&mut tx, id, &jobs, wf, now)
        .await
        .map_err(db_err)?;
    audit(
        &mut tx,
        actor,
        "broadcast.retry",
        id,
        now,
        json!({"failed": failed.len()}),
        json!({"queued": jobs.len()}),
        None,
        Outcome::Ok,
    )
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(jobs.len())
}

/// Prepares a follow-up to the people the original broadcast went to, at its level and on its
/// channels (a correction must reach everyone the mistake reached). Not subject to the
/// four-eyes rule: its audience was already sent to.
pub async fn follow_up(
    store: &Store,
    original: Uuid,
    message: &str,
    key: &IdemKey,
) -> Result<Preview, String> {
    let message = validate_message(message)?;
    let b = store
        .db
        .fetch_optional(
            "SELECT b.level, b.scope, b.event_id, b.venue_name, b.test, b.channels, b.status, e.name AS event_name \
             FROM emergency_broadcasts b LEFT JOIN events e ON e.id = b.event_id WHERE b.id = $1",
            &[Val::Uuid(original)],
        )
        .await
        .map_err(db_err)?
        .ok_or_else(|| format!("no broadcast {original}"))?;
    // a cancelled broadcast may have reached some people before the cancel: they (and only
    // they) get the follow-up, e.g. the correction of an alert stopped half-way
    let reached = store
        .db
        .fetch_one(
            "SELECT count(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 \
             AND status NOT IN ('held', 'cancelled')",
            &[Val::Uuid(original)],
        )
        .await
        .map_err(db_err)?
        .n("n");
    if b.s("status") == "awaiting_approval" || reached == 0 {
        return Err(format!(
            "broadcast {original} is {}: nothing was sent to follow up",
            b.s("status")
        ));
    }
    let level = Level::parse(&b.s("level"))?;
    let channels = b
        .text("channels")
        .map(|c| Channel::parse_list(&c))
        .transpose()?;
    let venue_name = b.text("venue_name").unwrap_or_default();
    let scope = match b.uuid("event_id") {
        Some(event_id) if b.s("scope") == "event" => Scope::Event {
            event_id,
            name: b.text("event_name").unwrap_or_default(),
        },
        _ => Scope::Venue {
            venue_name: venue_name.clone(),
        },
    };
    let people: Vec<_> = store
        .db
        .fetch_all(
            "SELECT p.id, p.name, p.phone, p.email, p.primary_channel FROM people p WHERE p.id IN \
             (SELECT person_id FROM broadcast_deliveries WHERE broadcast_id = $1 \
               AND status NOT IN ('held', 'cancelled')) ORDER BY p.id",
            &[Val::Uuid(original)],
        )
        .await
        .map_err(db_err)?
        .iter()
        .map(person_of)
        .collect();
    Ok(Preview {
        level,
        events: vec![scope.label().to_string()],
        scope,
        venue_name,
        segments: segments(&message),
        message,
        plan: plan(&people, level, channels.as_deref()),
        channels,
        test: b.bool("test").unwrap_or(false),
        idempotency_key: key.clone(),
        follow_up_of: Some(original),
        workflow: workflow_state(store).await?,
        needs_approval: false,
        new_people: Vec::new(),
    })
}
