//! Emergency broadcast against the outside: the n8n webhook (HTTP fake: 200, 401, 404, timeout)
//! and the simulated engine delivering a broadcast to the end.

mod bcastkit;
mod common;

use std::time::Duration;

use chrono::Utc;
use common::TestStore;
use common::http_fake::{HttpFake, Response};
use opsdeck::api::broadcast as bc;
use opsdeck::api::db::Val;
use opsdeck::config::BroadcastConfig;
use opsdeck::domain::broadcast::Target;
use opsdeck::sim::{Engine, EngineConfig};

use bcastkit::*;

async fn send_with_webhook(
    s: &TestStore,
    fake: &HttpFake,
    timeout: f64,
    key: &str,
) -> (uuid::Uuid, opsdeck::domain::broadcast::WebhookResult) {
    let cfg = BroadcastConfig {
        webhook_url: Some(format!("{}/webhook/emergency-broadcast", fake.url)),
        webhook_auth: Some("s3cret".into()),
        webhook_auth_env: Some("OPSDECK_TEST_UNSET_AUTH_VAR".into()),
        timeout: Some(timeout),
        ..Default::default()
    };
    let c = ctx("alice@ops", cfg.clone());
    let p = bc::prepare(
        s,
        &cfg,
        &draft("urgent", Target::Event("Gala".into()), "Evacuate", key),
        Utc::now(),
    )
    .await
    .unwrap();
    let r = bc::send(s, &c, &p).await.unwrap();
    (r.broadcast_id, r.webhook.expect("webhook called"))
}

async fn webhook_row(s: &TestStore, id: uuid::Uuid) -> (Option<String>, Option<String>, String) {
    let b =
        s.db.fetch_one(
            "SELECT webhook_status, webhook_error FROM emergency_broadcasts WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await
        .unwrap();
    let a = s.db.fetch_one("SELECT outcome FROM operator_actions WHERE action = 'broadcast.webhook' AND target_id = $1", &[Val::Text(id.to_string())]).await.unwrap();
    (
        b.text("webhook_status"),
        b.text("webhook_error"),
        a.s("outcome"),
    )
}

async fn webhook_outcomes(s: TestStore) {
    let fx = fixture(&s).await;
    // 200: the seed's body and header
    let ok = HttpFake::start(|_| Response::json(200, serde_json::json!({"ok": true}))).await;
    let (id, w) = send_with_webhook(&s, &ok, 2.0, "w1").await;
    assert!(w.ok, "{w:?}");
    let req = &ok.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/webhook/emergency-broadcast");
    assert_eq!(req.header("x-emergency-auth"), Some("s3cret"));
    let body = req.json();
    assert_eq!(body["level"], "urgent");
    assert_eq!(body["scope"], "event");
    assert_eq!(body["event_id"], fx.gala.to_string());
    assert_eq!(body["venue_name"], "Hall");
    assert_eq!(body["message"], "Evacuate");
    assert_eq!(body["triggered_by"], "alice@ops");
    assert_eq!(body["idempotency_key"], "w1");
    assert_eq!(
        webhook_row(&s, id).await,
        (Some("ok".into()), None, "ok".into())
    );
    // 401: wrong secret, shown and audited; the broadcast stands
    let f401 = HttpFake::start(|_| Response::status(401)).await;
    let (id, w) = send_with_webhook(&s, &f401, 2.0, "w2").await;
    assert!(!w.ok && w.status == Some(401));
    assert!(w.message.contains("X-Emergency-Auth"), "{}", w.message);
    let (st, err, outcome) = webhook_row(&s, id).await;
    assert_eq!((st.as_deref(), outcome.as_str()), (Some("failed"), "error"));
    assert!(err.unwrap().contains("401"));
    // 404: n8n answers 404 when the workflow is inactive
    let f404 = HttpFake::start(|_| {
        Response::json(
            404,
            serde_json::json!({"message": "webhook not registered"}),
        )
    })
    .await;
    let (id, w) = send_with_webhook(&s, &f404, 2.0, "w3").await;
    assert!(w.message.contains("workflow active"), "{}", w.message);
    assert_eq!(webhook_row(&s, id).await.0.as_deref(), Some("failed"));
    // timeout
    let slow = HttpFake::start(|_| Response::status(200).delayed(Duration::from_secs(3))).await;
    let t0 = std::time::Instant::now();
    let (id, w) = send_with_webhook(&s, &slow, 0.3, "w4").await;
    assert!(t0.elapsed() < Duration::from_secs(3), "the timeout applies");
    assert!(w.message.contains("did not answer"), "{}", w.message);
    assert_eq!(webhook_row(&s, id).await.2, "error");
    // every broadcast was written whatever n8n said
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM emergency_broadcasts WHERE status = 'queued'",
            &[]
        )
        .await,
        4
    );
}
store_test!(webhook_outcomes, webhook_outcomes);

