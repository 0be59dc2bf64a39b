//! The per-minute rollups (migrations 0005, 0006, 0008) against the base tables: after inserts,
//! status changes, moved timestamps and deletes, the overview's last-hour numbers read from the
//! rollups equal the direct counts over `workflow_executions` and `job_queue`. A window starts on
//! a whole minute (`window::start`): "the last hour" at hh:mm:20 counts from hh:mm:00 an hour
//! earlier, so the direct counts here use that start too.

mod common;

use chrono::{Duration, DurationRound, TimeDelta, Utc};
use common::TestStore;
use opsdeck::api::db::Val;
use uuid::Uuid;

/// The start of the minute of `since` (the window's start, see `window::start`).
fn window_start(since: opsdeck::domain::model::Ts) -> opsdeck::domain::model::Ts {
    since.duration_trunc(TimeDelta::minutes(1)).unwrap()
}

async fn direct(
    s: &TestStore,
    now: opsdeck::domain::model::Ts,
) -> (Vec<(String, i64)>, i64, i64, Vec<(String, i64)>) {
    let hour = [Val::Ts(window_start(now - Duration::hours(1)))];
    let started =
        s.db.fetch_all(
            "SELECT status, count(*) AS n FROM workflow_executions WHERE started_at >= $1 \
             GROUP BY status ORDER BY status",
            &hour,
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.s("status"), r.n("n")))
        .collect();
    let mut done = (0, 0);
    for r in s
        .db
        .fetch_all(
            "SELECT status, count(*) AS n FROM workflow_executions WHERE completed_at >= $1 GROUP BY status",
            &hour,
        )
        .await
        .unwrap()
    {
        match r.s("status").as_str() {
            "completed" => done.0 = r.n("n"),
            "failed" => done.1 = r.n("n"),
            _ => {}
        }
    }
    let failing = s
        .db
        .fetch_all(
            "SELECT w.name, count(*) AS n FROM workflow_executions e JOIN workflows w ON w.id = e.workflow_id \
             WHERE e.completed_at >= $1 AND e.status = 'failed' GROUP BY e.workflow_id, w.name \
             ORDER BY n DESC, w.name LIMIT 5",
            &hour,
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.s("name"), r.n("n")))
        .collect();
    (started, done.0, done.1, failing)
}

/// The Workflows view's numbers straight from the base table: per workflow, runs started since
/// `since`, completed and failed among runs finished since then, and the nearest-rank p95
/// (rank ceil(0.95·n)) of their durations.
async fn direct_stats(
    s: &TestStore,
    since: opsdeck::domain::model::Ts,
) -> Vec<(Uuid, i64, i64, i64, Option<i64>)> {
    let mut out = Vec::new();
    for w in
        s.db.fetch_all("SELECT id FROM workflows ORDER BY name", &[])
            .await
            .unwrap()
    {
        let id = w.id("id");
        let wv = [Val::Ts(window_start(since)), Val::Uuid(id)];
        let n = |sql: &'static str| {
            let wv = wv.clone();
            async move { s.db.fetch_one(sql, &wv).await.unwrap().n("n") }
        };
        let runs = n("SELECT count(*) AS n FROM workflow_executions WHERE started_at >= $1 AND workflow_id = $2").await;
        let completed = n("SELECT count(*) AS n FROM workflow_executions WHERE completed_at >= $1 AND workflow_id = $2 AND status = 'completed'").await;
        let failed = n("SELECT count(*) AS n FROM workflow_executions WHERE completed_at >= $1 AND workflow_id = $2 AND status = 'failed'").await;
        let durations: Vec<i64> =
            s.db.fetch_all(
                "SELECT duration_ms FROM workflow_executions WHERE completed_at >= $1 \
                 AND workflow_id = $2 AND duration_ms IS NOT NULL \
                 AND status IN ('completed', 'failed') ORDER BY duration_ms",
                &wv,
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.n("duration_ms"))
            .collect();
        let p95 =
            (!durations.is_empty()).then(|| durations[(durations.len() * 95).div_ceil(100) - 1]);
        out.push((id, runs, completed, failed, p95));
    }
    out
}

