//! The store on real Postgres and SQLite: migrations, every read on a hand-made fixture with
//! exact expected numbers, keyset paging with timestamp ties, and NOTIFY on Postgres.

mod common;

use chrono::{Duration, DurationRound, Utc};
use common::TestStore;
use opsdeck::api::db::Val;
use opsdeck::api::store::MigrationRefused;
use opsdeck::domain::model::{Cursor, ListFilter, Ts, thousands};
use uuid::Uuid;

/// "now", truncated to the millisecond so that both backends round-trip it exactly.
fn now() -> Ts {
    Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap()
}

async fn workflow(s: &TestStore, name: &str, status: &str) -> Uuid {
    let id = Uuid::now_v7();
    s.db.execute(
        "INSERT INTO workflows (id, name, trigger_type, status, paused_by, pause_reason) VALUES ($1, $2, 'webhook', $3, $4, $5)",
        &[
            Val::Uuid(id),
            name.into(),
            status.into(),
            Val::OptText((status == "paused").then(|| "ana@ops".to_string())),
            Val::OptText((status == "paused").then(|| "Stripe outage".to_string())),
        ],
    )
    .await
    .unwrap();
    id
}

#[allow(clippy::too_many_arguments)]
async fn run(
    s: &TestStore,
    wf: Uuid,
    status: &str,
    started: Ts,
    completed: Option<Ts>,
    dur: Option<i64>,
) -> Uuid {
    let id = Uuid::now_v7();
    s.db.execute(
        "INSERT INTO workflow_executions (id, workflow_id, status, started_at, completed_at, duration_ms, steps_total, steps_completed) \
         VALUES ($1, $2, $3, $4, $5, $6, 4, 2)",
        &[Val::Uuid(id), Val::Uuid(wf), status.into(), Val::Ts(started), Val::OptTs(completed), Val::OptI64(dur)],
    )
    .await
    .unwrap();
    id
}

async fn job(
    s: &TestStore,
    job_type: &str,
    status: &str,
    created: Ts,
    completed: Option<Ts>,
) -> Uuid {
    let id = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO job_queue (id, job_type, status, created_at, updated_at, scheduled_for, completed_at) VALUES ($1, $2, $3, $4, $4, $4, $5)",
        &[Val::Uuid(id), job_type.into(), status.into(), Val::Ts(created), Val::OptTs(completed)],
    )
    .await
    .unwrap();
    id
}

async fn error(s: &TestStore, wf: Uuid, kind: &str, msg: &str, at: Ts) {
    s.db.execute(
        "INSERT INTO workflow_errors (id, workflow_id, error_type, error_message, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[Val::Uuid(Uuid::new_v4()), Val::Uuid(wf), kind.into(), msg.into(), Val::Ts(at)],
    )
    .await
    .unwrap();
}

async fn event(
    s: &TestStore,
    name: &str,
    capacity: i64,
    sold: i64,
    refunded: i64,
    now: Ts,
) -> Uuid {
    let id = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO events (id, name, venue_name, city, start_at, capacity, status) VALUES ($1, $2, 'Carrousel du Louvre', 'Paris', $3, $4, 'published')",
        &[Val::Uuid(id), name.into(), Val::Ts(now + Duration::hours(3)), Val::I64(capacity)],
    )
    .await
    .unwrap();
    for (n, status) in [(sold, "sold"), (refunded, "refunded")] {
        for _ in 0..n {
            s.db.execute(
                "INSERT INTO tickets (id, event_id, status) VALUES ($1, $2, $3)",
                &[Val::Uuid(Uuid::new_v4()), Val::Uuid(id), status.into()],
            )
            .await
            .unwrap();
        }
    }
    id
}

// ---------------------------------------------------------------- migrations

