//! Through a transaction-mode pooler: a real PgBouncer (pool_mode = transaction, one or two
//! server connections, so every client shares them; a stock configuration, which refuses the
//! `extra_float_digits` startup parameter) in front of the test Postgres. migrate,
//! status, simulate, the CLI actions and every view's read work through it with
//! `?pooler=transaction`; the same calls without it fail the way users saw them fail.

mod common;

use common::cli::{opsdeck, text};
use common::pgbouncer::Bouncer;
use opsdeck::api::Store;
use opsdeck::api::actions::{ActionCtx, execute};
use opsdeck::api::db::Pooling;
use opsdeck::config::{DbTarget, SecretUrl};
use opsdeck::domain::action::{Action, Actor, JobSelect};
use opsdeck::domain::model::ListFilter;
use opsdeck::domain::refresh::{LoadKind, LoadReq, ViewId};

fn run(url: &str, args: &[&str]) -> std::process::Output {
    opsdeck(args, &[("DATABASE_URL", url)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn everything_works_through_a_transaction_pooler() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let Some(b) = Bouncer::start(2, false) else {
        return;
    };
    let db = s.pg_db_name().expect("postgres").to_string();
    let url = b.url(&db, "?pooler=transaction");

    // migrate twice (the second a no-op), as the CLI runs it
    let o = run(&url, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("applied"), "{}", text(&o));
    let o = run(&url, &["migrate"]);
    assert!(text(&o).contains("up to date"), "{}", text(&o));

    // the engine through the pooler, then status and a bulk retry, several times each
    let o = run(&url, &["simulate", "--duration", "3s", "--rate", "40"]);
    assert!(o.status.success(), "{}", text(&o));
    for _ in 0..3 {
        let o = run(&url, &["status"]);
        assert!(
            matches!(o.status.code(), Some(0..=2)),
            "status through the pooler: {}",
            text(&o)
        );
        assert!(!text(&o).contains("prepared statement"), "{}", text(&o));
    }
    let o = run(&url, &["retry", "--all-failed", "-y"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    assert!(!text(&o).contains("prepared statement"), "{}", text(&o));

    // the console's reads and actions, concurrently, on one pooled store
    let store = Store::open(&DbTarget::Postgres(SecretUrl::new(url.clone())), 4)
        .await
        .expect("open through the pooler");
    assert_eq!(store.db.pooling(), Pooling::Transaction);
    let now = chrono::Utc::now();
    let mut reads = Vec::new();
    for round in 0..3 {
        for view in ViewId::ALL {
            let store = store.clone();
            reads.push(tokio::spawn(async move {
                let req = LoadReq {
                    view,
                    kind: LoadKind::Main,
                    filter: ListFilter::page(50),
                    id: None,
                    now,
                    seq: round,
                };
                opsdeck::api::refresh::load(&store, &req)
                    .await
                    .map_err(|e| format!("{view:?}: {e:#}"))
            }));
        }
    }
    let ctx = ActionCtx::new(Actor {
        operator: "pool@ops".into(),
        origin: "local:test".into(),
    });
    let mut acts = Vec::new();
    for _ in 0..4 {
        let (store, ctx) = (store.clone(), ctx.clone());
        acts.push(tokio::spawn(async move {
            let a = Action::RetryFailed {
                select: JobSelect::default(),
                expected: None,
            };
            execute(&store, &ctx, &a).await
        }));
    }
    for r in reads {
        r.await.expect("task").expect("a read through the pooler");
    }
    for a in acts {
        let r = a.await.expect("task");
        assert!(
            !r.message.contains("prepared statement") && r.audit_id.is_some(),
            "an action through the pooler: {r:?}"
        );
    }
    let audited = store
        .db
        .fetch_one(
            "SELECT count(*) AS n FROM operator_actions WHERE operator = 'pool@ops'",
            &[],
        )
        .await
        .expect("count")
        .n("n");
    assert_eq!(audited, 4, "one audit row per action");
    store.db.close().await;
}

/// The control: the same pooler without `?pooler=transaction` fails as users saw it fail (a
/// named statement left on the shared server connection), so the test above can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pooler_mode_named_statements_collide() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let Some(b) = Bouncer::start(1, true) else {
        return;
    };
    let url = b.url(s.pg_db_name().expect("postgres"), "?pooler=none");
    let outs: Vec<String> = (0..3).map(|_| text(&run(&url, &["status"]))).collect();
    assert!(
        outs.iter().any(|o| o.contains("prepared statement")),
        "expected a prepared-statement collision without pooler mode: {outs:#?}"
    );
}

async fn next_note(
    rx: &mut tokio::sync::mpsc::Receiver<opsdeck::api::notify::Note>,
    what: &str,
) -> opsdeck::api::notify::Note {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} within 10 s"))
        .expect("listener alive")
}

/// LISTEN on a direct connection hears its own test NOTIFY (sent through the pooler) and then
/// the triggers' changes; LISTEN through the pooler is accepted but hears nothing, and the
/// self-test says so instead of leaving the console waiting for changes that never come.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_notify_self_test_tells_a_working_listener_from_a_deaf_one() {
    use opsdeck::api::notify::{Note, listen};
    use opsdeck::domain::refresh::Listen;
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let Some(b) = Bouncer::start(2, false) else {
        return;
    };
    let pooled = Store::open(
        &DbTarget::Postgres(SecretUrl::new(
            b.url(s.pg_db_name().expect("postgres"), "?pooler=transaction"),
        )),
        2,
    )
    .await
    .expect("open through the pooler");

    // a direct listener (listen_url), the test NOTIFY sent through the pooler
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let direct = s.db.pg_pool().expect("postgres").clone();
    let task = tokio::spawn(listen(direct, pooled.clone(), tx));
    assert_eq!(
        next_note(&mut rx, "listener state").await,
        Note::State(Listen::Up)
    );
    pooled
        .db
        .execute(
            "INSERT INTO job_queue (job_type, payload) VALUES ('email.send', '{}'{json})",
            &[],
        )
        .await
        .expect("insert through the pooler");
    loop {
        match next_note(&mut rx, "the job_queue change").await {
            Note::Changed(t) if t == "job_queue" => break,
            _ => {}
        }
    }
    task.abort();

    // LISTEN through the transaction pooler: accepted, never heard
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let through = pooled.db.pg_pool().expect("postgres").clone();
    let task = tokio::spawn(listen(through, s.store.clone(), tx));
    assert_eq!(
        next_note(&mut rx, "the self-test's verdict").await,
        Note::State(Listen::Unheard)
    );
    task.await
        .expect("the listener ends after an unheard self-test");
    pooled.db.close().await;
}

