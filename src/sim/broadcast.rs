//! Emergency broadcast deliveries (seed 000 phase 5). The console queues a broadcast, its
//! deliveries and one `broadcast.{sms,whatsapp,email,voice}` job per delivery with payload
//! `{"delivery_id", "broadcast_id"}`. Workers claim those jobs like any other; this module is
//! what the delivery does: on claim the delivery becomes `sent` (and a queued broadcast
//! `sending`, with a run of the Emergency Broadcast System workflow following it); when the job
//! ends, `delivered` or `failed`; when no delivery of a broadcast is left open, the broadcast
//! ends `sent`, `partially_failed` or `failed`.
//!
//! Concurrency: every transaction that changes deliveries first locks their broadcasts' rows (in
//! id order, so two workers cannot dead-lock), then checks "no delivery left open" in a later
//! statement: under READ COMMITTED it sees the other worker's committed deliveries, so the last
//! one to finish always closes the broadcast.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::batch::placeholders;
use super::catalog::ErrDef;
use super::queue::Claimed;
use crate::api::db::{Db, Tx, Val};
use crate::domain::broadcast::{valid_email, valid_phone};

/// What the worker needs to know to deliver one message.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub delivery_id: Uuid,
    pub broadcast_id: Uuid,
    pub channel: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub fn is_broadcast(job_type: &str) -> bool {
    job_type.starts_with("broadcast.")
}

fn payload_id(j: &Claimed, key: &str) -> Option<Uuid> {
    j.payload
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Locks broadcasts in a stable order (first statement of the transaction is a write).
async fn lock_broadcasts(tx: &mut Tx, ids: &BTreeSet<Uuid>) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut started = Vec::new();
    for b in ids {
        // queued → sending starts it; sending → sending just takes the row lock
        let n = tx
            .execute(
                "UPDATE emergency_broadcasts SET status = 'sending' WHERE id = $1 AND status = 'queued'",
                &[Val::Uuid(*b)],
            )
            .await?;
        if n == 1 {
            started.push(*b);
        } else {
            tx.execute(
                "UPDATE emergency_broadcasts SET status = status WHERE id = $1 AND status = 'sending'",
                &[Val::Uuid(*b)],
            )
            .await?;
        }
    }
    Ok(started)
}

