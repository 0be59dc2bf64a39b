//! The fan-out: one transaction writes the broadcast row (idempotency key unique), one delivery
//! per person × channel, one delivery job per delivery and the operator_actions row. A broadcast
//! under the four-eyes rule is stored `awaiting_approval` with its deliveries `held` and no jobs;
//! [`approve`] (another operator) queues them, [`cancel`] drops them. n8n's webhook is called
//! after the commit by `api::broadcast`, not here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::db_err;
use super::sql::{
    audit, backend, insert_deliveries, insert_fan_out_pg, insert_jobs, job_targets, workflow_id,
};
use crate::api::db::{Backend, DbRow, Tx, Val};
use crate::api::store::Store;
use crate::domain::action::Actor;
use crate::domain::action::Outcome;
use crate::domain::broadcast::{Channel, Preview};
use crate::domain::broadcast::{Decision, SendOutcome, SendReport};

/// Sends (or stores for approval) a prepared broadcast. Exactly one broadcast per idempotency
/// key, whoever submits it and however often.
pub(in crate::api) async fn send(
    store: &Store,
    actor: &Actor,
    p: &Preview,
) -> Result<SendReport, String> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    if crate::api::store::actions::acts_by_function(store)
        .await
        .map_err(db_err)?
    {
        return super::by_function::send(store, actor, p, id).await;
    }
    let status = if p.needs_approval {
        "awaiting_approval"
    } else {
        "queued"
    };
    let mut tx = store.db.begin().await.map_err(db_err)?;
    let inserted = tx
        .execute(
            "INSERT INTO emergency_broadcasts (id, idempotency_key, level, scope, event_id, venue_name, \
               message, triggered_by, status, affected_count, test, created_at, channels, follow_up_of, \
               unreachable_count, duplicate_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (idempotency_key) DO NOTHING",
            &[
                Val::Uuid(id),
                Val::Text(p.idempotency_key.to_string()),
                Val::Text(p.level.as_str().into()),
                Val::Text(p.scope.kind().into()),
                Val::OptUuid(p.scope.event_id()),
                Val::OptText(Some(p.venue_name.clone())),
                Val::Text(p.message.clone()),
                Val::Text(actor.operator.clone()),
                Val::Text(status.into()),
                Val::I64(p.plan.reached as i64),
                Val::Bool(p.test),
                Val::Ts(now),
                Val::OptText(p.channels.as_ref().map(|c| {
                    c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
                })),
                Val::OptUuid(p.follow_up_of),
                Val::I64(p.plan.unreachable.len() as i64),
                Val::I64(p.plan.duplicates as i64),
            ],
        )
        .await
        .map_err(db_err)?;
    if inserted == 0 {
        let _ = tx.rollback().await;
        return replay(store, p).await;
    }
    let r = fan_out(&mut tx, actor, p, id, status, now).await;
    let audit_id = match r {
        Ok(a) => a,
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(format!("nothing was sent: {}", db_err(e)));
        }
    };
    tx.commit()
        .await
        .map_err(|e| format!("nothing was sent: {}", db_err(e)))?;
    Ok(sent_report(p, id, Some(audit_id)))
}

/// The report of a broadcast just written (queued, or waiting for its second operator).
pub(super) fn sent_report(p: &Preview, id: Uuid, audit_id: Option<Uuid>) -> SendReport {
    SendReport {
        outcome: if p.needs_approval {
            SendOutcome::AwaitingApproval
        } else {
            SendOutcome::Sent
        },
        broadcast_id: id,
        status: if p.needs_approval {
            "awaiting_approval"
        } else {
            "queued"
        }
        .into(),
        test: p.test,
        deliveries: p.plan.deliveries.len(),
        by_channel: p.plan.by_channel.clone(),
        unreachable: p.plan.unreachable.len(),
        duplicates: p.plan.duplicates,
        message: if p.needs_approval {
            format!("broadcast {id} waits for a second operator: opsdeck broadcast approve {id}")
        } else {
            format!(
                "broadcast {id} queued: {} deliveries",
                p.plan.deliveries.len()
            )
        },
        webhook: None,
        audit_id,
    }
}

