//! Connection loss on Postgres: the database goes away under a running console and under an
//! operator action in flight. The console (the real binary, in tmux) shows "disconnected",
//! retries with a growing backoff, comes back with fresh data and its NOTIFY listener; an action
//! whose connection is killed reports failure or success — never both — and is never applied
//! twice. Each test has its own database, so killing "every connection to it" kills only ours.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use common::tmux::{self, Tmux};
use opsdeck::api::Store;
use opsdeck::api::actions::{ActionCtx, execute};
use opsdeck::api::db::{Tx, Val};
use opsdeck::config::{DbTarget, SecretUrl};
use opsdeck::domain::action::{Action, Actor, JobSelect, Named, Outcome};
use uuid::Uuid;

// ---- helpers ----------------------------------------------------------------------------

async fn admin() -> Store {
    Store::open(
        &DbTarget::Postgres(SecretUrl::new(common::pg_admin_url())),
        1,
    )
    .await
    .expect("admin connection")
}

async fn dbname(s: &Store) -> String {
    s.db.fetch_one("SELECT current_database() AS x", &[])
        .await
        .expect("current_database")
        .s("x")
}

async fn count(s: &Store, sql: &str, args: &[Val]) -> i64 {
    s.db.fetch_one(sql, args)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n("n")
}

async fn failed_job(s: &Store, error: &str) -> Uuid {
    let id = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO job_queue (id, job_type, status, attempts, max_attempts, error_message, completed_at) \
         VALUES ($1, 'email.send', 'failed', 3, 3, $2, now())",
        &[Val::Uuid(id), Val::Text(error.into())],
    )
    .await
    .expect("insert job");
    id
}

async fn job_status(s: &Store, id: Uuid) -> String {
    s.db.fetch_one(
        "SELECT status FROM job_queue WHERE id = $1",
        &[Val::Uuid(id)],
    )
    .await
    .expect("job")
    .s("status")
}

/// Audit rows of `action` by outcome.
async fn audits(s: &Store, action: &str, outcome: &str) -> i64 {
    count(
        s,
        "SELECT count(*) AS n FROM operator_actions WHERE action = $1 AND outcome = $2",
        &[Val::Text(action.into()), Val::Text(outcome.into())],
    )
    .await
}