async fn migrations_body(s: TestStore) {
    // already migrated once by the harness: re-running is a no-op
    let again = s.migrate().await.unwrap();
    assert_eq!(again.applied_now, 0);
    assert!(again.total >= 1);
    assert_eq!(s.pending_migrations().await, 0);
    let tables = [
        "workflows",
        "workflow_executions",
        "workflow_step_logs",
        "workflow_errors",
        "job_queue",
        "events",
        "tickets",
        "approval_requests",
        "rate_negotiations",
        "reconciliation_runs",
        "reconciliation_discrepancies",
        "people",
        "event_attendees",
        "event_models",
        "event_staff",
        "emergency_broadcasts",
        "broadcast_deliveries",
        "system_metrics",
        "operator_actions",
        "capacity_alerts",
    ];
    for t in tables {
        // a bounded read of each table proves it exists with a queryable shape
        s.db.fetch_all(&format!("SELECT * FROM {t} LIMIT 1"), &[])
            .await
            .unwrap_or_else(|e| panic!("{t}: {e}"));
    }
    if s.backend() == opsdeck::api::db::Backend::Postgres {
        let r = s
            .db
            .fetch_one("SELECT count(DISTINCT tgrelid) AS n FROM pg_trigger WHERE tgname LIKE 'notify_%' AND NOT tgisinternal", &[])
            .await
            .unwrap();
        // job_queue has three since 0003 (updates, non-broadcast inserts per row, broadcast
        // inserts once per statement): count the tables watched
        assert_eq!(r.n("n"), 12, "NOTIFY triggers on every watched table");
        let r = s.db.fetch_one("SELECT data_type FROM information_schema.columns WHERE table_name = 'job_queue' AND column_name = 'id'", &[]).await.unwrap();
        assert_eq!(r.s("data_type"), "uuid");
    }
}
store_test!(migrations_apply_and_reapply, migrations_body);

async fn newer_database_body(s: TestStore) {
    let empty = match s.backend() {
        opsdeck::api::db::Backend::Postgres => "''::bytea",
        opsdeck::api::db::Backend::Sqlite => "X''",
    };
    s.db.execute(
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from the future', true, {empty}, 0)"
        ),
        &[],
    )
    .await
    .unwrap();
    match s.migrate().await {
        Err(MigrationRefused::NewerDatabase(v)) => assert_eq!(v, 9999),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let msg = MigrationRefused::NewerDatabase(9999).to_string();
    assert!(msg.contains("newer than this binary"), "{msg}");
}
store_test!(migrate_refuses_newer_database, newer_database_body);

// ---------------------------------------------------------------- aggregate reads

