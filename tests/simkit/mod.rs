//! Helpers for the simulated-engine tests (real databases, no mocks).
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use opsdeck::api::Store;
use opsdeck::api::db::{Backend, Val};
use opsdeck::sim::batch::{Rows, uuid};
use opsdeck::sim::queue::{JOB_COLS, NewJob, job_row};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde_json::json;
use uuid::Uuid;

use crate::common::{self, TestStore};

/// Polls `f` every 50 ms until it holds; panics after `timeout` naming `what`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let t0 = std::time::Instant::now();
    loop {
        eprintln!("wait_for {what}: polling");
        if f().await {
            return;
        }
        if t0.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn count(store: &Store, sql: &str, args: &[Val]) -> i64 {
    store
        .db
        .fetch_one(sql, args)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n("n")
}

pub async fn exec(store: &Store, sql: &str, args: &[Val]) -> u64 {
    store
        .db
        .execute(sql, args)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Another fresh, migrated store on the same backend.
pub async fn fresh_like(store: &Store) -> TestStore {
    match store.backend() {
        Backend::Postgres => {
            common::migrated(common::pg_store_unmigrated().await.expect("postgres")).await
        }
        Backend::Sqlite => common::migrated(common::sqlite_store_unmigrated().await).await,
    }
}

pub async fn workflow_id(store: &Store, name: &str) -> Uuid {
    store
        .db
        .fetch_one(
            "SELECT id FROM workflows WHERE name = $1",
            &[Val::Text(name.into())],
        )
        .await
        .expect("workflow")
        .id("id")
}

/// A bare workflow (no scenario).
pub async fn add_workflow(store: &Store, name: &str, status: &str) -> Uuid {
    let id = Uuid::new_v4();
    exec(
        store,
        "INSERT INTO workflows (id, name, trigger_type, status) VALUES ($1, $2, 'webhook', $3)",
        &[
            Val::Uuid(id),
            Val::Text(name.into()),
            Val::Text(status.into()),
        ],
    )
    .await;
    id
}

/// `n` pending jobs due now; returns their ids.
pub async fn add_jobs(store: &Store, n: usize, job_type: &str, wf: Option<Uuid>) -> Vec<Uuid> {
    let mut rng = SmallRng::seed_from_u64(n as u64 ^ 0xABCD);
    let now = Utc::now();
    let mut rows = Rows::new("job_queue", JOB_COLS);
    let mut ids = Vec::new();
    for i in 0..n {
        let id = uuid(&mut rng);
        ids.push(id);
        let j = NewJob {
            id,
            job_type: job_type.into(),
            payload: json!({ "n": i }),
            priority: 0,
            max_attempts: 3,
            scheduled_for: now,
            workflow_id: wf,
        };
        rows.push(job_row(&j, "pending", 0, now));
    }
    let mut tx = store.db.begin().await.expect("begin");
    rows.insert(&mut tx).await.expect("insert jobs");
    tx.commit().await.expect("commit");
    ids
}

pub async fn job_status(store: &Store, id: Uuid) -> String {
    store
        .db
        .fetch_one(
            "SELECT status FROM job_queue WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await
        .expect("job")
        .s("status")
}
