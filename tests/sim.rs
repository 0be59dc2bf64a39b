//! The simulated engine on real databases: the seed scenario and the job-queue semantics.
//! Every `store_test!` runs on Postgres and on SQLite.

mod common;
mod simkit;

use std::time::Duration;

use chrono::Utc;
use opsdeck::api::db::Val;
use opsdeck::sim::seed::{self, PAUSED_WORKFLOW};
use opsdeck::sim::{Engine, EngineConfig};
use simkit::*;

use common::TestStore;

const SEED_COUNTS: &str = "SELECT (SELECT count(*) FROM people) AS people, \
     (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM workflows) AS workflows, \
     (SELECT count(*) FROM tickets WHERE status = 'sold') AS tickets, \
     (SELECT count(*) FROM workflow_executions) AS runs, (SELECT count(*) FROM job_queue) AS jobs";

async fn seed_counts(s: &opsdeck::api::Store) -> Vec<i64> {
    let r = s.db.fetch_one(SEED_COUNTS, &[]).await.expect("counts");
    ["people", "events", "workflows", "tickets", "runs", "jobs"]
        .iter()
        .map(|c| r.n(c))
        .collect()
}

async fn names(s: &opsdeck::api::Store, sql: &str) -> Vec<String> {
    s.db.fetch_all(sql, &[])
        .await
        .expect(sql)
        .iter()
        .map(|r| r.s("x"))
        .collect()
}

async fn same_seed_same_scenario(s: TestStore) {
    assert!(!seed::is_seeded(&s).await.unwrap());
    let now = Utc::now();
    let a = seed::seed_scenario(&s, 7, now).await.expect("seed");
    println!("{a}");
    assert!(seed::is_seeded(&s).await.unwrap());
    let other = fresh_like(&s).await;
    let b = seed::seed_scenario(&other, 7, now)
        .await
        .expect("seed again");
    assert_eq!(a.counts(), b.counts());
    assert_eq!(seed_counts(&s).await, seed_counts(&other).await);
    assert_eq!(seed_counts(&s).await[3], a.tickets as i64);
    let q = "SELECT name || '|' || COALESCE(phone, '-') || '|' || language AS x FROM people ORDER BY id";
    assert_eq!(names(&s, q).await, names(&other, q).await);
    let q = "SELECT id || name AS x FROM events ORDER BY id";
    assert_eq!(names(&s, q).await, names(&other, q).await);
    // a different seed gives different people
    let third = fresh_like(&s).await;
    seed::seed_scenario(&third, 8, now).await.expect("seed 8");
    let q = "SELECT name AS x FROM people ORDER BY id";
    assert_ne!(names(&s, q).await, names(&third, q).await);
}
store_test!(same_seed_same_scenario, super::same_seed_same_scenario);

