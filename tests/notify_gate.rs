//! The NOTIFY gate (migration 0010), on real Postgres: at most one notification per table per
//! quarter second whatever the writers' rate, no writer ever waits for it, the writer holding
//! it notifies at its commit, and a notifying transaction that rolls back leaves the slot to
//! the next writer.

mod common;

use std::time::Duration;

use opsdeck::api::Store;
use sqlx::postgres::PgListener;

/// The notifications for `table` heard within `wait`.
async fn heard(l: &mut PgListener, table: &str, wait: Duration) -> usize {
    let mut n = 0;
    let end = tokio::time::Instant::now() + wait;
    while let Ok(Ok(m)) = tokio::time::timeout_at(end, l.recv()).await {
        if m.payload().contains(&format!("\"table\" : \"{table}\""))
            || m.payload().contains(&format!("\"table\":\"{table}\""))
        {
            n += 1;
        }
    }
    n
}

async fn slot(s: &Store) -> i64 {
    s.db.fetch_one(
        "SELECT floor(extract(epoch FROM clock_timestamp()) * 4)::bigint AS s",
        &[],
    )
    .await
    .expect("slot")
    .n("s")
}

const FAILED_JOB: &str = "INSERT INTO job_queue (job_type, status, attempts, error_message) \
                          VALUES ('email.send', 'failed', 3, 'SMTP 550')";

async fn listener(s: &Store) -> PgListener {
    let mut l = PgListener::connect_with(s.db.pg_pool().expect("postgres"))
        .await
        .expect("listener");
    l.listen("opsdeck").await.expect("LISTEN");
    l
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_commits_notify_once_per_table_per_quarter_second() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    let mut l = listener(&t).await;
    let first = slot(&t).await;
    for _ in 0..40 {
        t.db.execute(FAILED_JOB, &[])
            .await
            .expect("a writer's commit");
    }
    let last = slot(&t).await;
    let n = heard(&mut l, "job_queue", Duration::from_millis(800)).await;
    let slots = (last - first + 1) as usize;
    assert!(
        n >= 1 && n <= slots,
        "40 commits over {slots} quarter-second slot(s) notified {n} times"
    );
    assert!(n < 40, "the gate let every commit notify");
    // a statement of 5,000 rows decides once
    let first = slot(&t).await;
    t.db.execute(
        "INSERT INTO job_queue (job_type, status) SELECT 'sms.send', 'pending' \
         FROM generate_series(1, 5000)",
        &[],
    )
    .await
    .expect("a bulk insert");
    let last = slot(&t).await;
    let n = heard(&mut l, "job_queue", Duration::from_millis(800)).await;
    assert!(
        n >= 1 && n <= (last - first + 1) as usize,
        "a 5,000-row statement notified {n} times"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_writer_waits_and_the_holder_notifies_at_its_commit() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    let pool = t.db.pg_pool().expect("postgres").clone();
    let mut l = listener(&t).await;
    // let any slot taken by the migration's own writes pass
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = heard(&mut l, "job_queue", Duration::from_millis(100)).await;

    // A writes and stays open: it holds the table's gate
    let mut a = pool.begin().await.expect("begin A");
    sqlx::query(FAILED_JOB)
        .execute(&mut *a)
        .await
        .expect("A writes");
    // B writes and commits meanwhile: it must not wait on A (a lock_timeout would fail it)
    let mut b = pool.begin().await.expect("begin B");
    sqlx::query("SET LOCAL lock_timeout = '1s'")
        .execute(&mut *b)
        .await
        .expect("lock_timeout");
    sqlx::query(FAILED_JOB)
        .execute(&mut *b)
        .await
        .expect("B is not held up by A's gate");
    b.commit().await.expect("B commits");
    assert_eq!(
        heard(&mut l, "job_queue", Duration::from_millis(300)).await,
        0,
        "B skipped: A holds the gate"
    );
    a.commit().await.expect("A commits");
    assert_eq!(
        heard(&mut l, "job_queue", Duration::from_millis(500)).await,
        1,
        "A notifies at its commit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifying_writer_that_rolls_back_leaves_the_slot_to_the_next() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    let pool = t.db.pg_pool().expect("postgres").clone();
    let mut l = listener(&t).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = heard(&mut l, "job_queue", Duration::from_millis(100)).await;
    for _ in 0..5 {
        let s0 = slot(&t).await;
        let mut a = pool.begin().await.expect("begin A");
        sqlx::query(FAILED_JOB)
            .execute(&mut *a)
            .await
            .expect("A writes");
        a.rollback().await.expect("A rolls back");
        t.db.execute(FAILED_JOB, &[]).await.expect("B commits");
        let s1 = slot(&t).await;
        if s0 != s1 {
            // crossed into another slot: B would notify anyway; try again in one slot
            let _ = heard(&mut l, "job_queue", Duration::from_millis(300)).await;
            continue;
        }
        assert_eq!(
            heard(&mut l, "job_queue", Duration::from_millis(500)).await,
            1,
            "B, in the slot A gave back, notifies"
        );
        return;
    }
    panic!("five tries never stayed within one quarter second");
}