async fn rollup_body(s: TestStore) {
    // `now` 20 s into a minute: the window starts at the start of the minute of `now - 1h`
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap() + Duration::seconds(20);
    let mut wfs = Vec::new();
    for i in 0..7 {
        let id = Uuid::new_v4();
        s.db.execute(
            "INSERT INTO workflows (id, name) VALUES ($1, $2)",
            &[Val::Uuid(id), Val::Text(format!("wf-{i}"))],
        )
        .await
        .unwrap();
        wfs.push(id);
    }
    let mut runs = Vec::new();
    // 400 runs over the last two hours, dense around the window's edge
    for i in 0..400i64 {
        let id = Uuid::new_v4();
        let started = if i % 4 == 0 {
            now - Duration::hours(1) + Duration::seconds(i % 90 - 45)
        } else {
            now - Duration::seconds(i * 17 % 7200)
        };
        let status = ["completed", "failed", "running", "waiting", "pending"][(i % 5) as usize];
        let done =
            matches!(status, "completed" | "failed").then(|| started + Duration::seconds(i % 70));
        s.db.execute(
            "INSERT INTO workflow_executions (id, workflow_id, status, started_at, completed_at, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Val::Uuid(id),
                Val::Uuid(wfs[(i % 7) as usize]),
                Val::Text(status.into()),
                Val::Ts(started),
                Val::OptTs(done),
                Val::OptI64(done.map(|_| i * 10)),
            ],
        )
        .await
        .unwrap();
        runs.push((id, started));
    }
    let check = |label: &'static str| {
        let s = &s;
        async move {
            let o = s.overview(now).await.unwrap();
            let (started, completed, failed, failing) = direct(s, now).await;
            assert_eq!(o.runs_last_hour, started, "{label}: started by status");
            assert_eq!(
                (o.completed_last_hour, o.failed_last_hour),
                (completed, failed),
                "{label}: finished"
            );
            let got: Vec<(String, i64)> = o
                .top_failing
                .iter()
                .map(|f| (f.name.clone(), f.failures))
                .collect();
            assert_eq!(got, failing, "{label}: top failing");
            assert!(!started.is_empty(), "{label}: the window is not empty");
            // the Workflows view (rollup counts, p95) over windows that start mid-minute
            for since in [now - Duration::hours(1), now - Duration::minutes(97)] {
                let mut got: Vec<_> = s
                    .workflow_stats(since)
                    .await
                    .unwrap()
                    .iter()
                    .map(|w| (w.workflow.id, w.runs, w.completed, w.failed, w.p95_ms))
                    .collect();
                let mut want = direct_stats(s, since).await;
                got.sort();
                want.sort();
                assert_eq!(got, want, "{label}: workflow stats since {since}");
                assert!(want.iter().any(|w| w.4.is_some()), "{label}: some p95");
            }
        }
    };
    check("inserted").await;
    // running → completed / failed, one batch per statement
    for (k, (id, started)) in runs.iter().enumerate().filter(|(k, _)| k % 5 == 2) {
        let status = if k % 3 == 0 { "failed" } else { "completed" };
        s.db.execute(
            "UPDATE workflow_executions SET status = $1, completed_at = $2, duration_ms = 5 WHERE id = $3",
            &[Val::Text(status.into()), Val::OptTs(Some(*started + Duration::seconds(30))), Val::Uuid(*id)],
        )
        .await
        .unwrap();
    }
    check("finished").await;
    // timestamps moved across the edge, workflows changed, rows deleted
    s.db.execute(
        "UPDATE workflow_executions SET started_at = $1 WHERE id = $2",
        &[Val::Ts(now - Duration::minutes(90)), Val::Uuid(runs[1].0)],
    )
    .await
    .unwrap();
    s.db.execute(
        "UPDATE workflow_executions SET workflow_id = $1 WHERE id = $2",
        &[Val::Uuid(wfs[0]), Val::Uuid(runs[3].0)],
    )
    .await
    .unwrap();
    for (id, _) in runs.iter().step_by(11) {
        s.db.execute(
            "DELETE FROM workflow_executions WHERE id = $1",
            &[Val::Uuid(*id)],
        )
        .await
        .unwrap();
    }
    check("moved and deleted").await;
    // an update that touches no counted column leaves the rollup alone
    s.db.execute(
        "UPDATE workflow_executions SET current_step = 'x', updated_at = $1",
        &[Val::Ts(now)],
    )
    .await
    .unwrap();
    check("untouched").await;
}