async fn scenario_satisfies_the_contract(s: TestStore) {
    let rep = seed::seed_scenario(&s, 42, Utc::now()).await.expect("seed");
    println!("{rep}");
    // every workflow the seeds name
    let wfs = names(&s, "SELECT name AS x FROM workflows").await;
    for name in [
        "Model Booking Request",
        "Bulk Model Booking",
        "Model Substitution",
        "Rate Negotiation",
        "Capacity Monitoring",
        "Event Countdown",
        "Unified Messaging",
        "Emergency Broadcast System",
        "Payment Processing Hub",
        "Escrow Management",
        "Automated Payout",
        "Payment Reconciliation",
        "Portfolio Auto-Evaluation",
        "Error Analysis & Recovery",
        "Event Launch Marketing Sequence",
        "Sponsor Outreach",
        "Attendee Engagement",
        "Deliverable Tracking",
        "Post-Event Follow-up",
        "Client Provisioning",
    ] {
        assert!(wfs.iter().any(|w| w == name), "missing workflow {name}");
    }
    let bad_trigger = count(
        &s,
        "SELECT count(*) AS n FROM workflows WHERE trigger_type NOT IN ('webhook', 'schedule', 'event', 'db_change')",
        &[],
    )
    .await;
    assert_eq!(bad_trigger, 0);
    // every person reachable but the deliberate three
    let unreachable = count(
        &s,
        "SELECT count(*) AS n FROM people WHERE primary_channel IS NULL AND phone IS NULL AND email IS NULL",
        &[],
    )
    .await;
    assert_eq!(unreachable, 3);
    let no_channel = count(
        &s,
        "SELECT count(*) AS n FROM people WHERE (phone IS NULL AND email IS NULL) \
         OR primary_channel IS NULL OR primary_channel NOT IN ('whatsapp', 'sms', 'email')",
        &[],
    )
    .await;
    assert_eq!(no_channel, 3, "only the deliberate three lack a channel");
    // events: 3+ at 2 venues, capacities in range, never oversold, counter matches tickets
    assert!(count(&s, "SELECT count(*) AS n FROM events", &[]).await >= 3);
    assert_eq!(
        count(
            &s,
            "SELECT count(DISTINCT venue_name) AS n FROM events",
            &[]
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM events WHERE capacity < 10 OR capacity > 10000 OR tickets_sold > capacity",
            &[]
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM events e WHERE e.tickets_sold <> \
             (SELECT count(*) FROM tickets t WHERE t.event_id = e.id AND t.status = 'sold')",
            &[]
        )
        .await,
        0
    );
    // every ticket sold is a person at its event (its buyer), so "everyone at the event" is as
    // many people as tickets, plus models and staff
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM events e WHERE e.tickets_sold <> \
             (SELECT count(*) FROM event_attendees a JOIN tickets t ON t.id = a.ticket_id \
              WHERE a.event_id = e.id AND t.status = 'sold')",
            &[]
        )
        .await,
        0
    );
    let soon = Utc::now() + chrono::Duration::hours(6);
    assert!(
        count(
            &s,
            "SELECT count(*) AS n FROM events WHERE start_at <= $1",
            &[Val::Ts(soon)]
        )
        .await
            >= 3,
        "three events today"
    );
    // people at each event; some models not confirmed
    for t in ["event_attendees", "event_staff"] {
        assert!(
            count(
                &s,
                &format!("SELECT count(DISTINCT event_id) AS n FROM {t}"),
                &[]
            )
            .await
                >= 5
        );
    }
    assert!(
        count(
            &s,
            "SELECT count(*) AS n FROM event_models WHERE status = 'confirmed'",
            &[]
        )
        .await
            > 20
    );
    assert!(
        count(
            &s,
            "SELECT count(*) AS n FROM event_models WHERE status <> 'confirmed'",
            &[]
        )
        .await
            >= 2
    );
    // history: runs of every status the console shows, errors, approvals, reconciliation
    for st in ["completed", "failed", "running", "waiting", "cancelled"] {
        assert!(
            count(
                &s,
                "SELECT count(*) AS n FROM workflow_executions WHERE status = $1",
                &[Val::Text(st.into())]
            )
            .await
                > 0,
            "no {st} run"
        );
    }
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM workflow_executions WHERE status = 'waiting'",
            &[]
        )
        .await,
        count(
            &s,
            "SELECT count(*) AS n FROM approval_requests WHERE status = 'pending'",
            &[]
        )
        .await
    );
    for k in ["missing_in_db", "amount_mismatch", "missing_in_stripe"] {
        assert!(
            count(&s, "SELECT count(*) AS n FROM reconciliation_discrepancies WHERE kind = $1 AND status = 'open'", &[Val::Text(k.into())]).await > 0,
            "no open {k}"
        );
    }
    let bad_err = count(
        &s,
        "SELECT count(*) AS n FROM workflow_errors WHERE error_type NOT IN \
         ('timeout', 'rate_limit', 'network', 'authentication_failed', 'validation', 'unknown')",
        &[],
    )
    .await;
    assert_eq!(bad_err, 0);
    assert!(count(&s, "SELECT count(*) AS n FROM system_metrics", &[]).await >= 20);
    assert!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'processing'",
            &[]
        )
        .await
            == 0
    );
    // the saga's failed runs show their rollback steps
    assert!(
        count(
            &s,
            "SELECT count(*) AS n FROM workflow_step_logs WHERE step_name LIKE 'rollback_%'",
            &[]
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM workflows WHERE status = 'paused' AND name = $1",
            &[Val::Text(PAUSED_WORKFLOW.into())]
        )
        .await,
        1
    );
}
store_test!(
    scenario_satisfies_the_contract,
    super::scenario_satisfies_the_contract
);