async fn fan_out(
    tx: &mut Tx,
    actor: &Actor,
    p: &Preview,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    for np in &p.new_people {
        tx.execute(
            "INSERT INTO people (id, name, phone, email, primary_channel, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Val::Uuid(np.id),
                Val::Text(np.name.clone()),
                Val::OptText(np.phone.clone()),
                Val::OptText(np.email.clone()),
                Val::OptText(np.primary_channel.clone()),
                Val::Ts(now),
            ],
        )
        .await?;
    }
    let held = p.needs_approval;
    let n = p.plan.deliveries.len();
    if !held && backend(tx) == Backend::Postgres {
        let wf = workflow_id(tx).await?;
        let rows: Vec<(Uuid, Channel)> = p
            .plan
            .deliveries
            .iter()
            .map(|d| (d.person_id, d.channel))
            .collect();
        insert_fan_out_pg(tx, id, &rows, wf, now).await?;
    } else {
        let rows: Vec<(Uuid, Uuid, Channel)> = p
            .plan
            .deliveries
            .iter()
            .map(|d| (Uuid::new_v4(), d.person_id, d.channel))
            .collect();
        insert_deliveries(tx, id, &rows, if held { "held" } else { "queued" }).await?;
        if !held {
            let wf = workflow_id(tx).await?;
            let jobs: Vec<(Uuid, Channel)> = rows.iter().map(|(d, _, c)| (*d, *c)).collect();
            insert_jobs(tx, id, &jobs, wf, now).await?;
        }
    }
    audit(
        tx,
        actor,
        "broadcast.send",
        id,
        now,
        json!(null),
        json!({
            "status": status, "level": p.level, "scope": p.scope.kind(), "target": p.scope.label(),
            "test": p.test, "deliveries": n, "by_channel": p.plan.by_channel,
            "unreachable": p.plan.unreachable.len(), "duplicates": p.plan.duplicates,
            "idempotency_key": p.idempotency_key, "follow_up_of": p.follow_up_of,
        }),
        Some(p.message.clone()),
        Outcome::Ok,
    )
    .await
}

/// The key exists: the same broadcast again (a double submit, a retry after a lost connection)
/// answers with the first one; a different broadcast under that key is refused.
pub(super) async fn replay(store: &Store, p: &Preview) -> Result<SendReport, String> {
    let r = store
        .db
        .fetch_one(
            "SELECT id, level, scope, event_id, venue_name, message, test, status, \
               unreachable_count, duplicate_count FROM emergency_broadcasts WHERE idempotency_key = $1",
            &[Val::Text(p.idempotency_key.to_string())],
        )
        .await
        .map_err(db_err)?;
    let id = r.id("id");
    let same = r.s("level") == p.level.as_str()
        && r.s("scope") == p.scope.kind()
        && r.uuid("event_id") == p.scope.event_id()
        && r.s("message") == p.message
        && r.bool("test").unwrap_or(false) == p.test;
    let (deliveries, by_channel) = channel_counts(store, id).await?;
    let outcome = if same {
        SendOutcome::Replay
    } else {
        SendOutcome::KeyConflict
    };
    Ok(SendReport {
        outcome,
        broadcast_id: id,
        status: r.s("status"),
        test: r.bool("test").unwrap_or(false),
        deliveries,
        by_channel,
        unreachable: r.n("unreachable_count") as usize,
        duplicates: r.n("duplicate_count") as usize,
        message: if same {
            format!(
                "broadcast {id} was already submitted with key '{}': nothing sent again",
                p.idempotency_key
            )
        } else {
            format!(
                "key '{}' already belongs to broadcast {id}, a different broadcast: nothing sent",
                p.idempotency_key
            )
        },
        webhook: None,
        audit_id: None,
    })
}