/// Waits until exactly one backend of `db` other than the caller's waits on a lock whose query
/// starts with `query_prefix`; returns its pid.
async fn blocked_backend(admin: &Store, db: &str, query_prefix: &str) -> i32 {
    let t0 = Instant::now();
    loop {
        let rows = admin
            .db
            .fetch_all(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' \
                 AND left(query, length($2)) = $2 AND pid <> pg_backend_pid()",
                &[Val::Text(db.into()), Val::Text(query_prefix.into())],
            )
            .await
            .expect("pg_stat_activity");
        if rows.len() == 1 {
            return rows[0].n("pid") as i32;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no single backend blocked on '{query_prefix}' ({} found)",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn terminate(admin: &Store, pid: i32) {
    let r = admin
        .db
        .fetch_one(
            "SELECT pg_terminate_backend($1::int) AS ok",
            &[Val::I64(pid as i64)],
        )
        .await
        .expect("pg_terminate_backend");
    assert_eq!(r.bool("ok"), Some(true), "backend {pid} was not terminated");
}

fn ctx() -> ActionCtx {
    ActionCtx::new(Actor {
        operator: "kim@ops".into(),
        origin: "conn-loss-test".into(),
    })
}

fn retry_job(id: Uuid) -> Action {
    Action::RetryJobs {
        jobs: vec![Named::new(id, "email.send")],
    }
}

fn retry_failed() -> Action {
    Action::RetryFailed {
        select: JobSelect::default(),
        expected: Some(1),
    }
}

/// Holds the row lock on job `id` in an open transaction (another connection of the pool).
async fn lock_job(s: &Store, id: Uuid) -> Tx {
    let mut tx = s.db.begin().await.expect("begin");
    tx.fetch_one(
        "SELECT id FROM job_queue WHERE id = $1 FOR UPDATE",
        &[Val::Uuid(id)],
    )
    .await
    .expect("lock the job");
    tx
}

// ---- an action whose connection is killed while it waits on a row lock ---------------------

async fn killed_mid_statement(s: &Store, action: impl Fn(Uuid) -> Action, name: &str) {
    let admin = admin().await;
    let db = dbname(s).await;
    let id = failed_job(s, "SMTP 451").await;
    let holder = lock_job(s, id).await;
    let (st, a) = (s.clone(), action(id));
    let running = tokio::spawn(async move { execute(&st, &ctx(), &a).await });
    // the action is one call to the database's opsdeck_act() (issue 18), which waits inside
    let pid = blocked_backend(&admin, &db, "SELECT opsdeck_act").await;
    terminate(&admin, pid).await;
    let r = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the action reports within 30 s")
        .expect("no panic");
    holder.rollback().await.expect("release the lock");
    // reported: a failure, with its one audit row; in the database: not applied
    assert_eq!(r.outcome, Outcome::Error, "{r:?}");
    assert_eq!(r.changed, 0, "{r:?}");
    assert!(
        r.audit_id.is_some(),
        "the failed attempt is in the audit trail: {r:?}"
    );
    assert_eq!(job_status(s, id).await, "failed");
    assert_eq!(audits(s, name, "error").await, 1);
    assert_eq!(audits(s, name, "ok").await, 0);
    // the operator retries: applied exactly once
    let r = execute(s, &ctx(), &action(id)).await;
    assert_eq!((r.outcome, r.changed), (Outcome::Ok, 1), "{r:?}");
    assert_eq!(job_status(s, id).await, "pending");
    assert_eq!(audits(s, name, "ok").await, 1);
    // and once more (a double press): nothing changes twice
    let r = execute(s, &ctx(), &action(id)).await;
    assert_eq!((r.outcome, r.changed), (Outcome::Conflict, 0), "{r:?}");
    assert_eq!(audits(s, name, "ok").await, 1);
    assert_eq!(
        count(
            s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'pending'",
            &[]
        )
        .await,
        1
    );
    admin.db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_killed_mid_statement_fails_cleanly_and_applies_once_on_retry() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    killed_mid_statement(&s, retry_job, "job.retry").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_retry_killed_mid_statement_fails_cleanly_and_applies_once_on_retry() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    killed_mid_statement(&s, |_| retry_failed(), "job.retry_failed").await;
}

// ---- an action whose connection is killed during its COMMIT -------------------------------

/// A deferred constraint trigger makes every COMMIT that wrote an audit row wait for advisory
/// lock 4242, which the test holds: the action is caught inside COMMIT, where the client
/// cannot know whether it landed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_killed_in_flight_is_settled_as_not_applied() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    s.db.execute_script(
        "CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NULL; END $$;
         CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON operator_actions
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit();",
    )
    .await
    .expect("commit hold trigger");
    let admin = admin().await;
    let db = dbname(&s).await;
    let id = failed_job(&s, "SMTP 451").await;
    // the holder: an exclusive advisory lock on a connection of its own
    let mut holder = s.db.begin().await.unwrap();
    holder
        .execute("SELECT pg_advisory_xact_lock(4242)", &[])
        .await
        .unwrap();
    let st = s.store.clone();
    let running = tokio::spawn(async move { execute(&st, &ctx(), &retry_job(id)).await });
    let pid = blocked_backend(&admin, &db, "COMMIT").await;
    terminate(&admin, pid).await;
    holder.rollback().await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the action reports within 30 s")
        .expect("no panic");
    // the database says the transaction aborted: the report says "not applied", definitely
    assert_eq!(r.outcome, Outcome::Error, "{r:?}");
    assert!(r.message.contains("not applied"), "{r:?}");
    assert!(!r.message.contains("may have been"), "{r:?}");
    assert_eq!(job_status(&s, id).await, "failed");
    assert_eq!(audits(&s, "job.retry", "ok").await, 0);
    assert_eq!(audits(&s, "job.retry", "error").await, 1);
    // the retry applies exactly once
    let r = execute(&s, &ctx(), &retry_job(id)).await;
    assert_eq!((r.outcome, r.changed), (Outcome::Ok, 1), "{r:?}");
    assert_eq!(job_status(&s, id).await, "pending");
    assert_eq!(audits(&s, "job.retry", "ok").await, 1);
    admin.db.close().await;
}

/// A TCP proxy in front of Postgres. Once armed, it forwards the next COMMIT, lets the server
/// run it, and cuts the client off before the answer arrives: the client cannot know whether
/// its transaction landed.
async fn cut_proxy(upstream: String) -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let armed = Arc::new(AtomicBool::new(false));
    let arm = armed.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let cut = Arc::new(AtomicBool::new(false));
            let (arm, cut2) = (arm.clone(), cut.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let commit = buf[..n].windows(7).any(|w| w == b"COMMIT\0");
                    if commit && arm.swap(false, Ordering::SeqCst) {
                        cut2.store(true, Ordering::SeqCst);
                        let _ = sw.write_all(&buf[..n]).await;
                        // the server commits; then both sides are dropped
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        return;
                    }
                    if sw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if cut.load(Ordering::SeqCst) || cw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, armed)
}