/// A paused workflow gets no claims and no new runs while the others proceed; resumed, it does.
async fn paused_workflow_is_left_alone(s: TestStore) {
    let active = add_workflow(&s, "Unified Messaging", "active").await;
    let paused = add_workflow(&s, "Model Booking Request", "paused").await;
    let a_jobs = add_jobs(&s, 60, "email.send", Some(active)).await;
    let p_jobs = add_jobs(&s, 40, "email.send", Some(paused)).await;
    let free = add_jobs(&s, 20, "analytics.sync", None).await;
    let t0 = Utc::now() - chrono::Duration::seconds(1);
    let cfg = EngineConfig {
        workers: 2,
        runs: true,
        runs_per_min: 1200.0,
        claim_batch: 7,
        ..EngineConfig::quiet(1)
    };
    let engine = Engine::start(s.store.clone(), cfg);
    let st = s.store.clone();
    wait_for("the active workflow's jobs and runs", Duration::from_secs(15), || {
        let st = st.clone();
        async move {
            count(&st, "SELECT count(*) AS n FROM job_queue WHERE workflow_id = $1 AND status = 'completed'", &[Val::Uuid(active)]).await >= 60
                && count(&st, "SELECT count(*) AS n FROM job_queue WHERE workflow_id IS NULL AND status = 'completed'", &[]).await >= 20
                && count(&st, "SELECT count(*) AS n FROM workflow_executions WHERE workflow_id = $1 AND status = 'completed'", &[Val::Uuid(active)]).await >= 3
        }
    })
    .await;
    let _ = (a_jobs, free);
    for id in &p_jobs {
        assert_eq!(job_status(&s, *id).await, "pending");
    }
    assert_eq!(
        count(&s, "SELECT count(*) AS n FROM job_queue WHERE workflow_id = $1 AND (attempts > 0 OR locked_by IS NOT NULL)", &[Val::Uuid(paused)]).await,
        0
    );
    assert_eq!(
        count(&s, "SELECT count(*) AS n FROM workflow_executions WHERE workflow_id = $1 AND started_at >= $2", &[Val::Uuid(paused), Val::Ts(t0)]).await,
        0,
        "a paused workflow started a run"
    );
    // resume: now it proceeds
    exec(
        &s,
        "UPDATE workflows SET status = 'active' WHERE id = $1",
        &[Val::Uuid(paused)],
    )
    .await;
    let st = s.store.clone();
    wait_for("the resumed workflow's jobs", Duration::from_secs(10), || {
        let st = st.clone();
        async move {
            count(&st, "SELECT count(*) AS n FROM job_queue WHERE workflow_id = $1 AND status = 'pending'", &[Val::Uuid(paused)]).await == 0
                && count(&st, "SELECT count(*) AS n FROM workflow_executions WHERE workflow_id = $1", &[Val::Uuid(paused)]).await > 0
        }
    })
    .await;
    let sum = engine.stop().await;
    println!("{sum}");
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'processing'",
            &[]
        )
        .await,
        0
    );
}
store_test!(
    paused_workflow_is_left_alone,
    super::paused_workflow_is_left_alone
);