/// The webhook is claimed once, and never for a cancelled broadcast: an approval racing a cancel
/// cannot let n8n's own broadcast go out after the cancel.
async fn webhook_never_after_cancel(s: TestStore) {
    fixture(&s).await;
    let fake = HttpFake::start(|_| Response::status(200)).await;
    let (id, w) = send_with_webhook(&s, &fake, 2.0, "wc").await;
    assert!(w.ok, "{w:?}");
    let cfg = BroadcastConfig {
        webhook_url: Some(format!("{}/webhook/emergency-broadcast", fake.url)),
        ..Default::default()
    };
    let c = ctx("bob@ops", cfg);
    // a second call for the same broadcast: not made
    let again = bc::call_webhook(&s, &c, id).await.unwrap();
    assert!(
        !again.ok && again.message.contains("not called again"),
        "{again:?}"
    );
    assert_eq!(fake.requests().len(), 1);
    // cancelled before its call: not made, and the row stays as it was
    s.db.execute(
        "UPDATE emergency_broadcasts SET status = 'cancelled', webhook_status = NULL WHERE id = $1",
        &[Val::Uuid(id)],
    )
    .await
    .unwrap();
    let late = bc::call_webhook(&s, &c, id).await.unwrap();
    assert!(
        !late.ok && late.message.contains("the broadcast is cancelled"),
        "{late:?}"
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "no POST for a cancelled broadcast"
    );
    assert_eq!(webhook_row(&s, id).await.0, None);
}
store_test!(webhook_never_after_cancel, webhook_never_after_cancel);