async fn queue_depth_body(s: TestStore) {
    let now = now();
    for i in 0..3 {
        job(
            &s,
            "email.send",
            "pending",
            now - Duration::minutes(10 - i),
            None,
        )
        .await;
    }
    for i in 0..2 {
        job(
            &s,
            "image.process",
            "pending",
            now - Duration::minutes(5 + i),
            None,
        )
        .await;
    }
    for _ in 0..2 {
        job(
            &s,
            "email.send",
            "retrying",
            now - Duration::minutes(20),
            None,
        )
        .await;
    }
    job(
        &s,
        "report.generate",
        "processing",
        now - Duration::minutes(1),
        None,
    )
    .await;
    for _ in 0..4 {
        job(
            &s,
            "social.post",
            "failed",
            now - Duration::minutes(30),
            None,
        )
        .await;
    }
    for _ in 0..7 {
        job(
            &s,
            "email.send",
            "completed",
            now - Duration::minutes(40),
            Some(now - Duration::minutes(30)),
        )
        .await;
    }
    for _ in 0..3 {
        job(
            &s,
            "email.send",
            "completed",
            now - Duration::hours(3),
            Some(now - Duration::hours(2)),
        )
        .await;
    }
    job(&s, "email.send", "from_a_newer_engine", now, None).await;
    // a job created an hour ago but scheduled for later is not late: it does not count as the
    // oldest waiting (it is in the depth)
    s.db.execute(
        "INSERT INTO job_queue (id, job_type, status, created_at, scheduled_for) \
         VALUES ($1, 'email.send', 'pending', $2, $3)",
        &[
            Val::Uuid(Uuid::new_v4()),
            Val::Ts(now - Duration::hours(1)),
            Val::Ts(now + Duration::minutes(5)),
        ],
    )
    .await
    .unwrap();

    let q = s.queue_depth(now).await.unwrap();
    assert_eq!(
        (q.pending, q.retrying, q.processing, q.failed),
        (6, 2, 1, 4)
    );
    assert_eq!(q.depth(), 8);
    // the oldest job due and waiting: the retries (20 min), not only pending jobs (issue 19's
    // walk: retries past their backoff were left out, jobs scheduled for later counted)
    assert_eq!(q.oldest_pending_at, Some(now - Duration::minutes(20)));
    assert_eq!(q.completed_last_hour, 7);
    let by_type: Vec<(&str, &str, i64)> = q
        .by_type
        .iter()
        .map(|(t, s, n)| (t.as_str(), s.as_str(), *n))
        .collect();
    assert_eq!(
        by_type,
        vec![
            ("email.send", "pending", 4),
            ("email.send", "retrying", 2),
            ("image.process", "pending", 2),
            ("report.generate", "processing", 1),
            ("social.post", "failed", 4),
        ]
    );
    // unknown status text is kept as text in lists
    let jobs = s
        .jobs(&ListFilter {
            status: Some("from_a_newer_engine".into()),
            ..ListFilter::page(10)
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, "from_a_newer_engine");
}
store_test!(queue_depth_exact, queue_depth_body);

async fn workflow_stats_body(s: TestStore) {
    let now = now();
    let a = workflow(&s, "Model Booking Request", "active").await;
    let b = workflow(&s, "Payment Processing Hub", "paused").await;
    // A: 19 completed (100..1900 ms) and one failed (5000 ms) in the last hour
    for i in 1..=19 {
        let start = now - Duration::minutes(50) + Duration::seconds(i);
        run(
            &s,
            a,
            "completed",
            start,
            Some(start + Duration::seconds(2)),
            Some(i * 100),
        )
        .await;
    }
    run(
        &s,
        a,
        "failed",
        now - Duration::minutes(10),
        Some(now - Duration::minutes(9)),
        Some(5000),
    )
    .await;
    // an old run outside the window must not count
    run(
        &s,
        a,
        "completed",
        now - Duration::hours(3),
        Some(now - Duration::hours(3)),
        Some(99_999),
    )
    .await;
    // B: two completed and one waiting at an approval
    run(
        &s,
        b,
        "completed",
        now - Duration::minutes(30),
        Some(now - Duration::minutes(29)),
        Some(300),
    )
    .await;
    run(
        &s,
        b,
        "completed",
        now - Duration::minutes(20),
        Some(now - Duration::minutes(19)),
        Some(400),
    )
    .await;
    run(&s, b, "waiting", now - Duration::minutes(5), None, None).await;
    error(
        &s,
        a,
        "timeout",
        "Stripe timeout after 30s",
        now - Duration::minutes(3),
    )
    .await;

    let stats = s.workflow_stats(now - Duration::hours(1)).await.unwrap();
    assert_eq!(stats.len(), 2);
    let sa = stats.iter().find(|w| w.workflow.id == a).unwrap();
    assert_eq!((sa.runs, sa.completed, sa.failed), (20, 19, 1));
    assert_eq!(sa.success_rate, Some(0.95));
    assert_eq!(
        sa.p95_ms,
        Some(1900),
        "nearest rank: ceil(0.95*20) = 19th of 20"
    );
    assert_eq!(sa.last_error.as_deref(), Some("Stripe timeout after 30s"));
    let sb = stats.iter().find(|w| w.workflow.id == b).unwrap();
    assert_eq!(sb.workflow.status, "paused");
    assert_eq!(sb.workflow.paused_by.as_deref(), Some("ana@ops"));
    assert_eq!(sb.workflow.pause_reason.as_deref(), Some("Stripe outage"));
    assert_eq!((sb.runs, sb.completed, sb.waiting), (3, 2, 1));
    assert_eq!(sb.p95_ms, Some(400));
    assert_eq!(sb.success_rate, Some(1.0));

    let o = s.overview(now).await.unwrap();
    assert_eq!(o.runs_started_last_hour(), 23);
    assert_eq!((o.completed_last_hour, o.failed_last_hour), (21, 1));
    assert_eq!(o.top_failing.len(), 1);
    assert_eq!(
        (o.top_failing[0].name.as_str(), o.top_failing[0].failures),
        ("Model Booking Request", 1)
    );
    assert_eq!(o.workflows_paused, 1);
    assert_eq!(o.runs_waiting, 1);
}
store_test!(workflow_stats_p95_and_success, workflow_stats_body);

async fn error_patterns_body(s: TestStore) {
    let now = now();
    let a = workflow(&s, "Unified Messaging", "active").await;
    let b = workflow(&s, "Automated Payout", "active").await;
    for i in 0..12 {
        let msg = format!("WhatsApp 429 rate limit (bucket {})", i % 4);
        error(
            &s,
            a,
            "rate_limit",
            &msg,
            now - Duration::minutes(50) + Duration::minutes(i),
        )
        .await;
    }
    error(
        &s,
        a,
        "timeout",
        "Stripe timeout after 30s",
        now - Duration::minutes(40),
    )
    .await;
    error(
        &s,
        a,
        "timeout",
        "Stripe timeout after 60s",
        now - Duration::minutes(30),
    )
    .await;
    error(
        &s,
        a,
        "timeout",
        "Stripe timeout after 30s",
        now - Duration::minutes(20),
    )
    .await;
    error(&s, b, "network", "ECONNRESET", now - Duration::minutes(15)).await;
    error(
        &s,
        b,
        "network",
        "outside the window",
        now - Duration::hours(2),
    )
    .await;

    let p = s.error_patterns(now - Duration::hours(1)).await.unwrap();
    assert_eq!(p.len(), 3);
    assert_eq!(
        (
            p[0].workflow_name.as_str(),
            p[0].error_type.as_str(),
            p[0].count
        ),
        ("Unified Messaging", "rate_limit", 12)
    );
    assert_eq!(p[0].examples.len(), 3, "at most three distinct examples");
    assert!(p[0].is_critical() && p[0].is_retriable());
    assert_eq!(p[0].first_seen, now - Duration::minutes(50));
    assert_eq!(p[0].last_seen, now - Duration::minutes(39));
    assert_eq!((p[1].error_type.as_str(), p[1].count), ("timeout", 3));
    assert_eq!(
        p[1].examples,
        vec!["Stripe timeout after 30s", "Stripe timeout after 60s"],
        "distinct, newest first"
    );
    assert!(p[1].is_critical() && !p[1].is_retriable());
    assert_eq!(
        (p[2].workflow_name.as_str(), p[2].count),
        ("Automated Payout", 1)
    );
    assert_eq!(p[2].examples, vec!["ECONNRESET"]);
    assert!(!p[2].is_critical());
}
store_test!(error_patterns_grouping, error_patterns_body);

async fn capacity_and_open_states_body(s: TestStore) {
    let now = now();
    let e1 = event(&s, "Runway Show", 50, 40, 3, now).await;
    let e2 = event(&s, "VIP Party", 20, 20, 0, now).await;
    event(&s, "Conference", 2000, 0, 0, now).await;
    // a refund lowers the trigger-kept count
    s.db.execute(
        "UPDATE tickets SET status = 'refunded' WHERE id IN (SELECT id FROM tickets WHERE event_id = $1 AND status = 'sold' LIMIT 1)",
        &[Val::Uuid(e2)],
    )
    .await
    .unwrap();
    let cap = s.capacity().await.unwrap();
    assert_eq!(cap.len(), 3);
    let c1 = cap.iter().find(|c| c.id == e1).unwrap();
    assert_eq!(
        (c1.sold, c1.capacity, c1.percent(), c1.threshold()),
        (40, 50, 80.0, Some(80))
    );
    let c2 = cap.iter().find(|c| c.id == e2).unwrap();
    assert_eq!((c2.sold, c2.threshold()), (19, Some(90)));
    s.db.execute(
        "INSERT INTO capacity_alerts (id, event_id, threshold, sold, capacity) VALUES ($1, $2, 80, 40, 50)",
        &[Val::Uuid(Uuid::new_v4()), Val::Uuid(e1)],
    )
    .await
    .unwrap();

    let rr = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO reconciliation_runs (id, reconciliation_date, stripe_count, db_count, discrepancy_count, status) VALUES ($1, $2, 120, 118, 3, 'success')",
        &[Val::Uuid(rr), Val::Date(now.date_naive())],
    )
    .await
    .unwrap();
    for (kind, status) in [
        ("missing_in_db", "open"),
        ("missing_in_db", "open"),
        ("amount_mismatch", "open"),
        ("missing_in_stripe", "resolved"),
    ] {
        s.db.execute(
            "INSERT INTO reconciliation_discrepancies (id, run_id, kind, stripe_id, stripe_amount, db_amount, status) VALUES ($1, $2, $3, 'pi_3Nx', 12000, 11000, $4)",
            &[Val::Uuid(Uuid::new_v4()), Val::Uuid(rr), kind.into(), status.into()],
        )
        .await
        .unwrap();
    }
    for (i, status) in ["pending", "pending", "approved"].iter().enumerate() {
        let id = Uuid::new_v4();
        s.db.execute(
            "INSERT INTO approval_requests (id, type, priority, status, created_at) VALUES ($1, 'rate_negotiation', 'high', $2, $3)",
            &[Val::Uuid(id), (*status).into(), Val::Ts(now - Duration::minutes(30 - i as i64))],
        )
        .await
        .unwrap();
        s.db.execute(
            "INSERT INTO rate_negotiations (id, approval_request_id, model_name, designer_name, designer_tier, standard_rate, proposed_rate, show_count) \
             VALUES ($1, $2, 'Ines', 'Atelier Nord', 'emerging', 250000, 180000, 2)",
            &[Val::Uuid(Uuid::new_v4()), Val::Uuid(id)],
        )
        .await
        .unwrap();
    }
    let o = s.overview(now).await.unwrap();
    assert_eq!(
        o.open_discrepancies,
        vec![
            ("amount_mismatch".to_string(), 1),
            ("missing_in_db".to_string(), 2)
        ]
    );
    assert_eq!(o.open_discrepancy_total(), 3);
    assert_eq!(o.pending_approvals, 2);
    assert_eq!(
        o.oldest_pending_approval_at,
        Some(now - Duration::minutes(30))
    );
    assert_eq!(o.open_alerts.len(), 1);
    assert_eq!(
        (
            o.open_alerts[0].event_name.as_str(),
            o.open_alerts[0].threshold
        ),
        ("Runway Show", 80)
    );
    let runs = s.recon_runs(&ListFilter::page(10)).await.unwrap();
    assert_eq!(
        (
            runs[0].stripe_count,
            runs[0].db_count,
            runs[0].discrepancy_count
        ),
        (120, 118, 3)
    );
    assert_eq!(runs[0].reconciliation_date, Some(now.date_naive()));
    let open = s
        .discrepancies(
            &ListFilter {
                status: Some("open".into()),
                ..ListFilter::page(10)
            },
            Some(rr),
        )
        .await
        .unwrap();
    assert_eq!(open.len(), 3);
    assert_eq!(
        (open[0].stripe_amount, open[0].db_amount),
        (Some(12000), Some(11000))
    );
    let pending = s
        .approvals(&ListFilter {
            status: Some("pending".into()),
            ..ListFilter::page(10)
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 2);
    let n = pending[0].negotiation.as_ref().expect("negotiation joined");
    assert_eq!(
        (
            n.discount_pct(),
            n.standard_total(),
            n.proposed_total(),
            n.savings()
        ),
        (28.0, 500_000, 360_000, 140_000)
    );
    assert_eq!(n.rule_failures().len(), 3);
}
store_test!(capacity_recon_approvals, capacity_and_open_states_body);

// ---------------------------------------------------------------- keyset paging

async fn keyset_paging_body(s: TestStore) {
    let now = now();
    // 25 jobs in 5 groups sharing a timestamp: the id breaks the ties
    let mut all = Vec::new();
    for g in 0..5 {
        for _ in 0..5 {
            all.push((
                now - Duration::seconds(g),
                job(
                    &s,
                    "email.send",
                    "pending",
                    now - Duration::seconds(g),
                    None,
                )
                .await,
            ));
        }
    }
    all.sort_by(|x, y| y.cmp(x));
    let mut seen = Vec::new();
    let mut f = ListFilter::page(7);
    loop {
        let page = s.jobs(&f).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        let last = page.last().unwrap();
        f.before = Some(Cursor {
            at: last.created_at,
            id: last.id,
        });
        seen.extend(page.iter().map(|j| (j.created_at, j.id)));
    }
    assert_eq!(
        seen, all,
        "every row once, newest first, ties ordered by id"
    );

    // the same across the run list with a status filter and text filter
    let wf = workflow(&s, "Event Countdown", "active").await;
    for i in 0..9 {
        run(
            &s,
            wf,
            if i % 3 == 0 { "failed" } else { "completed" },
            now - Duration::seconds(i / 2),
            None,
            None,
        )
        .await;
    }
    let failed = s
        .runs(&ListFilter {
            status: Some("failed".into()),
            ..ListFilter::page(2)
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 2);
    let last = failed.last().unwrap();
    let rest = s
        .runs(&ListFilter {
            status: Some("failed".into()),
            before: Some(Cursor {
                at: last.started_at,
                id: last.id,
            }),
            ..ListFilter::page(2)
        })
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert!(failed.iter().all(|r| r.id != rest[0].id));
    let text = s
        .runs(&ListFilter {
            text: Some("COUNTDOWN".into()),
            ..ListFilter::page(100)
        })
        .await
        .unwrap();
    assert_eq!(text.len(), 9, "text filter is case-insensitive");
    let none = s
        .runs(&ListFilter {
            text: Some("100%_".into()),
            ..ListFilter::page(100)
        })
        .await
        .unwrap();
    assert!(none.is_empty(), "LIKE wildcards in the filter are literal");
}
store_test!(keyset_paging_with_ties, keyset_paging_body);

async fn step_logs_and_audit_body(s: TestStore) {
    let now = now();
    let wf = workflow(&s, "Client Provisioning", "active").await;
    let r = run(
        &s,
        wf,
        "failed",
        now - Duration::minutes(2),
        Some(now),
        Some(120_000),
    )
    .await;
    for (i, name) in [
        "create_supabase_project",
        "apply_schema",
        "create_github_repo",
        "rollback:create_github_repo",
    ]
    .iter()
    .enumerate()
    {
        s.db.execute(
            "INSERT INTO workflow_step_logs (id, execution_id, step_index, step_name, status, output, duration_ms, created_at) VALUES ($1, $2, $3, $4, 'completed', $5{json}, 250, $6)",
            &[
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(r),
                Val::I64(i as i64),
                (*name).into(),
                Val::Json(serde_json::json!({"ok": true, "i": i})),
                Val::Ts(now - Duration::seconds(60 - i as i64)),
            ],
        )
        .await
        .unwrap();
    }
    let logs = s.step_logs(r, None, 3).await.unwrap();
    assert_eq!(logs.len(), 3);
    assert_eq!(logs[0].step_name, "rollback:create_github_repo");
    assert_eq!(
        logs[0].output,
        Some(serde_json::json!({"ok": true, "i": 3}))
    );
    let older = s
        .step_logs(
            r,
            Some(Cursor {
                at: logs[2].created_at,
                id: logs[2].id,
            }),
            3,
        )
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].step_index, 0);
    let got = s.run(r).await.unwrap().unwrap();
    assert_eq!(
        (got.workflow_name.as_str(), got.duration_ms, got.steps_total),
        ("Client Provisioning", Some(120_000), 4)
    );

    for (i, outcome) in ["ok", "conflict", "error"].iter().enumerate() {
        s.db.execute(
            "INSERT INTO operator_actions (id, at, operator, origin, action, target_type, target_id, before, after, outcome) \
             VALUES ($1, $2, 'ana@ops', 'ssh:10.0.0.7', 'retry', 'job', 'j1', $3{json}, $4{json}, $5)",
            &[
                Val::Uuid(Uuid::new_v4()),
                Val::Ts(now - Duration::seconds(i as i64)),
                Val::Json(serde_json::json!({"status": "failed"})),
                Val::Json(serde_json::json!({"status": "pending"})),
                (*outcome).into(),
            ],
        )
        .await
        .unwrap();
    }
    let acts = s.operator_actions(&ListFilter::page(10)).await.unwrap();
    assert_eq!(
        acts.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(),
        vec!["ok", "conflict", "error"]
    );
    assert_eq!(
        acts[0].before,
        Some(serde_json::json!({"status": "failed"}))
    );
    let conflicts = s
        .operator_actions(&ListFilter {
            status: Some("conflict".into()),
            ..ListFilter::page(10)
        })
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1);
}
store_test!(step_logs_and_audit, step_logs_and_audit_body);