/// Marks the claimed deliveries `sent`, starts their broadcasts, and reads who they go to.
/// Jobs whose payload names no delivery map to nothing (the worker fails them).
pub async fn on_claim(
    db: &Db,
    jobs: &[&Claimed],
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, Delivery>, sqlx::Error> {
    let mut by_delivery: HashMap<Uuid, Uuid> = HashMap::new(); // delivery → job
    let mut of_broadcast: HashMap<Uuid, Uuid> = HashMap::new(); // delivery → broadcast
    let mut broadcasts = BTreeSet::new();
    for j in jobs {
        if let (Some(d), Some(b)) = (payload_id(j, "delivery_id"), payload_id(j, "broadcast_id")) {
            by_delivery.insert(d, j.id);
            of_broadcast.insert(d, b);
            broadcasts.insert(b);
        }
    }
    if by_delivery.is_empty() {
        return Ok(HashMap::new());
    }
    let mut tx = db.begin().await?;
    let started = lock_broadcasts(&mut tx, &broadcasts).await?;
    // a broadcast cancelled since these jobs were queued (e.g. a retry claimed after the
    // cancel): its deliveries do not go out; job and delivery end cancelled
    let bids: Vec<Val> = broadcasts.iter().map(|b| Val::Uuid(*b)).collect();
    let cancelled: BTreeSet<Uuid> = tx
        .fetch_all(
            &format!(
                "SELECT id FROM emergency_broadcasts WHERE status = 'cancelled' AND id IN ({})",
                placeholders(1, bids.len())
            ),
            &bids,
        )
        .await?
        .iter()
        .map(|r| r.id("id"))
        .collect();
    if !cancelled.is_empty() {
        let stop: Vec<Uuid> = by_delivery
            .keys()
            .filter(|d| of_broadcast.get(d).is_some_and(|b| cancelled.contains(b)))
            .copied()
            .collect();
        let dargs: Vec<Val> = stop.iter().map(|d| Val::Uuid(*d)).collect();
        tx.execute(
            &format!(
                "UPDATE broadcast_deliveries SET status = 'cancelled', \
                   error = 'broadcast cancelled before this delivery went out' \
                 WHERE status = 'queued' AND id IN ({})",
                placeholders(1, stop.len())
            ),
            &dargs,
        )
        .await?;
        let mut jargs = vec![Val::Ts(now)];
        jargs.extend(
            stop.iter()
                .filter_map(|d| by_delivery.get(d))
                .map(|j| Val::Uuid(*j)),
        );
        tx.execute(
            &format!(
                "UPDATE job_queue SET status = 'cancelled', completed_at = $1, updated_at = $1, \
                   locked_by = NULL, error_message = 'broadcast cancelled' \
                 WHERE status = 'processing' AND id IN ({})",
                placeholders(2, jargs.len() - 1)
            ),
            &jargs,
        )
        .await?;
        for d in &stop {
            by_delivery.remove(d);
        }
    }
    if by_delivery.is_empty() {
        tx.commit().await?;
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = by_delivery.keys().copied().collect();
    for b in &started {
        start_run(&mut tx, *b, now).await?;
    }
    let mut args = vec![Val::Ts(now)];
    args.extend(ids.iter().map(|d| Val::Uuid(*d)));
    tx.execute(
        &format!(
            "UPDATE broadcast_deliveries SET status = 'sent', sent_at = $1 \
             WHERE status = 'queued' AND id IN ({})",
            placeholders(2, ids.len())
        ),
        &args,
    )
    .await?;
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT d.id, d.broadcast_id, d.channel, p.phone, p.email \
                 FROM broadcast_deliveries d LEFT JOIN people p ON p.id = d.person_id \
                 WHERE d.id IN ({})",
                placeholders(1, ids.len())
            ),
            &args[1..],
        )
        .await?;
    tx.commit().await?;
    let mut out = HashMap::new();
    for r in rows {
        let d = Delivery {
            delivery_id: r.id("id"),
            broadcast_id: r.id("broadcast_id"),
            channel: r.s("channel"),
            phone: r.text("phone"),
            email: r.text("email"),
        };
        if let Some(job) = by_delivery.get(&d.delivery_id) {
            out.insert(*job, d);
        }
    }
    Ok(out)
}

/// A run of the Emergency Broadcast System workflow that follows the broadcast (the run driver
/// completes it when the broadcast ends). No run when the workflow is absent or not active.
async fn start_run(tx: &mut Tx, broadcast: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let ctx = json!({ "broadcast_id": broadcast.to_string(), "next_at": now.to_rfc3339() });
    tx.execute(
        "INSERT INTO workflow_executions (id, workflow_id, status, started_at, event_id, steps_total, \
           steps_completed, current_step, context, updated_at) \
         SELECT $1, w.id, 'running', $2, b.event_id, 4, 0, 'validate_request', $3, $2 \
         FROM workflows w, emergency_broadcasts b \
         WHERE w.name = 'Emergency Broadcast System' AND w.status = 'active' AND b.id = $4",
        &[
            Val::Uuid(Uuid::new_v4()),
            Val::Ts(now),
            Val::Json(ctx),
            Val::Uuid(broadcast),
        ],
    )
    .await?;
    Ok(())
}

/// Whether the channel can reach this person at all (data-driven failures: they fail whatever
/// the failure scale).
pub fn unreachable(d: &Delivery) -> Option<ErrDef> {
    match d.channel.as_str() {
        "sms" | "whatsapp" | "voice" => match d.phone.as_deref() {
            Some(p) if valid_phone(p) => None,
            _ => Some(super::catalog::TWILIO_INVALID),
        },
        "email" => match d.email.as_deref() {
            Some(e) if valid_email(e) => None,
            _ => Some(("validation", "SendGrid 400: invalid recipient address")),
        },
        _ => Some(("validation", "unknown delivery channel")),
    }
}