/// Deliveries of a broadcast by channel (whatever their status).
pub(super) async fn channel_counts(
    store: &Store,
    id: Uuid,
) -> Result<(usize, BTreeMap<Channel, usize>), String> {
    let rows = store
        .db
        .fetch_all(
            "SELECT channel, count(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 GROUP BY channel",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?;
    let mut m = BTreeMap::new();
    let mut total = 0;
    for r in rows {
        if let Ok(c) = Channel::parse(&r.s("channel")) {
            m.insert(c, r.n("n") as usize);
        }
        total += r.n("n") as usize;
    }
    Ok((total, m))
}

/// Why a conditional update on a broadcast matched nothing.
async fn explain(tx: &mut Tx, id: Uuid, me: &str, approving: bool) -> Result<String, sqlx::Error> {
    let r = tx
        .fetch_optional(
            "SELECT status, triggered_by, approved_by, approved_at, cancelled_by, cancelled_at \
             FROM emergency_broadcasts WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await?;
    let Some(r) = r else {
        return Ok(format!("no broadcast {id}"));
    };
    let hhmm = |r: &DbRow, c: &str| {
        r.ts(c)
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_default()
    };
    Ok(match r.s("status").as_str() {
        "awaiting_approval" if approving && r.s("triggered_by") == me => {
            "the four-eyes rule: you triggered this broadcast, a different operator must approve it"
                .into()
        }
        "cancelled" => format!(
            "already cancelled by {} at {}",
            r.text("cancelled_by").unwrap_or_default(),
            hhmm(&r, "cancelled_at")
        ),
        s if approving && r.text("approved_by").is_some() => format!(
            "already approved by {} at {} ({s})",
            r.text("approved_by").unwrap_or_default(),
            hhmm(&r, "approved_at")
        ),
        s if approving => format!("the broadcast is {s}, not awaiting approval"),
        s => format!("the broadcast already finished ({s}): nothing left to stop"),
    })
}

/// A second operator approves a broadcast waiting under the four-eyes rule: its held deliveries
/// are queued and their jobs written, in one transaction with the audit row.
pub(in crate::api) async fn approve(
    store: &Store,
    actor: &Actor,
    id: Uuid,
) -> Result<Decision, String> {
    if crate::api::store::actions::acts_by_function(store)
        .await
        .map_err(db_err)?
    {
        return super::by_function::decide(store, actor, id, "approve").await;
    }
    let now = Utc::now();
    let me = actor.operator.clone();
    let mut tx = store.db.begin().await.map_err(db_err)?;
    let changed = tx
        .execute(
            "UPDATE emergency_broadcasts SET status = 'queued', approved_by = $2, approved_at = $3 \
             WHERE id = $1 AND status = 'awaiting_approval' AND triggered_by <> $2",
            &[Val::Uuid(id), Val::Text(me.clone()), Val::Ts(now)],
        )
        .await
        .map_err(db_err)?;
    if changed == 0 {
        return refuse(tx, actor, id, "broadcast.approve", now, true).await;
    }
    let held = tx
        .fetch_all(
            "SELECT id, channel FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'held'",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?;
    tx.execute(
        "UPDATE broadcast_deliveries SET status = 'queued' WHERE broadcast_id = $1 AND status = 'held'",
        &[Val::Uuid(id)],
    )
    .await
    .map_err(db_err)?;
    let wf = workflow_id(&mut tx).await.map_err(db_err)?;
    let jobs = job_targets(&held);
    insert_jobs(&mut tx, id, &jobs, wf, now)
        .await
        .map_err(db_err)?;
    audit(
        &mut tx,
        actor,
        "broadcast.approve",
        id,
        now,
        json!({"status": "awaiting_approval"}),
        json!({"status": "queued", "deliveries": held.len()}),
        None,
        Outcome::Ok,
    )
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    let mut d = Decision::new(
        "ok",
        id,
        format!(
            "broadcast {id} approved by {me}: {} deliveries queued",
            held.len()
        ),
    );
    d.deliveries = held.len();
    Ok(d)
}

/// The update matched nothing: say why, audit the refusal (when the broadcast exists), commit.
/// `about_waiting`: the action was meant for a broadcast awaiting approval (an approval, or a
/// cancel of a waiting one), so the answer explains what happened to it.
async fn refuse(
    mut tx: Tx,
    actor: &Actor,
    id: Uuid,
    action: &str,
    now: DateTime<Utc>,
    about_waiting: bool,
) -> Result<Decision, String> {
    let why = explain(&mut tx, id, &actor.operator, about_waiting)
        .await
        .map_err(db_err)?;
    let exists = !why.starts_with("no broadcast");
    if exists {
        audit(
            &mut tx,
            actor,
            action,
            id,
            now,
            json!(null),
            json!({"conflict": why}),
            None,
            Outcome::Conflict,
        )
        .await
        .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(Decision::new(
        if exists { "conflict" } else { "error" },
        id,
        why,
    ))
}

/// Cancels a broadcast (either operator). Awaiting approval: its held deliveries are cancelled,
/// nothing was sent. Queued or sending: the delivery jobs still pending (or waiting to retry)
/// are cancelled and their deliveries marked cancelled; deliveries already out (sent, delivered,
/// failed) are untouched and jobs a worker already holds may still go out; the answer counts
/// each. One transaction with one audit row either way.
pub(in crate::api) async fn cancel(
    store: &Store,
    actor: &Actor,
    id: Uuid,
) -> Result<Decision, String> {
    cancel_with(store, actor, id, false).await
}

/// Cancels a broadcast only while it awaits approval (the approval screen and the waiting view
/// promise "nothing has been sent"): approved meanwhile, it is a conflict that says by whom.
pub(in crate::api) async fn cancel_waiting(
    store: &Store,
    actor: &Actor,
    id: Uuid,
) -> Result<Decision, String> {
    cancel_with(store, actor, id, true).await
}

async fn cancel_with(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    waiting_only: bool,
) -> Result<Decision, String> {
    if crate::api::store::actions::acts_by_function(store)
        .await
        .map_err(db_err)?
    {
        let verb = if waiting_only {
            "cancel_waiting"
        } else {
            "cancel"
        };
        return super::by_function::decide(store, actor, id, verb).await;
    }
    let now = Utc::now();
    let me = actor.operator.clone();
    let set = "status = 'cancelled', cancelled_by = $2, cancelled_at = $3, completed_at = $3";
    let args = [Val::Uuid(id), Val::Text(me.clone()), Val::Ts(now)];
    let mut tx = store.db.begin().await.map_err(db_err)?;
    // the broadcast row first (the engine locks it before its deliveries too)
    let held = tx
        .execute(
            &format!(
                "UPDATE emergency_broadcasts SET {set} WHERE id = $1 AND status = 'awaiting_approval'"
            ),
            &args,
        )
        .await
        .map_err(db_err)?;
    if held == 1 {
        let n = tx
            .execute(
                "UPDATE broadcast_deliveries SET status = 'cancelled' WHERE broadcast_id = $1 AND status = 'held'",
                &[Val::Uuid(id)],
            )
            .await
            .map_err(db_err)? as usize;
        audit(
            &mut tx,
            actor,
            "broadcast.cancel",
            id,
            now,
            json!({"status": "awaiting_approval"}),
            json!({"status": "cancelled", "deliveries": n, "stopped": n, "already_out": 0}),
            None,
            Outcome::Ok,
        )
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let mut d = Decision::new(
            "ok",
            id,
            format!("broadcast {id} cancelled by {me}: nothing sent"),
        );
        d.deliveries = n;
        d.stopped = n;
        return Ok(d);
    }
    if waiting_only {
        return refuse(tx, actor, id, "broadcast.cancel", now, true).await;
    }
    let before = tx
        .fetch_optional(
            "SELECT status, webhook_status FROM emergency_broadcasts WHERE id = $1 \
             AND status IN ('queued', 'sending')",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?;
    let live = tx
        .execute(
            &format!(
                "UPDATE emergency_broadcasts SET {set} WHERE id = $1 AND status IN ('queued', 'sending')"
            ),
            &args,
        )
        .await
        .map_err(db_err)?;
    if live == 0 {
        return refuse(tx, actor, id, "broadcast.cancel", now, false).await;
    }
    let note = format!("broadcast cancelled by {me}");
    let jobs_sql = match backend(&tx) {
        Backend::Postgres => {
            "UPDATE job_queue SET status = 'cancelled', completed_at = $2, updated_at = $2, \
               locked_by = NULL, error_message = $3 \
             WHERE status IN ('pending', 'retrying') AND job_type LIKE 'broadcast.%' \
               AND payload->>'broadcast_id' = $1 \
             RETURNING payload->>'delivery_id' AS delivery_id"
        }
        Backend::Sqlite => {
            "UPDATE job_queue SET status = 'cancelled', completed_at = $2, updated_at = $2, \
               locked_by = NULL, error_message = $3 \
             WHERE status IN ('pending', 'retrying') AND job_type LIKE 'broadcast.%' \
               AND json_extract(payload, '$.broadcast_id') = $1 \
             RETURNING json_extract(payload, '$.delivery_id') AS delivery_id"
        }
    };
    let jobs = tx
        .fetch_all(
            jobs_sql,
            &[
                Val::Text(id.to_string()),
                Val::Ts(now),
                Val::Text(note.clone()),
            ],
        )
        .await
        .map_err(db_err)?;
    let ids: Vec<serde_json::Value> = jobs
        .iter()
        .filter_map(|r| r.text("delivery_id"))
        .map(serde_json::Value::String)
        .collect();
    let stopped = if ids.is_empty() {
        0
    } else {
        let sql = match backend(&tx) {
            Backend::Postgres => {
                "UPDATE broadcast_deliveries SET status = 'cancelled', error = $3 \
                 WHERE broadcast_id = $1 AND status = 'queued' \
                   AND id IN (SELECT (x #>> '{}')::uuid FROM jsonb_array_elements($2::jsonb) AS x)"
            }
            Backend::Sqlite => {
                "UPDATE broadcast_deliveries SET status = 'cancelled', error = $3 \
                 WHERE broadcast_id = $1 AND status = 'queued' \
                   AND id IN (SELECT value FROM json_each($2))"
            }
        };
        tx.execute(
            sql,
            &[
                Val::Uuid(id),
                Val::Json(serde_json::Value::Array(ids)),
                Val::Text(note),
            ],
        )
        .await
        .map_err(db_err)? as usize
    };
    let counts = tx
        .fetch_all(
            "SELECT status, count(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 GROUP BY status",
            &[Val::Uuid(id)],
        )
        .await
        .map_err(db_err)?;
    let (mut already_out, mut in_flight) = (0usize, 0usize);
    for r in &counts {
        match r.s("status").as_str() {
            "sent" | "delivered" | "failed" => already_out += r.n("n") as usize,
            "queued" => in_flight += r.n("n") as usize,
            _ => {}
        }
    }
    let old = before
        .as_ref()
        .map(|r| r.s("status"))
        .unwrap_or_else(|| "queued".into());
    audit(
        &mut tx,
        actor,
        "broadcast.cancel",
        id,
        now,
        json!({"status": old}),
        json!({"status": "cancelled", "stopped": stopped, "already_out": already_out,
               "in_flight": in_flight, "jobs_cancelled": jobs.len()}),
        None,
        Outcome::Ok,
    )
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    let mut message = format!(
        "broadcast {id} cancelled by {me}: {stopped} deliveries stopped, {already_out} already out"
    );
    if in_flight > 0 {
        message.push_str(&format!(
            ", {in_flight} in flight (a worker had them: they may still go out)"
        ));
    }
    if matches!(
        before.and_then(|r| r.text("webhook_status")).as_deref(),
        Some("ok" | "calling")
    ) {
        message.push_str("; n8n's own broadcast was already triggered: stop it in n8n too");
    }
    let mut d = Decision::new("ok", id, message);
    d.deliveries = stopped;
    d.stopped = stopped;
    d.already_out = already_out;
    d.in_flight = in_flight;
    Ok(d)
}