/// An operator puts a failed job back to pending: a worker picks it up and completes it.
async fn operator_retry_completes(s: TestStore) {
    let id = add_jobs(&s, 1, "report.generate", None).await[0];
    exec(
        &s,
        "UPDATE job_queue SET status = 'failed', attempts = 3, error_message = 'Stripe API timeout' WHERE id = $1",
        &[Val::Uuid(id)],
    )
    .await;
    let engine = Engine::start(s.store.clone(), EngineConfig::quiet(2));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        job_status(&s, id).await,
        "failed",
        "a failed job must not be claimed"
    );
    exec(
        &s,
        "UPDATE job_queue SET status = 'pending', attempts = 0, error_message = NULL, scheduled_for = $2 WHERE id = $1",
        &[Val::Uuid(id), Val::Ts(Utc::now())],
    )
    .await;
    let st = s.store.clone();
    wait_for(
        "the retried job to complete",
        Duration::from_secs(10),
        || {
            let st = st.clone();
            async move { job_status(&st, id).await == "completed" }
        },
    )
    .await;
    let r =
        s.db.fetch_one(
            "SELECT attempts, locked_by, completed_at, error_message FROM job_queue WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await
        .unwrap();
    assert_eq!(r.n("attempts"), 1);
    assert!(engine.worker_ids().contains(&r.s("locked_by")));
    assert!(r.ts("completed_at").is_some());
    assert!(r.text("error_message").is_none());
    engine.stop().await;
}
store_test!(operator_retry_completes, super::operator_retry_completes);

/// Failures: a failed attempt becomes `retrying` with a later scheduled_for, then `failed` at
/// max_attempts, each attempt in workflow_errors with a contract error type.
async fn failing_job_retries_then_fails(s: TestStore) {
    let wf = add_workflow(&s, "AI Content", "active").await;
    let id = add_jobs(&s, 1, "content.generate", Some(wf)).await[0];
    exec(
        &s,
        "UPDATE job_queue SET max_attempts = 2 WHERE id = $1",
        &[Val::Uuid(id)],
    )
    .await;
    let cfg = EngineConfig {
        failure_scale: 1000.0, // every attempt fails
        speed: 100.0,          // 30 s retry delay → 0.3 s
        ..EngineConfig::quiet(3)
    };
    let engine = Engine::start(s.store.clone(), cfg);
    let st = s.store.clone();
    wait_for("the first failed attempt", Duration::from_secs(10), || {
        let st = st.clone();
        async move { job_status(&st, id).await != "pending" }
    })
    .await;
    let r = s
        .db
        .fetch_one("SELECT status, attempts, scheduled_for, error_message, locked_by FROM job_queue WHERE id = $1", &[Val::Uuid(id)])
        .await
        .unwrap();
    // (it may already be processing its second attempt)
    if r.s("status") == "retrying" {
        assert_eq!(r.n("attempts"), 1);
        assert!(r.ts("scheduled_for").unwrap() > Utc::now() - chrono::Duration::milliseconds(100));
        assert!(r.text("error_message").is_some());
        assert!(r.text("locked_by").is_none());
    }
    let st = s.store.clone();
    wait_for("the job to fail for good", Duration::from_secs(10), || {
        let st = st.clone();
        async move { job_status(&st, id).await == "failed" }
    })
    .await;
    let sum = engine.stop().await;
    let r =
        s.db.fetch_one(
            "SELECT attempts, error_message FROM job_queue WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await
        .unwrap();
    assert_eq!(r.n("attempts"), 2);
    assert!(r.text("error_message").is_some());
    assert_eq!(
        count(&s, "SELECT count(*) AS n FROM workflow_errors WHERE workflow_id = $1 AND error_type IN ('timeout', 'rate_limit', 'unknown')", &[Val::Uuid(wf)]).await,
        2
    );
    assert_eq!((sum.jobs_retried, sum.jobs_failed), (1, 1));
}
store_test!(
    failing_job_retries_then_fails,
    super::failing_job_retries_then_fails
);

/// Stop with jobs in flight: nothing is left in processing; released jobs are whole again.
async fn clean_stop_leaves_nothing_processing(s: TestStore) {
    let ids = add_jobs(&s, 300, "image.process", None).await;
    let cfg = EngineConfig {
        workers: 3,
        concurrency: 40,
        work_scale: 50.0, // jobs take seconds: plenty in flight at stop
        stop_grace: Duration::from_millis(200),
        ..EngineConfig::quiet(4)
    };
    let engine = Engine::start(s.store.clone(), cfg);
    let st = s.store.clone();
    wait_for("jobs in flight", Duration::from_secs(10), || {
        let st = st.clone();
        async move {
            count(
                &st,
                "SELECT count(*) AS n FROM job_queue WHERE status = 'processing'",
                &[],
            )
            .await
                >= 60
        }
    })
    .await;
    let sum = engine.stop().await;
    println!("{sum}");
    assert!(sum.released > 0, "{sum}");
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'processing'",
            &[]
        )
        .await,
        0
    );
    assert_eq!(count(&s, "SELECT count(*) AS n FROM job_queue WHERE locked_by IS NOT NULL AND status <> 'completed'", &[]).await, 0);
    // released jobs: pending again with the attempt not counted
    let pending = count(&s, "SELECT count(*) AS n FROM job_queue WHERE status = 'pending' AND attempts = 0 AND started_at IS NULL", &[]).await;
    let completed = count(
        &s,
        "SELECT count(*) AS n FROM job_queue WHERE status = 'completed'",
        &[],
    )
    .await;
    assert_eq!(pending + completed, ids.len() as i64);
    assert!(pending > 0);
}
store_test!(
    clean_stop_leaves_nothing_processing,
    super::clean_stop_leaves_nothing_processing
);

