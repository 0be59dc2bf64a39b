//! Load on Postgres: the simulated engine at 500 jobs/s (with the demo's runs, ticket sales and
//! metrics), three consoles refreshing their views and one operator retrying every failed job
//! each second, for 15 s. No party sees an error (no deadlock, SQLSTATE 40P01, or anything
//! else), Postgres counts no deadlock, every bulk retry changed exactly the rows it reported
//! (checked against a transition log written by a trigger, per transaction), no job moved out
//! of `completed` or was retried by anyone but the operator (no lost update), the per-minute
//! rollups (runs, run totals, completed jobs) still match the rows, and the engine kept making
//! progress all along.
//! Timing is not asserted here: `opsdeck bench load` measures it.

mod common;

use std::time::Duration;

use opsdeck::api::Store;
use opsdeck::api::db::Val;
use opsdeck::bench::load::{self, LoadConfig};
use opsdeck::domain::action::Outcome;

async fn count(s: &Store, sql: &str, args: &[Val]) -> i64 {
    s.db.fetch_one(sql, args)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n("n")
}

/// A rollup's rows (`rollup`) equal the same counts straight from the base table (`base`).
async fn assert_no_drift(s: &Store, rollup: &str, base: &str, label: &str) {
    let diff = count(
        s,
        &format!(
            "WITH r AS ({rollup}), b AS ({base}) \
             SELECT count(*) AS n FROM ((SELECT * FROM r EXCEPT SELECT * FROM b) \
               UNION ALL (SELECT * FROM b EXCEPT SELECT * FROM r)) d"
        ),
        &[],
    )
    .await;
    assert_eq!(diff, 0, "{label} drifted from its base rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_three_consoles_and_bulk_retries_without_deadlock_or_lost_update() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    opsdeck::sim::seed::seed_scenario(&s, 7, chrono::Utc::now())
        .await
        .expect("seed");
    // every status change of a job, with the (32-bit) id of the transaction that made it
    s.db.execute_script(
        "CREATE TABLE job_moves (seq bigserial PRIMARY KEY, job_id uuid NOT NULL, \
           old text NOT NULL, new text NOT NULL, xid bigint NOT NULL, \
           at timestamptz NOT NULL DEFAULT clock_timestamp());
         CREATE FUNCTION job_moves_fn() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           INSERT INTO job_moves (job_id, old, new, xid)
             VALUES (NEW.id, OLD.status, NEW.status, txid_current() % 4294967296);
           RETURN NULL;
         END $$;
         CREATE TRIGGER job_moves_trg AFTER UPDATE OF status ON job_queue FOR EACH ROW
           WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION job_moves_fn();",
    )
    .await
    .expect("transition log");
    // the demo's history has failed jobs already: the operator has work from the first second
    let failed_at_start = count(
        &s,
        "SELECT count(*) AS n FROM job_queue WHERE status = 'failed'",
        &[],
    )
    .await;
    let t0 = chrono::Utc::now();
    let res = load::run(
        &s.store.target,
        &LoadConfig {
            consoles: 3,
            duration: Duration::from_secs(15),
            engine: Some(load::engine_config(500.0, 7)),
            retry_every: Duration::from_secs(1),
        },
    )
    .await
    .expect("load run");
    let engine = res.engine.clone().expect("engine summary");
    println!(
        "engine: {engine}\nrefreshes: {} (p50 {:.1} ms, p95 {:.1} ms) · bulk retries: {} · failed at start: {failed_at_start}",
        res.refresh_ms.len(),
        res.p(0.5),
        res.p(0.95),
        res.retries.len()
    );
    println!(
        "lock waits in {} samples: {:?}",
        res.lock_samples, res.lock_waits
    );

    // no party saw an error; Postgres counted no deadlock
    assert!(res.errors.is_empty(), "errors: {:#?}", res.errors);
    assert_eq!(res.pg_deadlocks, 0, "pg_stat_database.deadlocks moved");
    assert_eq!(engine.db_errors, 0, "the engine rode out errors: {engine}");
    // every console kept refreshing (at most every 250 ms for 15 s)
    assert!(
        res.refresh_ms.len() >= 3 * 15,
        "{} refreshes",
        res.refresh_ms.len()
    );

    // the operator's retries: each reported count = the rows its transaction moved failed →
    // pending = the count in its audit row; nobody else retried a job
    let applied: Vec<_> = res
        .retries
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .collect();
    assert!(
        applied.len() >= 3,
        "the operator retried too rarely to test anything: {:?}",
        res.retries
    );
    for r in &res.retries {
        assert!(
            matches!(r.outcome, Outcome::Ok | Outcome::Conflict),
            "{r:?}"
        );
        let id = r.audit_id.expect("audit row");
        let row =
            s.db.fetch_one(
                "SELECT xmin::text::bigint AS x, outcome, (after->>'count')::bigint AS c \
                 FROM operator_actions WHERE id = $1",
                &[Val::Uuid(id)],
            )
            .await
            .expect("the reported audit row exists");
        let moved = count(
            &s,
            "SELECT count(*) AS n FROM job_moves WHERE xid = $1 AND old = 'failed' AND new = 'pending'",
            &[Val::I64(row.n("x"))],
        )
        .await;
        assert_eq!(moved as u64, r.changed, "rows moved vs reported: {r:?}");
        assert_eq!(row.n("c") as u64, r.changed, "audit row vs reported: {r:?}");
        assert_eq!(row.s("outcome"), r.outcome.as_str());
    }
    let reported: u64 = res.retries.iter().map(|r| r.changed).sum();
    let moved = count(
        &s,
        "SELECT count(*) AS n FROM job_moves WHERE old = 'failed' AND new = 'pending'",
        &[],
    )
    .await;
    assert_eq!(moved as u64, reported, "retries outside the reported ones");
    assert!(reported > 0);
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM operator_actions WHERE action = 'job.retry_failed' AND at >= $1",
            &[Val::Ts(t0)],
        )
        .await,
        res.retries.len() as i64,
        "one audit row per bulk retry"
    );

    // no lost update: completed is final; failed only goes back to pending (the operator);
    // only a processing job completes
    let illegal =
        s.db.fetch_all(
            "SELECT old, new, count(*) AS n FROM job_moves \
             WHERE old = 'completed' OR (old = 'failed' AND new <> 'pending') \
                OR (new = 'completed' AND old <> 'processing') GROUP BY old, new",
            &[],
        )
        .await
        .unwrap();
    let illegal: Vec<String> = illegal
        .iter()
        .map(|r| format!("{} → {}: {}", r.s("old"), r.s("new"), r.n("n")))
        .collect();
    assert!(illegal.is_empty(), "illegal transitions: {illegal:?}");
    // a retried job is pending again or further along, never silently failed again without
    // being processed: its next move after the retry is a claim
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_moves r JOIN LATERAL ( \
               SELECT m.old, m.new FROM job_moves m WHERE m.job_id = r.job_id AND m.seq > r.seq \
               ORDER BY m.seq LIMIT 1) nx ON true \
             WHERE r.old = 'failed' AND r.new = 'pending' AND NOT (nx.old = 'pending' AND nx.new = 'processing')",
            &[],
        )
        .await,
        0,
        "a retried job moved other than by being claimed"
    );

    // the engine made progress throughout: completions in each third of the run
    let span = count(
        &s,
        "SELECT (extract(epoch FROM max(at) - min(at)) * 1000)::bigint AS n FROM job_moves WHERE new = 'completed'",
        &[],
    )
    .await;
    assert!(engine.jobs_completed >= 1_000, "{engine}");
    for third in 0..3 {
        let n = count(
            &s,
            "WITH b AS (SELECT min(at) AS t FROM job_moves WHERE new = 'completed') \
             SELECT count(*) AS n FROM job_moves, b WHERE new = 'completed' \
               AND at >= b.t + make_interval(secs => $1::bigint / 1000.0) \
               AND at < b.t + make_interval(secs => $2::bigint / 1000.0)",
            &[
                Val::I64(span * third / 3),
                Val::I64(span * (third + 1) / 3 + 1),
            ],
        )
        .await;
        assert!(n > 0, "no completion in third {third} of the run");
    }

    // the per-minute rollups (migrations 0005, 0006, 0008) still match the rows exactly
    for (kind, col) in [("started", "started_at"), ("finished", "completed_at")] {
        let base = |keys: &str| {
            format!(
                "SELECT date_trunc('minute', {col}) AS minute, {keys}, count(*) AS n \
                 FROM workflow_executions WHERE {col} IS NOT NULL GROUP BY 1, {keys}"
            )
        };
        let rollup = |table: &str, keys: &str| {
            format!(
                "SELECT minute, {keys}, sum(n) AS n FROM {table} WHERE kind = '{kind}' \
                 GROUP BY minute, {keys} HAVING sum(n) <> 0"
            )
        };
        let (k1, k2) = ("workflow_id, status", "status");
        assert_no_drift(&s, &rollup("run_minutes", k1), &base(k1), "run_minutes").await;
        // the all-workflows totals (0008), written by 8 slots at once
        assert_no_drift(&s, &rollup("run_totals", k2), &base(k2), "run_totals").await;
    }
    // the completed-jobs rollup (0006) matches the completed jobs, minute by minute
    assert_no_drift(
        &s,
        "SELECT minute, sum(n) AS n FROM job_minutes GROUP BY 1 HAVING sum(n) <> 0",
        "SELECT date_trunc('minute', completed_at) AS minute, count(*) AS n FROM job_queue \
         WHERE status = 'completed' AND completed_at IS NOT NULL GROUP BY 1",
        "job_minutes",
    )
    .await;
    // and the sold-ticket counters match the tickets
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM events e WHERE tickets_sold <> \
             (SELECT count(*) FROM tickets t WHERE t.event_id = e.id AND t.status = 'sold')",
            &[],
        )
        .await,
        0,
        "events.tickets_sold drifted"
    );
    assert!(engine.runs_started > 0, "{engine}");
}