/// The pooler closes idle client and server connections (`client_idle_timeout`,
/// `server_idle_timeout`): the console's next read takes a fresh connection instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_on_when_the_pooler_closes_idle_connections() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let Some(b) = Bouncer::start_with(
        2,
        false,
        "client_idle_timeout = 1\nserver_idle_timeout = 1\n",
    ) else {
        return;
    };
    let url = b.url(s.pg_db_name().expect("postgres"), "?pooler=transaction");
    let store = Store::open(&DbTarget::Postgres(SecretUrl::new(url)), 2)
        .await
        .expect("open through the pooler");
    for round in 0..3 {
        let o = store.overview(chrono::Utc::now()).await;
        assert!(o.is_ok(), "read {round} after an idle pause: {:?}", o.err());
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    }
    store.db.close().await;
}

/// An adopted database through the pooler: the adoption itself (its CONCURRENTLY builds and
/// transactions, each one message), then reads and actions on opsdeck's views, which a
/// transaction pooler can only find through the `SET LOCAL search_path` sent with each BEGIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_database_through_the_pooler() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let Some(b) = Bouncer::start(1, false) else {
        return;
    };
    let pool = s.db.pg_pool().expect("postgres");
    sqlx::raw_sql(include_str!("seeds/004_schema.sql"))
        .execute(pool)
        .await
        .expect("seed 004");
    sqlx::raw_sql(
        "INSERT INTO job_queue (job_type, payload, status, attempts) \
         SELECT 'email.send', '{}', 'failed', 3 FROM generate_series(1, 4)",
    )
    .execute(pool)
    .await
    .expect("failed jobs");
    let url = b.url(s.pg_db_name().expect("postgres"), "?pooler=transaction");
    let o = run(&url, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("adopted ("), "{}", text(&o));
    for _ in 0..3 {
        let o = run(&url, &["status", "--json"]);
        let v: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        assert_eq!(v["queue"]["failed"], 4, "{v}");
    }
    let o = run(&url, &["retry", "--all-failed", "-y"]);
    assert!(o.status.success(), "{}", text(&o));
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM public.job_queue WHERE status = 'pending'")
            .fetch_one(pool)
            .await
            .expect("count");
    assert_eq!(n, 4);
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM opsdeck.operator_actions")
        .fetch_one(pool)
        .await
        .expect("audit");
    assert_eq!(n, 1);
}
