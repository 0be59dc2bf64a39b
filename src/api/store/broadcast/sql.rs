//! Set-based writes shared by send, approve and retry: all deliveries in one statement, all
//! delivery jobs in one statement (the rows travel as one JSON array bind, expanded by
//! `jsonb_array_elements` on Postgres and `json_each` on SQLite), and the audit row.

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::api::db::{Backend, Tx, Val};
use crate::domain::action::{Actor, Outcome};
use crate::domain::broadcast::Channel;

/// Priority of delivery jobs (the catalog's broadcast.* priority: ahead of everything else).
pub const PRIORITY: i64 = 100;

/// Attempts per delivery job (the catalog: voice 2, others 3).
pub fn max_attempts(c: Channel) -> i64 {
    if c == Channel::Voice { 2 } else { 3 }
}

pub fn backend(tx: &Tx) -> Backend {
    match tx {
        Tx::Pg(..) => Backend::Postgres,
        Tx::Sqlite(_) => Backend::Sqlite,
    }
}

/// Inserts `(delivery id, person id, channel)` rows with `status`, one statement.
pub async fn insert_deliveries(
    tx: &mut Tx,
    broadcast: Uuid,
    rows: &[(Uuid, Uuid, Channel)],
    status: &str,
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let arr: Vec<Json> = rows
        .iter()
        .map(|(d, p, c)| json!([d.to_string(), p.to_string(), c.as_str()]))
        .collect();
    let sql = match backend(tx) {
        Backend::Postgres => {
            "INSERT INTO broadcast_deliveries (id, broadcast_id, person_id, channel, status) \
             SELECT (x->>0)::uuid, $1, (x->>1)::uuid, x->>2, $3 FROM jsonb_array_elements($2::jsonb) AS x"
        }
        Backend::Sqlite => {
            "INSERT INTO broadcast_deliveries (id, broadcast_id, person_id, channel, status) \
             SELECT json_extract(x.value, '$[0]'), $1, json_extract(x.value, '$[1]'), \
                    json_extract(x.value, '$[2]'), $3 FROM json_each($2) AS x"
        }
    };
    tx.execute(
        sql,
        &[
            Val::Uuid(broadcast),
            Val::Json(Json::Array(arr)),
            Val::Text(status.into()),
        ],
    )
    .await
}

/// Postgres: the deliveries and their jobs in ONE statement (ids made by the server).
pub async fn insert_fan_out_pg(
    tx: &mut Tx,
    broadcast: Uuid,
    rows: &[(Uuid, Channel)],
    workflow: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let arr: Vec<Json> = rows
        .iter()
        .map(|(p, c)| json!([p.to_string(), c.as_str()]))
        .collect();
    tx.execute(
        "WITH d AS (INSERT INTO broadcast_deliveries (id, broadcast_id, person_id, channel, status) \
           SELECT gen_random_uuid(), $1, (x->>0)::uuid, x->>1, 'queued' \
           FROM jsonb_array_elements($2::jsonb) AS x RETURNING id, channel) \
         INSERT INTO job_queue (id, job_type, payload, status, priority, attempts, max_attempts, \
           scheduled_for, workflow_id, created_at, updated_at) \
         SELECT gen_random_uuid(), 'broadcast.' || d.channel, \
           jsonb_build_object('delivery_id', d.id::text, 'broadcast_id', $3::text), 'pending', $4, 0, \
           CASE WHEN d.channel = 'voice' THEN 2 ELSE 3 END, $5, $6, $5, $5 FROM d",
        &[
            Val::Uuid(broadcast),
            Val::Json(Json::Array(arr)),
            Val::Text(broadcast.to_string()),
            Val::I64(PRIORITY),
            Val::Ts(now),
            Val::OptUuid(workflow),
        ],
    )
    .await
}

/// The (delivery id, channel) pairs of `id, channel` rows, for [`insert_jobs`] (rows with a
/// channel opsdeck does not know get no job).
pub fn job_targets(rows: &[crate::api::db::DbRow]) -> Vec<(Uuid, Channel)> {
    rows.iter()
        .filter_map(|r| {
            Channel::parse(&r.s("channel"))
                .ok()
                .map(|c| (r.id("id"), c))
        })
        .collect()
}

/// One pending `broadcast.<channel>` job per delivery, payload `{delivery_id, broadcast_id}`,
/// one statement.
pub async fn insert_jobs(
    tx: &mut Tx,
    broadcast: Uuid,
    deliveries: &[(Uuid, Channel)],
    workflow: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    if deliveries.is_empty() {
        return Ok(0);
    }
    let arr: Vec<Json> = deliveries
        .iter()
        .map(|(d, c)| {
            json!([
                d.to_string(),
                Uuid::new_v4().to_string(),
                c.job_type(),
                max_attempts(*c)
            ])
        })
        .collect();
    let sql = match backend(tx) {
        Backend::Postgres => {
            "INSERT INTO job_queue (id, job_type, payload, status, priority, attempts, max_attempts, \
               scheduled_for, workflow_id, created_at, updated_at) \
             SELECT (x->>1)::uuid, x->>2, jsonb_build_object('delivery_id', x->>0, 'broadcast_id', $1::text), \
               'pending', $2, 0, (x->>3)::int, $3, $4, $3, $3 FROM jsonb_array_elements($5::jsonb) AS x"
        }
        Backend::Sqlite => {
            "INSERT INTO job_queue (id, job_type, payload, status, priority, attempts, max_attempts, \
               scheduled_for, workflow_id, created_at, updated_at) \
             SELECT json_extract(x.value, '$[1]'), json_extract(x.value, '$[2]'), \
               json_object('delivery_id', json_extract(x.value, '$[0]'), 'broadcast_id', $1), \
               'pending', $2, 0, json_extract(x.value, '$[3]'), $3, $4, $3, $3 FROM json_each($5) AS x"
        }
    };
    tx.execute(
        sql,
        &[
            Val::Text(broadcast.to_string()),
            Val::I64(PRIORITY),
            Val::Ts(now),
            Val::OptUuid(workflow),
            Val::Json(Json::Array(arr)),
        ],
    )
    .await
}

/// The Emergency Broadcast System workflow's id, if any.
pub async fn workflow_id(tx: &mut Tx) -> Result<Option<Uuid>, sqlx::Error> {
    Ok(tx
        .fetch_optional(
            "SELECT id FROM workflows WHERE name = $1",
            &[Val::Text(super::WORKFLOW.into())],
        )
        .await?
        .map(|r| r.id("id")))
}

/// One operator_actions row (same columns as `api::actions::audit`; broadcasts are not
/// `Action`s because their payload is a whole audience).
#[allow(clippy::too_many_arguments)]
pub async fn audit(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    target: Uuid,
    now: DateTime<Utc>,
    before: Json,
    after: Json,
    note: Option<String>,
    outcome: Outcome,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO operator_actions (id, at, operator, origin, action, target_type, target_id, \
           before, after, note, outcome) \
         VALUES ($1, $2, $3, $4, $5, 'broadcast', $6, $7{json}, $8{json}, $9, $10)",
        &[
            Val::Uuid(id),
            Val::Ts(now),
            Val::Text(actor.operator.clone()),
            Val::OptText(Some(actor.origin.clone())),
            Val::Text(action.into()),
            Val::OptText(Some(target.to_string())),
            Val::Json(before),
            Val::Json(after),
            Val::OptText(note),
            Val::Text(outcome.as_str().into()),
        ],
    )
    .await?;
    Ok(id)
}