/// A test broadcast never calls the webhook (n8n would alert everyone).
async fn test_mode_skips_webhook(s: TestStore) {
    fixture(&s).await;
    let fake = HttpFake::start(|_| Response::status(200)).await;
    let cfg = BroadcastConfig {
        webhook_url: Some(fake.url.clone()),
        test_recipients: vec![opsdeck::config::TestRecipient {
            name: "me".into(),
            phone: Some("+33699999999".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut d = draft("critical", Target::Event("Gala".into()), "Drill", "t1");
    d.test = true;
    let p = bc::prepare(&s, &cfg, &d, Utc::now()).await.unwrap();
    let r = bc::send(&s, &ctx("alice@ops", cfg), &p).await.unwrap();
    assert!(r.webhook.is_none());
    assert!(fake.requests().is_empty());
}
store_test!(test_mode_skips_webhook, test_mode_skips_webhook);

/// The simulated engine takes the console's broadcast to the end: every delivery delivered or
/// failed, the broadcast closed, and the progress query says 100 %.
async fn engine_delivers_to_the_end(s: TestStore) {
    fixture(&s).await;
    let c = ctx("alice@ops", BroadcastConfig::default());
    let pv = bc::prepare(
        &s,
        &c.cfg,
        &draft("critical", Target::Venue("Hall".into()), "Fire", "e1"),
        Utc::now(),
    )
    .await
    .unwrap();
    let id = bc::send(&s, &c, &pv).await.unwrap().broadcast_id;
    // and a delivery the engine must fail: a queued SMS to someone without a phone
    exec(
        &s,
        "UPDATE people SET phone = NULL WHERE id = $1",
        &[Val::Uuid(p(1))],
    )
    .await;
    let engine = Engine::start(
        s.store.clone(),
        EngineConfig {
            speed: 50.0, // failed deliveries are retried after 10-20 simulated seconds
            workers: 2,
            ..EngineConfig::quiet(7)
        },
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let pr = loop {
        let pr = bc::progress(&s, id).await.unwrap();
        if pr.percent_done() == 100 && !matches!(pr.status.as_str(), "queued" | "sending") {
            break pr;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "broadcast stuck: {pr:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    engine.stop().await;
    let t = pr.totals();
    assert_eq!(t.done() as usize, pv.plan.deliveries.len());
    assert_eq!((t.queued, t.sent), (0, 0));
    assert_eq!(t.failed, 2, "Ana's SMS and call: her number was removed");
    assert_eq!(pr.status, "partially_failed");
    assert!(pr.completed_at.is_some());
    assert!(
        pr.failed
            .iter()
            .all(|f| f.person == "Ana" && !f.error.is_empty()),
        "{:?}",
        pr.failed
    );
}
store_test!(engine_delivers_to_the_end, engine_delivers_to_the_end);

/// Cancelling a queued broadcast while the simulated engine drains it: what the cancel stopped
/// never goes out, what was out stays out, jobs a worker held finish (or are dropped by the
/// engine for a cancelled broadcast), and the broadcast stays cancelled.
async fn cancel_while_engine_drains(s: TestStore) {
    let fx = fixture(&s).await;
    // 300 more people at the Gala, all reachable by SMS
    for i in 0..300u128 {
        let id = p(100 + i);
        exec(
            &s,
            "INSERT INTO people (id, name, phone, primary_channel) VALUES ($1, $2, $3, 'sms')",
            &[
                Val::Uuid(id),
                Val::Text(format!("Guest {i}")),
                Val::Text(format!("+3361000{:04}", i)),
            ],
        )
        .await;
        exec(
            &s,
            "INSERT INTO event_attendees (event_id, person_id) VALUES ($1, $2)",
            &[Val::Uuid(fx.gala), Val::Uuid(id)],
        )
        .await;
    }
    let c = ctx("alice@ops", BroadcastConfig::default());
    let pv = bc::prepare(
        &s,
        &c.cfg,
        &draft("warning", Target::Event("Gala".into()), "Delay", "cx1"),
        Utc::now(),
    )
    .await
    .unwrap();
    let total = pv.plan.deliveries.len() as i64;
    assert!(total > 300, "{total}");
    let id = bc::send(&s, &c, &pv).await.unwrap().broadcast_id;
    let engine = Engine::start(
        s.store.clone(),
        EngineConfig {
            workers: 1,
            concurrency: 4,
            claim_batch: 4,
            work_scale: 1.0, // 50-300 ms per delivery: the cancel lands mid-way
            ..EngineConfig::quiet(11)
        },
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let t = bc::progress(&s, id).await.unwrap().totals();
        if t.delivered >= 5 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "engine never started: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = bc::cancel(&s, &ctx("bob@ops", BroadcastConfig::default()), id)
        .await
        .unwrap();
    assert_eq!(d.outcome, "ok", "{}", d.message);
    assert!(d.stopped > 0 && d.already_out >= 5, "{}", d.message);
    assert_eq!(
        (d.stopped + d.already_out + d.in_flight) as i64,
        total,
        "{}",
        d.message
    );
    // let the engine finish what it held
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let open = count(
            &s,
            "SELECT count(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 \
             AND status IN ('queued', 'sent')",
            &[Val::Uuid(id)],
        )
        .await;
        if open == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} deliveries left open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.stop().await;
    let pr = bc::progress(&s, id).await.unwrap();
    let t = pr.totals();
    assert_eq!(pr.status, "cancelled", "the engine does not reopen it");
    // nothing the cancel stopped went out
    assert!(
        t.delivered + t.failed <= (d.already_out + d.in_flight) as i64,
        "{t:?} after {}",
        d.message
    );
    assert!(t.delivered + t.failed >= d.already_out as i64, "{t:?}");
    assert!(t.other >= d.stopped as i64, "{t:?}");
    assert_eq!(t.total(), total);
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE job_type LIKE 'broadcast.%' \
             AND status IN ('pending', 'retrying', 'processing')",
            &[]
        )
        .await,
        0,
        "no delivery job left to run"
    );
}
store_test!(cancel_while_engine_drains, cancel_while_engine_drains);