async fn large_count_body(s: TestStore) {
    let now = now();
    // 10,001 completed jobs in the last hour: exact from the rollup (migration 0006), no longer
    // capped at "10,000+" (one multi-row insert per 1000)
    let t = now - Duration::minutes(5);
    for chunk in 0..11 {
        let n = if chunk == 10 { 1 } else { 1000 };
        let mut sql =
            String::from("INSERT INTO job_queue (id, job_type, status, completed_at) VALUES ");
        let mut args = Vec::new();
        for i in 0..n {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, 'email.send', 'completed', ${})",
                args.len() + 1,
                args.len() + 2
            ));
            args.push(Val::Uuid(Uuid::new_v4()));
            args.push(Val::Ts(t));
        }
        s.db.execute(&sql, &args).await.unwrap();
    }
    let q = s.queue_depth(now).await.unwrap();
    assert_eq!(thousands(q.completed_last_hour), "10,001");
    assert_eq!(q.depth(), 0);
}
store_test!(completed_count_is_exact_past_ten_thousand, large_count_body);

// ---------------------------------------------------------------- NOTIFY (Postgres only)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_on_job_insert_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let pool = s.db.pg_pool().unwrap().clone();
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen("opsdeck").await.unwrap();
    job(&s, "email.send", "pending", now(), None).await;
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
        .await
        .expect("a notification within 5 s")
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(n.payload()).unwrap();
    assert_eq!(v["table"], "job_queue");
    assert_eq!(v["op"], "INSERT");
    // Since migration 0010 one notification stands for every change to the table in its
    // quarter second, so it names the table and no row (it named the row's id before; the
    // console never read it). tests/notify_gate.rs tests the gate.
    assert!(v.get("id").is_none(), "{v}");
}
