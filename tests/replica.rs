//! A read replica (`read_url`) on real parts: a primary and a hot standby of the test's own,
//! made with `pg_basebackup -R -X stream` (tests/common/cluster.rs). The views read the
//! replica; an operator's action goes to the primary, and the views read the primary until the
//! replica has replayed it (replay paused here to hold it back); a replica that stops is left
//! for the primary and comes back on its own.

mod common;

use std::time::{Duration, Instant};

use common::cluster;
use opsdeck::api::Store;
use opsdeck::api::actions::{ActionCtx, execute};
use opsdeck::api::replica::{RETRY, Reader};
use opsdeck::config::{DbTarget, SecretUrl};
use opsdeck::domain::action::{Action, Actor, JobSelect};
use opsdeck::domain::model::ListFilter;
use opsdeck::domain::refresh::{LoadKind, LoadReq, Payload, ReadFrom, ViewId};
use opsdeck::state::Msg;

async fn open(url: &str) -> Store {
    Store::open(&DbTarget::Postgres(SecretUrl::new(url.to_string())), 2)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// The Queue view's read, as the console makes it: where it came from, and the failed jobs.
async fn queue(reader: &Reader) -> (Option<ReadFrom>, i64) {
    let req = LoadReq {
        view: ViewId::Queue,
        kind: LoadKind::Main,
        filter: ListFilter::page(50),
        id: None,
        now: chrono::Utc::now(),
        seq: 0,
    };
    let Msg::Loaded(l) = opsdeck::app::effects::load(reader, req).await else {
        panic!("a load answers Loaded");
    };
    match l.result {
        Ok(Payload::Queue(_, jobs)) => (
            l.from,
            jobs.iter().filter(|j| j.status == "failed").count() as i64,
        ),
        other => panic!("{other:?}"),
    }
}

async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < Duration::from_secs(30), "{what} within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_read_the_replica_and_never_show_an_action_undone() {
    let Some((primary, replica)) = cluster::start_pair() else {
        return;
    };
    let p = open(&primary.url("postgres")).await;
    p.migrate().await.expect("migrate the primary");
    p.db.execute(
        "INSERT INTO job_queue (job_type, payload, status, attempts, error_message) \
         SELECT 'email.send', '{}', 'failed', 3, 'SMTP 550' FROM generate_series(1, 3)",
        &[],
    )
    .await
    .expect("failed jobs");
    let r = open(&replica.url("postgres")).await;
    let reader = Reader::new(p.clone(), Some(r.clone()));

    // the views read the replica, once it has the rows
    until("the replica has the jobs", || async {
        matches!(queue(&reader).await, (Some(ReadFrom::Replica { .. }), 3))
    })
    .await;

    // hold the replica back, then act on the primary
    r.db.execute("SELECT pg_wal_replay_pause()", &[])
        .await
        .expect("pause replay");
    let ctx = ActionCtx::new(Actor {
        operator: "ana@ops".into(),
        origin: "local:test".into(),
    });
    // the console marks the write before it runs: a read started meanwhile goes to the primary
    reader.writing();
    assert_eq!(reader.pick().await.1, Some(ReadFrom::CatchingUp));
    let done = execute(
        &p,
        &ctx,
        &Action::RetryFailed {
            select: JobSelect::default(),
            expected: None,
        },
    )
    .await;
    assert!(done.audit_id.is_some(), "{done:?}");
    reader.written().await;
    // the replica still has them failed; the console reads the primary, and never shows that
    let stale =
        r.db.fetch_one(
            "SELECT count(*) AS n FROM job_queue WHERE status = 'failed'",
            &[],
        )
        .await
        .expect("replica")
        .n("n");
    assert_eq!(stale, 3, "the replica is held back");
    for _ in 0..3 {
        assert_eq!(queue(&reader).await, (Some(ReadFrom::CatchingUp), 0));
    }
    // replayed: back to the replica, which now has the action
    r.db.execute("SELECT pg_wal_replay_resume()", &[])
        .await
        .expect("resume replay");
    until("back on the replica", || async {
        matches!(queue(&reader).await, (Some(ReadFrom::Replica { .. }), 0))
    })
    .await;

    // the replica goes away: the primary, said so; it comes back on its own
    replica.stop();
    assert_eq!(queue(&reader).await, (Some(ReadFrom::ReplicaDown), 0));
    assert_eq!(queue(&reader).await, (Some(ReadFrom::ReplicaDown), 0));
    replica.start().expect("start the replica again");
    tokio::time::sleep(RETRY).await;
    until("the replica is back", || async {
        matches!(queue(&reader).await, (Some(ReadFrom::Replica { .. }), 0))
    })
    .await;
    p.db.close().await;
    r.db.close().await;
}
