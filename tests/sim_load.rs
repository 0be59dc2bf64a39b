//! The engine under concurrency and trouble, and `opsdeck simulate` as a user runs it.

mod common;
mod simkit;

use std::process::Command;
use std::time::Duration;

use opsdeck::api::db::Val;
use opsdeck::sim::{Engine, EngineConfig};
use simkit::*;

const N: usize = 10_000;

/// Postgres: 4 workers in two engines over 10,000 jobs — every job claimed once and completed
/// once (a trigger records every transition to processing and to completed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_jobs_complete_exactly_once() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    s.db.execute_script(
        "CREATE TABLE job_audit (job_id uuid NOT NULL, status text NOT NULL, worker text);
         CREATE FUNCTION job_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('processing', 'completed') THEN
             INSERT INTO job_audit VALUES (NEW.id, NEW.status, NEW.locked_by);
           END IF;
           RETURN NULL;
         END $$;
         CREATE TRIGGER job_audit_trg AFTER UPDATE ON job_queue FOR EACH ROW EXECUTE FUNCTION job_audit_fn();",
    )
    .await
    .expect("audit trigger");
    add_jobs(&s, N, "email.send", None).await;
    let cfg = |seed| EngineConfig {
        workers: 2,
        concurrency: 60,
        claim_batch: 25,
        work_scale: 0.02, // a few ms of work each: claims overlap
        ..EngineConfig::quiet(seed)
    };
    let a = Engine::start(s.store.clone(), cfg(1));
    let b = Engine::start(s.store.clone(), cfg(2));
    let st = s.store.clone();
    wait_for("10,000 completions", Duration::from_secs(120), || {
        let st = st.clone();
        async move {
            count(
                &st,
                "SELECT count(*) AS n FROM job_queue WHERE status = 'completed'",
                &[],
            )
            .await
                == N as i64
        }
    })
    .await;
    let (sa, sb) = (a.stop().await, b.stop().await);
    println!("engine a: {sa}\nengine b: {sb}");
    assert_eq!(sa.jobs_completed + sb.jobs_completed, N as u64);
    for st in ["processing", "completed"] {
        assert_eq!(
            count(
                &s,
                "SELECT count(*) AS n FROM job_audit WHERE status = $1",
                &[Val::Text(st.into())]
            )
            .await,
            N as i64,
            "{st} transitions"
        );
        assert_eq!(
            count(
                &s,
                "SELECT count(*) AS n FROM (SELECT job_id FROM job_audit WHERE status = $1 \
                 GROUP BY job_id HAVING count(*) > 1) t",
                &[Val::Text(st.into())]
            )
            .await,
            0,
            "a job went to {st} twice"
        );
    }
    // the job was completed by the worker that claimed it; all four workers took part
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_audit p JOIN job_audit c ON c.job_id = p.job_id \
             AND c.status = 'completed' WHERE p.status = 'processing' AND c.worker <> p.worker",
            &[]
        )
        .await,
        0
    );
    assert_eq!(
        count(&s, "SELECT count(DISTINCT worker) AS n FROM job_audit", &[]).await,
        4
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status <> 'completed' OR attempts <> 1",
            &[]
        )
        .await,
        0
    );
}

/// Postgres: the engine's connections are killed mid-run; it logs, backs off and carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_rides_out_lost_connections() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    const JOBS: i64 = 600;
    add_jobs(&s, JOBS as usize, "social.post", None).await;
    // social.post takes 80–400 ms: 40 in flight, a few seconds in all
    let engine = Engine::start(
        s.store.clone(),
        EngineConfig {
            workers: 2,
            concurrency: 20,
            work_scale: 1.0,
            ..EngineConfig::quiet(3)
        },
    );
    let done = "SELECT count(*) AS n FROM job_queue WHERE status = 'completed'";
    let st = s.store.clone();
    wait_for("some progress", Duration::from_secs(20), || {
        let st = st.clone();
        async move { count(&st, done, &[]).await > 100 }
    })
    .await;
    let before = count(&s, done, &[]).await;
    assert!(before < JOBS, "the outage must hit a busy engine");
    // an outage: connections refused for 1.5 s and every connection killed
    let db =
        s.db.fetch_one("SELECT current_database() AS x", &[])
            .await
            .unwrap()
            .s("x");
    let admin_url = opsdeck::config::SecretUrl::new(common::pg_admin_url());
    let admin = opsdeck::api::Store::open(&opsdeck::config::DbTarget::Postgres(admin_url), 1)
        .await
        .expect("admin connection");
    let allow = |on: bool| format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS {on}");
    admin.db.execute(&allow(false), &[]).await.unwrap();
    admin
        .db
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[Val::Text(db.clone())],
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    admin.db.execute(&allow(true), &[]).await.unwrap();
    admin.db.close().await;
    let st = s.store.clone();
    wait_for(
        "every job done after the outage",
        Duration::from_secs(60),
        || {
            let st = st.clone();
            async move { count(&st, done, &[]).await == JOBS }
        },
    )
    .await;
    let sum = engine.stop().await;
    println!("{sum}");
    assert!(sum.db_errors > 0, "the outage went unnoticed: {sum}");
    assert_eq!(sum.jobs_completed as i64, JOBS);
    let processing = "SELECT count(*) AS n FROM job_queue WHERE status = 'processing'";
    assert_eq!(count(&s, processing, &[]).await, 0);
}

fn opsdeck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", "/nonexistent-opsdeck-test")
        .output()
        .expect("run opsdeck")
}

#[test]
fn simulate_refuses_a_missing_schema_and_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    let out = opsdeck(&["simulate", "--database-url", &url, "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("opsdeck migrate"), "{err}");

    let out = opsdeck(&[
        "simulate",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/x",
        "--duration",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    let out = opsdeck(&["simulate", "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn simulate_seeds_an_empty_database_and_stops_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sim.db").display());
    let out = opsdeck(&["migrate", "--database-url", &url]);
    assert!(out.status.success());
    let out = opsdeck(&[
        "simulate",
        "--database-url",
        &url,
        "--duration",
        "2s",
        "--speed",
        "20",
        "--seed",
        "3",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("seeded in"), "{stdout}");
    assert!(stdout.contains("jobs/s"), "{stdout}");
    // populated now: the second run drives it without seeding again
    let out = opsdeck(&["simulate", "--database-url", &url, "--duration", "1s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!stdout.contains("seeded in"), "{stdout}");
}
