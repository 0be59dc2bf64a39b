//! The simulated engine's workflow runs on real databases: rate negotiations and the human in
//! the loop, capacity thresholds, emergency broadcast deliveries. Postgres and SQLite each.

mod common;
mod simkit;

use std::time::Duration;

use chrono::Utc;
use opsdeck::api::db::Val;
use opsdeck::domain::model;
use opsdeck::sim::batch::Rows;
use opsdeck::sim::seed;
use opsdeck::sim::{Engine, EngineConfig};
use serde_json::json;
use simkit::*;
use uuid::Uuid;

use common::TestStore;

fn runs_only(names: &[&str], seed: u64) -> EngineConfig {
    EngineConfig {
        runs: true,
        runs_per_min: 0.0,
        only_workflows: names.iter().map(|s| s.to_string()).collect(),
        ..EngineConfig::quiet(seed)
    }
}

async fn run_status(s: &opsdeck::api::Store, id: Uuid) -> (String, Option<String>) {
    let r =
        s.db.fetch_one(
            "SELECT status, error_message FROM workflow_executions WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await
        .unwrap();
    (r.s("status"), r.text("error_message"))
}

/// A human approves one parked negotiation and rejects another: the first run goes on to
/// completion, the second ends "rejected by bob"; each has a step log for the decision.
async fn approve_continues_reject_ends(s: TestStore) {
    seed::seed_scenario(&s, 42, Utc::now()).await.expect("seed");
    let rows =
        s.db.fetch_all(
            "SELECT a.id, a.execution_id FROM approval_requests a \
             JOIN workflow_executions e ON e.id = a.execution_id \
             WHERE a.status = 'pending' AND e.status = 'waiting' ORDER BY a.created_at",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 2, "the scenario parks two negotiations");
    let (a1, run1) = (rows[0].id("id"), rows[0].id("execution_id"));
    let (a2, run2) = (rows[1].id("id"), rows[1].id("execution_id"));
    let engine = Engine::start(s.store.clone(), runs_only(&["Rate Negotiation"], 5));
    // nobody decided yet: they wait
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(run_status(&s, run1).await.0, "waiting");
    let decide = "UPDATE approval_requests SET status = $1, decided_by = $2, decided_at = $3 \
                  WHERE id = $4 AND status = 'pending'";
    exec(
        &s,
        decide,
        &[
            Val::Text("approved".into()),
            Val::Text("alice".into()),
            Val::Ts(Utc::now()),
            Val::Uuid(a1),
        ],
    )
    .await;
    exec(
        &s,
        decide,
        &[
            Val::Text("rejected".into()),
            Val::Text("bob".into()),
            Val::Ts(Utc::now()),
            Val::Uuid(a2),
        ],
    )
    .await;
    let st = s.store.clone();
    wait_for("the decisions to land", Duration::from_secs(15), || {
        let st = st.clone();
        async move {
            run_status(&st, run1).await.0 == "completed"
                && run_status(&st, run2).await.0 == "cancelled"
        }
    })
    .await;
    engine.stop().await;
    assert_eq!(
        run_status(&s, run2).await.1.as_deref(),
        Some("rejected by bob")
    );
    let r = s
        .db
        .fetch_one(
            "SELECT steps_completed, steps_total, completed_at, duration_ms FROM workflow_executions WHERE id = $1",
            &[Val::Uuid(run1)],
        )
        .await
        .unwrap();
    assert_eq!(r.n("steps_completed"), r.n("steps_total"));
    assert!(r.ts("completed_at").is_some() && r.i64("duration_ms").is_some());
    for (run, status, who) in [(run1, "completed", "alice"), (run2, "cancelled", "bob")] {
        let logs = s
            .db
            .fetch_all(
                "SELECT status, output FROM workflow_step_logs WHERE execution_id = $1 AND step_name = 'approval' ORDER BY created_at",
                &[Val::Uuid(run)],
            )
            .await
            .unwrap();
        let last = logs.last().expect("a decision log");
        assert_eq!(last.s("status"), status);
        assert_eq!(last.json("output").unwrap()["decided_by"], json!(who));
    }
    let neg = |a: Uuid| {
        let st = s.store.clone();
        async move {
            st.db
                .fetch_one(
                    "SELECT status FROM rate_negotiations WHERE approval_request_id = $1",
                    &[Val::Uuid(a)],
                )
                .await
                .unwrap()
                .s("status")
        }
    };
    assert_eq!(neg(a1).await, "approved");
    assert_eq!(neg(a2).await, "rejected");
}
store_test!(
    approve_continues_reject_ends,
    super::approve_continues_reject_ends
);

/// New Rate Negotiation runs follow the seed's rule: auto-approved ones run to completion, the
/// others park `waiting` behind a pending approval request tied to the run.
async fn negotiations_follow_the_rule(s: TestStore) {
    let wf = add_workflow(&s, "Rate Negotiation", "active").await;
    let cfg = EngineConfig {
        runs_per_min: 600.0,
        ..runs_only(&["Rate Negotiation"], 11)
    };
    let engine = Engine::start(s.store.clone(), cfg);
    let st = s.store.clone();
    wait_for("both kinds of negotiation", Duration::from_secs(15), || {
        let st = st.clone();
        async move {
            count(
                &st,
                "SELECT count(*) AS n FROM rate_negotiations WHERE status = 'auto_approved'",
                &[],
            )
            .await
                >= 2
                && count(
                    &st,
                    "SELECT count(*) AS n FROM rate_negotiations WHERE status = 'pending'",
                    &[],
                )
                .await
                    >= 2
                && count(
                    &st,
                    "SELECT count(*) AS n FROM workflow_executions WHERE status = 'completed'",
                    &[],
                )
                .await
                    >= 2
        }
    })
    .await;
    engine.stop().await;
    let rows = s
        .db
        .fetch_all(
            "SELECT n.standard_rate, n.proposed_rate, n.show_count, n.designer_tier, n.status, \
                    a.status AS a_status, a.type, a.priority, e.status AS run_status, e.workflow_id \
             FROM rate_negotiations n JOIN approval_requests a ON a.id = n.approval_request_id \
             JOIN workflow_executions e ON e.id = a.execution_id",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 4);
    for r in rows {
        let auto = model::auto_approves(
            r.n("standard_rate"),
            r.n("proposed_rate"),
            r.n("show_count"),
            &r.s("designer_tier"),
        );
        assert_eq!(r.s("type"), "rate_negotiation");
        assert_eq!(r.id("workflow_id"), wf);
        assert!(["low", "normal", "high", "critical"].contains(&r.s("priority").as_str()));
        if auto {
            assert_eq!(
                (r.s("status").as_str(), r.s("a_status").as_str()),
                ("auto_approved", "approved")
            );
            assert_ne!(r.s("run_status"), "waiting");
        } else {
            assert_eq!(
                (r.s("status").as_str(), r.s("a_status").as_str()),
                ("pending", "pending")
            );
            assert_eq!(r.s("run_status"), "waiting");
        }
    }
}
store_test!(
    negotiations_follow_the_rule,
    super::negotiations_follow_the_rule
);

/// Ticket sales cross 80, 90 and 100 % and never go above capacity; Capacity Monitoring writes
/// one alert per crossed threshold.
async fn sales_cross_thresholds(s: TestStore) {
    let now = Utc::now();
    add_workflow(&s, "Capacity Monitoring", "active").await;
    let ev = Uuid::new_v4();
    exec(
        &s,
        "INSERT INTO events (id, name, venue_name, start_at, end_at, capacity, status) \
         VALUES ($1, 'Pop-up Show', 'Studio 5', $2, $3, 50, 'published')",
        &[
            Val::Uuid(ev),
            Val::Ts(now + chrono::Duration::hours(2)),
            Val::Ts(now + chrono::Duration::hours(4)),
        ],
    )
    .await;
    let cfg = EngineConfig {
        sales: true,
        sales_per_min: 2.0,
        speed: 30.0,
        ..runs_only(&["Capacity Monitoring"], 21)
    };
    let engine = Engine::start(s.store.clone(), cfg);
    let st = s.store.clone();
    wait_for(
        "a sell-out and its three alerts",
        Duration::from_secs(20),
        || {
            let st = st.clone();
            async move {
                count(
                    &st,
                    "SELECT count(*) AS n FROM capacity_alerts WHERE event_id = $1",
                    &[Val::Uuid(ev)],
                )
                .await
                    == 3
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sum = engine.stop().await;
    let r =
        s.db.fetch_one(
            "SELECT tickets_sold, capacity FROM events WHERE id = $1",
            &[Val::Uuid(ev)],
        )
        .await
        .unwrap();
    assert_eq!(r.n("tickets_sold"), 50, "{sum}");
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM tickets WHERE event_id = $1",
            &[Val::Uuid(ev)]
        )
        .await,
        50
    );
    // every buyer is a person at the event, with the ticket (a broadcast to it reaches them)
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM event_attendees a JOIN people p ON p.id = a.person_id \
             JOIN tickets t ON t.id = a.ticket_id WHERE a.event_id = $1 AND t.event_id = $1",
            &[Val::Uuid(ev)]
        )
        .await,
        50
    );
    let alerts = s
        .db
        .fetch_all("SELECT threshold, sold, capacity FROM capacity_alerts WHERE event_id = $1 ORDER BY threshold", &[Val::Uuid(ev)])
        .await
        .unwrap();
    let th: Vec<i64> = alerts.iter().map(|a| a.n("threshold")).collect();
    assert_eq!(th, vec![80, 90, 100]);
    for a in &alerts {
        assert!(a.n("sold") * 100 >= a.n("threshold") * 50 && a.n("sold") <= 50);
        assert_eq!(a.n("capacity"), 50);
    }
    assert!(count(&s, "SELECT count(*) AS n FROM workflow_executions WHERE status = 'completed' AND event_id = $1", &[Val::Uuid(ev)]).await >= 1);
}
store_test!(sales_cross_thresholds, super::sales_cross_thresholds);