/// system_metrics every few (simulated) seconds: queue depth = pending + retrying, and the
/// machine's CPU and memory from /proc.
async fn metrics_are_written(s: TestStore) {
    add_jobs(&s, 7, "email.send", None).await;
    let wf = add_workflow(&s, "Paused One", "paused").await;
    add_jobs(&s, 5, "email.send", Some(wf)).await;
    let cfg = EngineConfig {
        workers: 0,
        metrics: true,
        speed: 20.0,
        ..EngineConfig::quiet(6)
    };
    let engine = Engine::start(s.store.clone(), cfg);
    let st = s.store.clone();
    wait_for("three metrics rows", Duration::from_secs(10), || {
        let st = st.clone();
        async move { count(&st, "SELECT count(*) AS n FROM system_metrics", &[]).await >= 3 }
    })
    .await;
    engine.stop().await;
    let rows =
        s.db.fetch_all(
            "SELECT cpu_usage, memory_usage, queue_depth FROM system_metrics",
            &[],
        )
        .await
        .unwrap();
    for r in rows {
        assert_eq!(r.n("queue_depth"), 12);
        if cfg!(target_os = "linux") {
            let (cpu, mem) = (r.f64("cpu_usage").unwrap(), r.f64("memory_usage").unwrap());
            assert!((0.0..=100.0).contains(&cpu) && (0.0..=100.0).contains(&mem));
        }
    }
}
store_test!(metrics_are_written, super::metrics_are_written);

/// The seed reproduces behaviour, not row ids: the same seed run twice on one database (the
/// demo restarting) writes new rows without a single conflict.
async fn same_seed_twice_on_one_database(s: TestStore) {
    seed::seed_scenario(&s, 42, Utc::now()).await.expect("seed");
    let cfg = || EngineConfig {
        rate: 200.0,
        runs: true,
        runs_per_min: 600.0,
        sales: true,
        metrics: true,
        speed: 10.0,
        failure_scale: 1.0,
        ..EngineConfig::quiet(42)
    };
    for round in 0..2 {
        let engine = Engine::start(s.store.clone(), cfg());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let sum = engine.stop().await;
        println!("round {round}: {sum}");
        assert_eq!(sum.db_errors, 0, "round {round}: {sum}");
        assert!(sum.jobs_enqueued > 100 && sum.runs_started > 3, "{sum}");
    }
}
store_test!(
    same_seed_twice_on_one_database,
    super::same_seed_twice_on_one_database
);