/// The COMMIT reaches the server and lands, but its answer is lost with the connection: the
/// action asks the database afterwards and reports what happened — applied, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_settled_as_applied() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let mut url = match &s.store.target {
        DbTarget::Postgres(u) => url::Url::parse(u.expose()).unwrap(),
        DbTarget::Sqlite(_) => unreachable!(),
    };
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let (port, armed) = cut_proxy(upstream).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(port)).unwrap();
    // plain text, so the proxy can see the COMMIT go by
    url.query_pairs_mut().append_pair("sslmode", "disable");
    let via = Store::open(&DbTarget::Postgres(SecretUrl::new(url.to_string())), 2)
        .await
        .expect("connect through the proxy");
    let id = failed_job(&s, "SMTP 451").await;
    armed.store(true, Ordering::SeqCst);
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        execute(&via, &ctx(), &retry_job(id)),
    )
    .await
    .expect("the action reports within 30 s");
    assert!(
        !armed.load(Ordering::SeqCst),
        "the proxy never saw the COMMIT"
    );
    // the database says it committed: reported as applied, once, with its one audit row
    assert_eq!((r.outcome, r.changed), (Outcome::Ok, 1), "{r:?}");
    assert_eq!(job_status(&s, id).await, "pending");
    assert_eq!(audits(&s, "job.retry", "ok").await, 1);
    assert_eq!(audits(&s, "job.retry", "error").await, 0);
    let row =
        s.db.fetch_one(
            "SELECT id FROM operator_actions WHERE action = 'job.retry'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(Some(row.id("id")), r.audit_id);
    // pressing it again changes nothing
    let r = execute(&via, &ctx(), &retry_job(id)).await;
    assert_eq!((r.outcome, r.changed), (Outcome::Conflict, 0), "{r:?}");
    via.db.close().await;
}

// ---- the console in a real terminal --------------------------------------------------------

/// "retrying in Ns" on screen → N.
fn countdown(screen: &str) -> Option<i64> {
    let at = screen.find("retrying in ")? + "retrying in ".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

#[test]
fn the_console_shows_the_outage_and_comes_back_with_data_and_notify() {
    if !tmux::available() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(s) = rt.block_on(common::pg_store_unmigrated()) else {
        return;
    };
    let s = rt.block_on(common::migrated(s));
    let db = rt.block_on(dbname(&s));
    rt.block_on(failed_job(&s, "MARK-BEFORE smtp 451"));
    let url = match &s.store.target {
        DbTarget::Postgres(u) => u.expose().to_string(),
        DbTarget::Sqlite(_) => unreachable!(),
    };
    let t = Tmux::start(
        &format!("--operator kim@ops --database-url '{url}'"),
        140,
        40,
    );
    t.wait_for("live (notify)", Duration::from_secs(30));
    t.keys(&["4"]);
    t.wait_for("MARK-BEFORE", Duration::from_secs(10));

    // the outage: new connections refused, every connection to the database killed
    let admin = rt.block_on(admin());
    let allow = |on: bool| format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS {on}");
    rt.block_on(admin.db.execute(&allow(false), &[])).unwrap();
    let killed = rt
        .block_on(admin.db.fetch_all(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[Val::Text(db.clone())],
        ))
        .unwrap()
        .len();
    assert!(
        killed >= 2,
        "the console's reads and its listener: {killed} connections"
    );
    let screen = t.wait_for("disconnected", Duration::from_secs(20));
    assert!(screen.contains("retrying in"), "{screen}");
    assert!(
        screen.contains("MARK-BEFORE"),
        "the last data stays on screen:\n{screen}"
    );
    // keep the database away until the backoff has grown past its first steps (1 s, 2 s …)
    let t0 = Instant::now();
    let mut seen = Vec::new();
    loop {
        let s = t.capture();
        assert!(!s.contains("EXITED="), "the console exited:\n{s}");
        if let Some(n) = countdown(&s)
            && seen.last() != Some(&n)
        {
            seen.push(n);
        }
        if seen.iter().any(|&n| n >= 3) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the retry interval never grew past 2 s: countdowns seen {seen:?}\n{s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("countdowns seen during the outage: {seen:?}");
    rt.block_on(admin.db.execute(&allow(true), &[])).unwrap();
    let back = Instant::now();

    // back: reads succeed again and the listener is up again (both are needed for this label)
    let screen = t.wait_for("live (notify)", Duration::from_secs(60));
    println!(
        "back {:.1} s after the database returned",
        back.elapsed().as_secs_f64()
    );
    assert!(!screen.contains("disconnected"), "{screen}");
    // fresh data arrives through NOTIFY: with the listener up the poll is a 10 s heartbeat,
    // so a row showing within 5 s came through the listener
    std::thread::sleep(Duration::from_millis(300));
    let inserted = Instant::now();
    rt.block_on(failed_job(&s, "MARK-AFTER smtp 451"));
    t.wait_for("MARK-AFTER", Duration::from_secs(5));
    println!(
        "a new row on screen {:.2} s after its insert",
        inserted.elapsed().as_secs_f64()
    );
    t.keys(&["q"]);
    let s2 = t.wait_for("EXITED=", Duration::from_secs(10));
    assert!(s2.contains("EXITED=0"), "{s2}");
    rt.block_on(admin.db.close());
    drop(s);
}