/// How one delivery ended.
#[derive(Debug, Clone)]
pub enum DeliveryEnd {
    Delivered,
    /// Will be retried (the delivery goes back to queued with the error noted).
    Retrying(String),
    Failed(String),
}

/// Applies delivery outcomes inside the worker's completion transaction, then closes every
/// broadcast with no delivery left open.
pub async fn on_finish(
    tx: &mut Tx,
    results: &[(Delivery, DeliveryEnd)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if results.is_empty() {
        return Ok(());
    }
    let broadcasts: BTreeSet<Uuid> = results.iter().map(|(d, _)| d.broadcast_id).collect();
    lock_broadcasts(tx, &broadcasts).await?;
    let delivered: Vec<Val> = results
        .iter()
        .filter(|(_, o)| matches!(o, DeliveryEnd::Delivered))
        .map(|(d, _)| Val::Uuid(d.delivery_id))
        .collect();
    if !delivered.is_empty() {
        let mut args = vec![Val::Ts(now)];
        let n = delivered.len();
        args.extend(delivered);
        tx.execute(
            &format!(
                "UPDATE broadcast_deliveries SET status = 'delivered', error = NULL, \
                 sent_at = COALESCE(sent_at, $1) \
                 WHERE status IN ('queued', 'sent') AND id IN ({})",
                placeholders(2, n)
            ),
            &args,
        )
        .await?;
    }
    for (d, o) in results {
        let (status, err) = match o {
            DeliveryEnd::Delivered => continue,
            DeliveryEnd::Retrying(e) => ("queued", format!("retrying: {e}")),
            DeliveryEnd::Failed(e) => ("failed", e.clone()),
        };
        tx.execute(
            "UPDATE broadcast_deliveries SET status = $1, error = $2 \
             WHERE id = $3 AND status IN ('queued', 'sent')",
            &[
                Val::Text(status.into()),
                Val::Text(err),
                Val::Uuid(d.delivery_id),
            ],
        )
        .await?;
    }
    for b in &broadcasts {
        close_if_done(tx, *b, now).await?;
    }
    Ok(())
}

const CLOSE_SQL: &str = "UPDATE emergency_broadcasts SET \
       status = CASE \
         WHEN (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = $1 AND d.status = 'failed') = 0 THEN 'sent' \
         WHEN (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = $1 AND d.status = 'delivered') = 0 THEN 'failed' \
         ELSE 'partially_failed' END, \
       completed_at = $2 \
     WHERE id = $1 AND status IN ('queued', 'sending') \
       AND NOT EXISTS (SELECT 1 FROM broadcast_deliveries d WHERE d.broadcast_id = $1 \
                       AND d.status IN ('queued', 'sent'))";

/// Closes the broadcast when none of its deliveries is open; returns whether it did.
pub async fn close_if_done(tx: &mut Tx, b: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    Ok(tx.execute(CLOSE_SQL, &[Val::Uuid(b), Val::Ts(now)]).await? == 1)
}

/// Safety net (maintenance): broadcasts left `sending` with nothing open (e.g. a delivery job an
/// operator cancelled and its delivery failed by hand).
pub async fn sweep(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let rows = db
        .fetch_all(
            "SELECT id FROM emergency_broadcasts WHERE status = 'sending' ORDER BY created_at LIMIT 50",
            &[],
        )
        .await?;
    let mut n = 0;
    for r in rows {
        let mut tx = db.begin().await?;
        let id = r.id("id");
        tx.execute(
            "UPDATE emergency_broadcasts SET status = status WHERE id = $1 AND status = 'sending'",
            &[Val::Uuid(id)],
        )
        .await?;
        if close_if_done(&mut tx, id, now).await? {
            n += 1;
        }
        tx.commit().await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(valid_phone("+33 6 12 34 56 78"));
        assert!(valid_phone("+14155550123"));
        assert!(!valid_phone("555-0199"));
        assert!(!valid_phone("+33 6 12"));
        assert!(!valid_phone("+33 6 12 34 56 7x"));
    }
}