/// The console's queued broadcast: deliveries go sent → delivered, a bad number fails with
/// Twilio 21211, the broadcast ends partially_failed, and the Emergency Broadcast System run
/// that followed it completes.
async fn broadcast_is_delivered(s: TestStore) {
    seed::seed_scenario(&s, 42, Utc::now()).await.expect("seed");
    let vip =
        s.db.fetch_one("SELECT id FROM events WHERE name = 'Noir VIP Party'", &[])
            .await
            .unwrap()
            .id("id");
    let people = s
        .db
        .fetch_all(
            "SELECT p.id, p.primary_channel FROM people p JOIN event_attendees a ON a.person_id = p.id \
             WHERE a.event_id = $1 AND p.primary_channel IS NOT NULL",
            &[Val::Uuid(vip)],
        )
        .await
        .unwrap();
    let b = Uuid::new_v4();
    let now = Utc::now();
    exec(
        &s,
        "INSERT INTO emergency_broadcasts (id, idempotency_key, level, scope, event_id, message, triggered_by, status, affected_count, created_at) \
         VALUES ($1, $2, 'urgent', 'event', $3, 'Evacuate via the east exit', 'test@ops', 'queued', $4, $5)",
        &[Val::Uuid(b), Val::Text(b.to_string()), Val::Uuid(vip), Val::I64(people.len() as i64), Val::Ts(now)],
    )
    .await;
    let mut dels = Rows::new(
        "broadcast_deliveries",
        &["id", "broadcast_id", "person_id", "channel", "status"],
    );
    let mut jobs = Rows::new(
        "job_queue",
        &[
            "id",
            "job_type",
            "payload",
            "status",
            "priority",
            "scheduled_for",
            "created_at",
        ],
    );
    for p in &people {
        let d = Uuid::new_v4();
        let ch = p.s("primary_channel");
        dels.push(vec![
            Val::Uuid(d),
            Val::Uuid(b),
            Val::Uuid(p.id("id")),
            Val::Text(ch.clone()),
            Val::Text("queued".into()),
        ]);
        jobs.push(vec![
            Val::Uuid(Uuid::new_v4()),
            Val::Text(format!("broadcast.{ch}")),
            Val::Json(json!({ "delivery_id": d.to_string(), "broadcast_id": b.to_string() })),
            Val::Text("pending".into()),
            Val::I64(100),
            Val::Ts(now),
            Val::Ts(now),
        ]);
    }
    let mut tx = s.db.begin().await.unwrap();
    dels.insert(&mut tx).await.unwrap();
    jobs.insert(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let cfg = EngineConfig {
        workers: 2,
        speed: 20.0, // bad numbers are retried (10 s, 20 s) before they fail
        ..runs_only(&["Emergency Broadcast System"], 9)
    };
    let engine = Engine::start(s.store.clone(), cfg);
    let st = s.store.clone();
    wait_for("the broadcast to finish", Duration::from_secs(15), || {
        let st = st.clone();
        async move {
            count(&st, "SELECT count(*) AS n FROM emergency_broadcasts WHERE id = $1 AND status NOT IN ('queued', 'sending')", &[Val::Uuid(b)]).await == 1
                && count(&st, "SELECT count(*) AS n FROM workflow_executions WHERE status = 'completed' AND CAST(context AS TEXT) LIKE $1", &[Val::Text(format!("%{b}%"))]).await == 1
        }
    })
    .await;
    engine.stop().await;
    let r =
        s.db.fetch_one(
            "SELECT status, completed_at FROM emergency_broadcasts WHERE id = $1",
            &[Val::Uuid(b)],
        )
        .await
        .unwrap();
    assert_eq!(r.s("status"), "partially_failed");
    assert!(r.ts("completed_at").is_some());
    let failed =
        s.db.fetch_all(
            "SELECT error FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'failed'",
            &[Val::Uuid(b)],
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 2, "the two bad numbers at the party");
    assert!(failed.iter().all(|f| f.s("error").contains("21211")));
    // their jobs were retried to max_attempts, as the contract says, then failed
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE job_type LIKE 'broadcast.%' AND status = 'failed' \
             AND attempts = max_attempts AND CAST(payload AS TEXT) LIKE $1",
            &[Val::Text(format!("%{b}%"))]
        )
        .await,
        2
    );
    let delivered = count(&s, "SELECT count(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'delivered' AND sent_at IS NOT NULL", &[Val::Uuid(b)]).await;
    assert_eq!(delivered as usize, people.len() - 2);
    assert_eq!(count(&s, "SELECT count(*) AS n FROM job_queue WHERE job_type LIKE 'broadcast.%' AND status IN ('pending', 'processing', 'retrying')", &[]).await, 0);
}
store_test!(broadcast_is_delivered, super::broadcast_is_delivered);
