//! The NOTIFY gate (migration 0010), on real Postgres: at most one notification per table per
//! quarter second whatever the writers' rate; it decides at COMMIT, so a long open transaction
//! silences nobody; no writer waits for it, and a REPEATABLE READ writer never fails for it;
//! a transaction that rolls back takes no slot.

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

/// A listener, once any slot taken by the migration's own writes has passed and what it
/// notified has been heard.
async fn quiet_listener(s: &Store) -> PgListener {
    let mut l = listener(s).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = heard(&mut l, "job_queue", Duration::from_millis(100)).await;
    l
}

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

/// Waits for the start of a quarter-second slot, so what follows fits in one.
async fn slot_start(t: &Store) {
    let s0 = slot(t).await;
    while slot(t).await == s0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_transaction_silences_nobody_and_notifies_at_its_commit() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    let pool = t.db.pg_pool().expect("postgres").clone();
    let mut l = quiet_listener(&t).await;

    // A writes and stays open (an idle-in-transaction writer)
    let mut a = pool.begin().await.expect("begin A");
    sqlx::query(FAILED_JOB)
        .execute(&mut *a)
        .await
        .expect("A writes");
    // B writes and commits meanwhile, without waiting (a lock_timeout would fail it): its
    // change is heard while A is still open
    let mut b = pool.begin().await.expect("begin B");
    sqlx::query("SET LOCAL lock_timeout = '1s'")
        .execute(&mut *b)
        .await
        .expect("lock_timeout");
    sqlx::query(FAILED_JOB)
        .execute(&mut *b)
        .await
        .expect("B is not held up by A");
    b.commit().await.expect("B commits");
    assert_eq!(
        heard(&mut l, "job_queue", Duration::from_millis(400)).await,
        1,
        "B's commit notifies while A is open"
    );
    // a later slot: A's commit notifies
    a.commit().await.expect("A commits");
    assert_eq!(
        heard(&mut l, "job_queue", Duration::from_millis(500)).await,
        1,
        "A notifies at its commit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeatable_read_writer_never_fails_for_the_gate() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    let pool = t.db.pg_pool().expect("postgres").clone();
    for (iso, set) in [
        (
            "REPEATABLE READ",
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        ),
        (
            "SERIALIZABLE",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        ),
    ] {
        // T1 takes its snapshot; T2 moves the table's slot on and commits; T1 writes and
        // commits in a later slot (a gate kept in a table row failed it with 40001 here)
        let mut t1 = pool.begin().await.expect("begin T1");
        sqlx::query(set).execute(&mut *t1).await.expect("isolation");
        sqlx::query("SELECT count(*) FROM job_queue")
            .execute(&mut *t1)
            .await
            .expect("T1's snapshot");
        t.db.execute(FAILED_JOB, &[]).await.expect("T2 commits");
        slot_start(&t).await;
        sqlx::query(FAILED_JOB)
            .execute(&mut *t1)
            .await
            .expect("T1 writes");
        t1.commit()
            .await
            .unwrap_or_else(|e| panic!("a {iso} writer failed at commit: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_rolls_back_takes_no_slot() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    let pool = t.db.pg_pool().expect("postgres").clone();
    let mut l = quiet_listener(&t).await;
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
            "B, in the slot A's rollback did not take, notifies"
        );
        return;
    }
    panic!("five tries never stayed within one quarter second");
}