store_test!(
    overview_counts_from_the_rollup_equal_direct_counts,
    rollup_body
);

/// The completed-jobs rollup (migration 0006): the queue depth's "completed in the last hour",
/// read from the rollup (whole minutes from the window start), equals the direct count over
/// `job_queue` after inserts, status changes, moved timestamps, deletes and a bulk change.
async fn jobs_rollup_body(s: TestStore) {
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap() + Duration::seconds(20);
    let since = window_start(now - Duration::hours(1));
    let mut jobs = Vec::new();
    // 300 jobs over the last two hours, dense around the window's edge
    for i in 0..300i64 {
        let id = Uuid::new_v4();
        let done_at = if i % 3 == 0 {
            since + Duration::seconds(i % 100 - 50)
        } else {
            now - Duration::seconds(i * 23 % 7200)
        };
        let status =
            ["completed", "completed", "failed", "pending", "processing"][(i % 5) as usize];
        let completed_at = matches!(status, "completed" | "failed").then_some(done_at);
        s.db.execute(
            "INSERT INTO job_queue (id, job_type, status, completed_at) VALUES ($1, $2, $3, $4)",
            &[
                Val::Uuid(id),
                Val::Text(["email", "sms"][(i % 2) as usize].into()),
                Val::Text(status.into()),
                Val::OptTs(completed_at),
            ],
        )
        .await
        .unwrap();
        jobs.push(id);
    }
    let check = |label: &'static str| {
        let s = &s;
        async move {
            let got = s.queue_depth(now).await.unwrap().completed_last_hour;
            let want = s
                .db
                .fetch_one(
                    "SELECT count(*) AS n FROM job_queue WHERE status = 'completed' AND completed_at >= $1",
                    &[Val::Ts(since)],
                )
                .await
                .unwrap()
                .n("n");
            assert!(want > 20, "{label}: the window holds completed jobs");
            assert_eq!(got, want, "{label}");
        }
    };
    check("inserted").await;
    // pending/processing → completed now; failed → completed at the edge; completed → pending
    for (k, id) in jobs.iter().enumerate() {
        let (status, at) = match k % 5 {
            2 => (
                "completed",
                Some(since + Duration::seconds(k as i64 % 40 - 20)),
            ),
            3 | 4 if k % 2 == 0 => ("completed", Some(now - Duration::seconds(5))),
            0 if k % 7 == 0 => ("pending", None),
            _ => continue,
        };
        s.db.execute(
            "UPDATE job_queue SET status = $1, completed_at = $2 WHERE id = $3",
            &[Val::Text(status.into()), Val::OptTs(at), Val::Uuid(*id)],
        )
        .await
        .unwrap();
    }
    check("status changes").await;
    // completed_at moved out of and into the window, rows deleted
    s.db.execute(
        "UPDATE job_queue SET completed_at = $1 WHERE id = $2",
        &[Val::Ts(since - Duration::minutes(3)), Val::Uuid(jobs[1])],
    )
    .await
    .unwrap();
    s.db.execute(
        "UPDATE job_queue SET completed_at = $1 WHERE id = $2",
        &[Val::Ts(now - Duration::minutes(3)), Val::Uuid(jobs[6])],
    )
    .await
    .unwrap();
    for id in jobs.iter().step_by(13) {
        s.db.execute("DELETE FROM job_queue WHERE id = $1", &[Val::Uuid(*id)])
            .await
            .unwrap();
    }
    check("moved and deleted").await;
    // one statement changing many rows (as a bulk retry or a cleanup does)
    s.db.execute(
        "UPDATE job_queue SET status = 'failed' WHERE status = 'completed' AND job_type = 'sms'",
        &[],
    )
    .await
    .unwrap();
    s.db.execute(
        "UPDATE job_queue SET attempts = attempts + 1, updated_at = $1",
        &[Val::Ts(now)],
    )
    .await
    .unwrap();
    check("bulk").await;
}

store_test!(
    completed_jobs_from_the_rollup_equal_direct_count,
    jobs_rollup_body
);

/// Migrations 0006 and 0008 on a database that already holds runs and jobs (applied up to 0005
/// first, then the rest): the backfilled rollups match the base rows, and keep matching after
/// more changes through the new triggers (Postgres; SQLite's backfill is the same SELECT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_backfilled_on_a_filled_database_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let pool = s.db.pg_pool().expect("postgres").clone();
    let mut upto5 = sqlx::migrate!("migrations/postgres");
    upto5.migrations = upto5
        .migrations
        .iter()
        .filter(|m| m.version <= 5)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    upto5.run(&pool).await.expect("migrations up to 0005");
    assert!(s.pending_migrations().await > 0, "0006… still to come");
    let now = Utc::now();
    let exec = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    };
    exec("INSERT INTO workflows (name) SELECT 'wf-' || i FROM generate_series(1, 5) i").await;
    exec(
        "INSERT INTO workflow_executions (workflow_id, status, started_at, completed_at) \
         SELECT (SELECT id FROM workflows ORDER BY name OFFSET (i % 5) LIMIT 1), \
           (ARRAY['completed', 'failed', 'running', 'waiting'])[1 + i % 4], \
           now() - make_interval(secs => i * 7), \
           CASE WHEN i % 4 < 2 THEN now() - make_interval(secs => i * 7 - 3) END \
         FROM generate_series(1, 2000) i",
    )
    .await;
    exec(
        "INSERT INTO job_queue (job_type, status, completed_at) \
         SELECT 'email', (ARRAY['completed', 'failed', 'pending'])[1 + i % 3], \
           CASE WHEN i % 3 < 2 THEN now() - make_interval(secs => i * 5) END \
         FROM generate_series(1, 3000) i",
    )
    .await;
    let s = common::migrated(s).await;
    let drift = |label: &'static str| {
        let s = &s;
        async move {
            let o = s.overview(now).await.unwrap();
            let (started, completed, failed, _) = direct(s, now).await;
            assert_eq!(o.runs_last_hour, started, "{label}: started");
            assert_eq!(
                (o.completed_last_hour, o.failed_last_hour),
                (completed, failed),
                "{label}: finished"
            );
            let jobs = s
                .db
                .fetch_one(
                    "SELECT count(*) AS n FROM job_queue WHERE status = 'completed' AND completed_at >= $1",
                    &[Val::Ts(window_start(now - Duration::hours(1)))],
                )
                .await
                .unwrap()
                .n("n");
            assert_eq!(o.queue.completed_last_hour, jobs, "{label}: jobs");
            assert!(
                jobs > 100 && completed > 100,
                "{label}: the hour is not empty"
            );
        }
    };
    drift("backfilled").await;
    exec("UPDATE workflow_executions SET status = 'waiting' WHERE status = 'running' AND random() < 0.5").await;
    exec("UPDATE workflow_executions SET status = 'failed', completed_at = now() WHERE status = 'waiting' AND random() < 0.3").await;
    exec(
        "UPDATE job_queue SET status = 'completed', completed_at = now() WHERE status = 'pending'",
    )
    .await;
    exec("DELETE FROM job_queue WHERE random() < 0.1").await;
    drift("changed after the migration").await;
}
