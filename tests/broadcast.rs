//! Emergency broadcast: audience, validation, the one-transaction fan-out, idempotency under
//! concurrency, the four-eyes rule, test mode, retry and follow-up. Postgres and SQLite each.

mod bcastkit;
mod common;

use chrono::Utc;
use opsdeck::api::broadcast as bc;
use opsdeck::api::db::Val;
use opsdeck::config::{BroadcastConfig, TestRecipient};
use opsdeck::domain::broadcast::Channel;
use opsdeck::domain::broadcast::{SendOutcome, Target};

use bcastkit::*;
use common::TestStore;

fn ch(p: &opsdeck::domain::broadcast::Preview, c: Channel) -> usize {
    p.plan.by_channel.get(&c).copied().unwrap_or(0)
}

async fn audience_by_scope_and_level(s: TestStore) {
    let fx = fixture(&s).await;
    let cfg = BroadcastConfig::default();
    let now = Utc::now();
    let gala = Target::Event("Gala".into());
    // event scope, preferences: the declined model is out, Gus has no valid number
    let p = bc::prepare(&s, &cfg, &draft("warning", gala.clone(), "Delay", "k"), now)
        .await
        .unwrap();
    assert_eq!(p.plan.people, 4);
    assert_eq!(
        (
            ch(&p, Channel::Whatsapp),
            ch(&p, Channel::Sms),
            ch(&p, Channel::Email)
        ),
        (1, 1, 1)
    );
    assert_eq!(ch(&p, Channel::Voice), 0);
    assert_eq!(p.plan.unreachable.len(), 1);
    assert_eq!(p.plan.unreachable[0].name, "Gus");
    assert_eq!(p.plan.duplicates, 0);
    assert_eq!(p.scope.event_id(), Some(fx.gala));
    // by id works too
    let by_id = bc::prepare(
        &s,
        &cfg,
        &draft("warning", Target::Event(fx.gala.to_string()), "Delay", "k"),
        now,
    )
    .await
    .unwrap();
    assert_eq!(by_id.plan, p.plan);
    // critical: SMS + voice to everyone with a phone, once per number; e-mail without a phone
    let p = bc::prepare(&s, &cfg, &draft("critical", gala, "Fire", "k"), now)
        .await
        .unwrap();
    assert_eq!(
        (
            ch(&p, Channel::Sms),
            ch(&p, Channel::Voice),
            ch(&p, Channel::Email)
        ),
        (1, 1, 1)
    );
    assert_eq!(ch(&p, Channel::Whatsapp), 0);
    assert_eq!(
        p.plan.duplicates, 2,
        "Bea shares Ana's phone: her SMS and call are skipped"
    );
    // venue scope: both of today's Hall events (not the one in three days), Ana once
    let p = bc::prepare(
        &s,
        &cfg,
        &draft("info", Target::Venue("hall".into()), "Hi", "k"),
        now,
    )
    .await
    .unwrap();
    assert_eq!(p.plan.people, 5);
    assert_eq!(p.events.len(), 2);
    assert_eq!(
        ch(&p, Channel::Email),
        2,
        "Dan, and Eve (sms preference, no phone)"
    );
    assert!(
        !p.plan.deliveries.iter().any(|d| d.person_id == p8()),
        "Hal is at Hall in three days"
    );
    // explicit channels
    let mut d = draft("info", Target::Venue("Elsewhere".into()), "Hi", "k");
    d.channels = Some("sms,voice".into());
    let p = bc::prepare(&s, &cfg, &d, now).await.unwrap();
    assert_eq!((ch(&p, Channel::Sms), ch(&p, Channel::Voice)), (1, 1));
}
fn p8() -> uuid::Uuid {
    p(8)
}
store_test!(audience_by_scope_and_level, audience_by_scope_and_level);

async fn bad_input_writes_nothing(s: TestStore) {
    fixture(&s).await;
    let cfg = BroadcastConfig::default();
    let now = Utc::now();
    let before = written(&s).await;
    let cases = [
        (
            draft("apocalyptic", Target::Event("Gala".into()), "x", "k"),
            "unknown level",
        ),
        (
            draft("info", Target::Event("Gala".into()), "  \n ", "k"),
            "empty",
        ),
        (
            draft("info", Target::Event("Nope".into()), "x", "k"),
            "unknown event 'Nope'",
        ),
        (
            draft("info", Target::Venue("Nowhere".into()), "x", "k"),
            "no event at venue",
        ),
        (
            draft("info", Target::Event("Gala".into()), "x", ""),
            "idempotency key",
        ),
    ];
    for (d, want) in cases {
        let e = bc::prepare(&s, &cfg, &d, now).await.unwrap_err();
        assert!(e.contains(want), "{e} should say {want}");
    }
    let mut d = draft("info", Target::Event("Gala".into()), "x", "k");
    d.channels = Some("pigeon".into());
    assert!(
        bc::prepare(&s, &cfg, &d, now)
            .await
            .unwrap_err()
            .contains("unknown channel")
    );
    d.channels = None;
    d.test = true;
    assert!(
        bc::prepare(&s, &cfg, &d, now)
            .await
            .unwrap_err()
            .contains("test recipients")
    );
    assert_eq!(written(&s).await, before);
}
store_test!(bad_input_writes_nothing, bad_input_writes_nothing);

async fn send_fans_out_in_one_transaction(s: TestStore) {
    let fx = fixture(&s).await;
    let ctx = ctx("alice@ops", BroadcastConfig::default());
    let p = bc::prepare(
        &s,
        &ctx.cfg,
        &draft(
            "critical",
            Target::Event("Gala".into()),
            "Fire: leave now",
            "k1",
        ),
        Utc::now(),
    )
    .await
    .unwrap();
    let r = bc::send(&s, &ctx, &p).await.unwrap();
    assert_eq!(r.outcome, SendOutcome::Sent);
    assert_eq!(r.deliveries, 3);
    assert!(r.webhook.is_none(), "no webhook configured");
    let id = Val::Uuid(r.broadcast_id);
    let b =
        s.db.fetch_one(
            "SELECT * FROM emergency_broadcasts WHERE id = $1",
            std::slice::from_ref(&id),
        )
        .await
        .unwrap();
    assert_eq!(b.s("status"), "queued");
    assert_eq!(b.s("level"), "critical");
    assert_eq!(b.uuid("event_id"), Some(fx.gala));
    assert_eq!(b.s("triggered_by"), "alice@ops");
    assert_eq!(b.n("affected_count"), 2);
    assert_eq!(b.n("unreachable_count"), 1);
    assert_eq!(count(&s, "SELECT count(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'queued'", std::slice::from_ref(&id)).await, 3);
    let jobs = s.db.fetch_all("SELECT job_type, payload, status, priority, workflow_id, max_attempts FROM job_queue ORDER BY job_type", &[]).await.unwrap();
    let types: Vec<String> = jobs.iter().map(|j| j.s("job_type")).collect();
    assert_eq!(
        types,
        ["broadcast.email", "broadcast.sms", "broadcast.voice"]
    );
    for j in &jobs {
        assert_eq!(j.s("status"), "pending");
        assert_eq!(j.n("priority"), 100);
        assert_eq!(j.uuid("workflow_id"), Some(fx.workflow));
        let pl = j.json("payload").unwrap();
        assert_eq!(pl["broadcast_id"], r.broadcast_id.to_string());
        let d: uuid::Uuid = pl["delivery_id"].as_str().unwrap().parse().unwrap();
        let ch = j.s("job_type").trim_start_matches("broadcast.").to_string();
        assert_eq!(
            count(
                &s,
                "SELECT count(*) AS n FROM broadcast_deliveries WHERE id = $1 AND channel = $2",
                &[Val::Uuid(d), Val::Text(ch)]
            )
            .await,
            1
        );
    }
    let a =
        s.db.fetch_all(
            "SELECT action, target_type, target_id, outcome, operator, note FROM operator_actions",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].s("action"), a[0].s("target_type"), a[0].s("outcome")),
        ("broadcast.send".into(), "broadcast".into(), "ok".into())
    );
    assert_eq!(a[0].s("target_id"), r.broadcast_id.to_string());
    assert_eq!(a[0].s("note"), "Fire: leave now");
}
store_test!(
    send_fans_out_in_one_transaction,
    send_fans_out_in_one_transaction
);

/// Ten submits of one key at once (a double click, a retry after a lost connection, a CLI
/// re-run): one broadcast, one set of deliveries, everyone gets the same id back.
async fn concurrent_submits_one_broadcast(s: TestStore) {
    fixture(&s).await;
    let ctx = ctx("alice@ops", BroadcastConfig::default());
    let p = bc::prepare(
        &s,
        &ctx.cfg,
        &draft("critical", Target::Venue("Hall".into()), "Fire", "same-key"),
        Utc::now(),
    )
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (st, c, p) = (s.store.clone(), ctx.clone(), p.clone());
        tasks.push(tokio::spawn(async move { bc::send(&st, &c, &p).await }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut sent = 0;
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        ids.insert(r.broadcast_id);
        match r.outcome {
            SendOutcome::Sent => sent += 1,
            SendOutcome::Replay => assert_eq!(r.deliveries, p.plan.deliveries.len()),
            o => panic!("unexpected {o:?}"),
        }
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(sent, 1);
    let n = p.plan.deliveries.len() as i64;
    assert_eq!(written(&s).await, [1, n, n, 1]);
}
store_test!(
    concurrent_submits_one_broadcast,
    concurrent_submits_one_broadcast
);

async fn four_eyes_rule(s: TestStore) {
    fixture(&s).await;
    let cfg = BroadcastConfig {
        second_operator_for: vec![opsdeck::domain::broadcast::Level::Critical],
        ..Default::default()
    };
    let alice = ctx("alice@ops", cfg.clone());
    let bob = ctx("bob@ops", cfg.clone());
    let p = bc::prepare(
        &s,
        &cfg,
        &draft("critical", Target::Event("Gala".into()), "Fire", "k4"),
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(p.needs_approval);
    let r = bc::send(&s, &alice, &p).await.unwrap();
    assert_eq!(r.outcome, SendOutcome::AwaitingApproval);
    let id = r.broadcast_id;
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM broadcast_deliveries WHERE status = 'held'",
            &[]
        )
        .await,
        3
    );
    assert_eq!(
        count(&s, "SELECT count(*) AS n FROM job_queue", &[]).await,
        0,
        "nothing sent before approval"
    );
    // the author cannot approve
    let d = bc::approve(&s, &alice, id).await.unwrap();
    assert_eq!(d.outcome, "conflict");
    assert!(d.message.contains("different operator"), "{}", d.message);
    assert_eq!(
        count(&s, "SELECT count(*) AS n FROM job_queue", &[]).await,
        0
    );
    let d = bc::approve(&s, &bob, id).await.unwrap();
    assert_eq!((d.outcome, d.deliveries), ("ok", 3));
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'pending'",
            &[]
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM broadcast_deliveries WHERE status = 'queued'",
            &[]
        )
        .await,
        3
    );
    let b =
        s.db.fetch_one(
            "SELECT status, approved_by FROM emergency_broadcasts WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await
        .unwrap();
    assert_eq!(
        (b.s("status"), b.s("approved_by")),
        ("queued".into(), "bob@ops".into())
    );
    // a cancel meant for the waiting broadcast (approval screen) does not stop it now
    let d = bc::cancel_waiting(&s, &alice, id).await.unwrap();
    assert_eq!(d.outcome, "conflict");
    assert!(
        d.message.contains("already approved by bob@ops"),
        "{}",
        d.message
    );
    // a second approval is a conflict naming bob
    let d = bc::approve(&s, &ctx("carol@ops", cfg.clone()), id)
        .await
        .unwrap();
    assert_eq!(d.outcome, "conflict");
    assert!(
        d.message.contains("already approved by bob@ops"),
        "{}",
        d.message
    );
    // approved and queued, nothing claimed yet: a cancel still stops all three
    let d = bc::cancel(&s, &alice, id).await.unwrap();
    assert_eq!(
        (d.outcome, d.stopped, d.already_out, d.in_flight),
        ("ok", 3, 0, 0),
        "{}",
        d.message
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'cancelled'",
            &[]
        )
        .await,
        3
    );
    // another one, cancelled by its author: nothing sent
    let p = bc::prepare(
        &s,
        &cfg,
        &draft("critical", Target::Event("Gala".into()), "Oops", "k5"),
        Utc::now(),
    )
    .await
    .unwrap();
    let id2 = bc::send(&s, &alice, &p).await.unwrap().broadcast_id;
    assert_eq!(bc::cancel(&s, &alice, id2).await.unwrap().outcome, "ok");
    assert_eq!(
        bc::approve(&s, &bob, id2).await.unwrap().outcome,
        "conflict"
    );
    assert_eq!(count(&s, "SELECT count(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'cancelled'", &[Val::Uuid(id2)]).await, 3);
    assert_eq!(
        count(&s, "SELECT count(*) AS n FROM job_queue", &[]).await,
        3
    );
    // warning level is not under the rule
    let p = bc::prepare(
        &s,
        &cfg,
        &draft("warning", Target::Event("Gala".into()), "Delay", "k6"),
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(!p.needs_approval);
    let acts: Vec<String> =
        s.db.fetch_all(
            "SELECT action || ':' || outcome AS a FROM operator_actions ORDER BY at, id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.s("a"))
        .collect();
    assert_eq!(
        acts,
        [
            "broadcast.send:ok",
            "broadcast.approve:conflict",
            "broadcast.approve:ok",
            "broadcast.cancel:conflict",
            "broadcast.approve:conflict",
            "broadcast.cancel:ok",
            "broadcast.send:ok",
            "broadcast.cancel:ok",
            "broadcast.approve:conflict"
        ]
    );
}
store_test!(four_eyes_rule, four_eyes_rule);

async fn test_mode_only_test_recipients(s: TestStore) {
    fixture(&s).await;
    let cfg = BroadcastConfig {
        test_recipients: vec![
            TestRecipient {
                name: "me".into(),
                phone: Some("+33699999999".into()),
                email: None,
                channel: Some("sms".into()),
            },
            TestRecipient {
                name: "ana again".into(),
                phone: None,
                email: Some("ANA@x.org".into()),
                channel: None,
            },
        ],
        ..Default::default()
    };
    let c = ctx("alice@ops", cfg.clone());
    let mut d = draft("critical", Target::Event("Gala".into()), "Drill", "kt");
    d.test = true;
    let pv = bc::prepare(&s, &cfg, &d, Utc::now()).await.unwrap();
    assert!(pv.test && !pv.needs_approval);
    assert_eq!(pv.plan.people, 2);
    assert_eq!(pv.new_people.len(), 1, "Ana exists (same e-mail)");
    let r = bc::send(&s, &c, &pv).await.unwrap();
    assert!(r.test);
    // me: sms + voice; Ana (only her e-mail in the test entry): e-mail
    assert_eq!(r.deliveries, 3);
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM people WHERE phone = '+33699999999'",
            &[]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM emergency_broadcasts WHERE test = $1",
            &[Val::Bool(true)]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM broadcast_deliveries WHERE person_id = $1",
            &[Val::Uuid(p(2))]
        )
        .await,
        0
    );
}
store_test!(
    test_mode_only_test_recipients,
    test_mode_only_test_recipients
);

async fn retry_and_follow_up(s: TestStore) {
    fixture(&s).await;
    let c = ctx("alice@ops", BroadcastConfig::default());
    let p = bc::prepare(
        &s,
        &c.cfg,
        &draft("warning", Target::Venue("Hall".into()), "Delay", "kr"),
        Utc::now(),
    )
    .await
    .unwrap();
    let id = bc::send(&s, &c, &p).await.unwrap().broadcast_id;
    assert_eq!(
        bc::retry_failed(&s, &c, id).await.unwrap(),
        0,
        "nothing failed yet"
    );
    // as the engine would: two delivered, the rest failed, the broadcast closed
    exec(&s, "UPDATE broadcast_deliveries SET status = 'failed', error = 'Twilio 21211' WHERE channel <> 'email'", &[]).await;
    exec(
        &s,
        "UPDATE broadcast_deliveries SET status = 'delivered' WHERE channel = 'email'",
        &[],
    )
    .await;
    exec(
        &s,
        "UPDATE emergency_broadcasts SET status = 'partially_failed', completed_at = $1",
        &[Val::Ts(Utc::now())],
    )
    .await;
    let pr = bc::progress(&s, id).await.unwrap();
    assert_eq!(pr.percent_done(), 100);
    assert_eq!(pr.totals().failed, 2);
    assert_eq!(pr.failed.len(), 2);
    assert!(
        pr.failed
            .iter()
            .all(|f| f.error == "Twilio 21211" && f.address == PHONE1)
    );
    let jobs_before = count(&s, "SELECT count(*) AS n FROM job_queue", &[]).await;
    assert_eq!(bc::retry_failed(&s, &c, id).await.unwrap(), 2);
    assert_eq!(
        count(&s, "SELECT count(*) AS n FROM job_queue", &[]).await,
        jobs_before + 2
    );
    let pr = bc::progress(&s, id).await.unwrap();
    assert_eq!(
        (pr.status.as_str(), pr.totals().queued, pr.totals().failed),
        ("sending", 2, 0)
    );
    assert!(pr.completed_at.is_none());
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM operator_actions WHERE action = 'broadcast.retry'",
            &[]
        )
        .await,
        1
    );
    // all-clear to the same people, at the same level
    let f = bc::follow_up(&s, id, "All clear", &"kf".into())
        .await
        .unwrap();
    assert_eq!(f.follow_up_of, Some(id));
    assert_eq!(
        f.plan.people, 4,
        "the people the original went to (not unreachable Gus)"
    );
    let r = bc::send(&s, &c, &f).await.unwrap();
    assert_eq!(r.outcome, SendOutcome::Sent);
    let b =
        s.db.fetch_one(
            "SELECT follow_up_of, scope, venue_name FROM emergency_broadcasts WHERE id = $1",
            &[Val::Uuid(r.broadcast_id)],
        )
        .await
        .unwrap();
    assert_eq!(b.uuid("follow_up_of"), Some(id));
    assert_eq!(
        (b.s("scope"), b.s("venue_name")),
        ("venue".into(), "Hall".into())
    );
}
store_test!(retry_and_follow_up, retry_and_follow_up);

/// The delivery job of delivery `d`.
async fn job_of(s: &opsdeck::api::Store, d: &str) -> uuid::Uuid {
    s.db.fetch_one(
        "SELECT id FROM job_queue WHERE CAST(payload AS TEXT) LIKE $1",
        &[Val::Text(format!("%{d}%"))],
    )
    .await
    .unwrap()
    .id("id")
}

/// Puts delivery `d` and its job where the engine would have them.
async fn set_state(s: &opsdeck::api::Store, d: &str, job: &str, delivery: &str) {
    let j = job_of(s, d).await;
    exec(
        s,
        "UPDATE job_queue SET status = $1 WHERE id = $2",
        &[Val::Text(job.into()), Val::Uuid(j)],
    )
    .await;
    exec(
        s,
        "UPDATE broadcast_deliveries SET status = $1 WHERE id = $2",
        &[
            Val::Text(delivery.into()),
            Val::Uuid(uuid::Uuid::parse_str(d).unwrap()),
        ],
    )
    .await;
}

/// Cancelling a queued (live, approved or never held) broadcast: the jobs still pending are
/// cancelled with their deliveries, in one transaction with one audit row; deliveries already
/// out stay as they are, jobs a worker holds are counted as in flight; the answer says which.
async fn cancel_queued_broadcast(s: TestStore) {
    fixture(&s).await;
    let cfg = BroadcastConfig::default();
    let alice = ctx("alice@ops", cfg.clone());
    let p = bc::prepare(
        &s,
        &cfg,
        &draft("warning", Target::Venue("Hall".into()), "Delay", "kc1"),
        Utc::now(),
    )
    .await
    .unwrap();
    let r = bc::send(&s, &alice, &p).await.unwrap();
    assert_eq!(r.outcome, SendOutcome::Sent);
    let id = r.broadcast_id;
    assert_eq!(r.deliveries, 4, "{:?}", r.by_channel);
    // as if the engine had got to three of them: one delivered, one sent (its job processing),
    // one claimed but not yet marked sent (in flight); the fourth is still pending
    let ids: Vec<String> =
        s.db.fetch_all(
            "SELECT id FROM broadcast_deliveries WHERE broadcast_id = $1 ORDER BY channel, id",
            &[Val::Uuid(id)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.id("id").to_string())
        .collect();
    set_state(&s, &ids[0], "completed", "delivered").await;
    set_state(&s, &ids[1], "processing", "sent").await;
    set_state(&s, &ids[2], "processing", "queued").await;
    let pending_job = job_of(&s, &ids[3]).await;
    let before = written(&s).await;

    let bob = ctx("bob@ops", cfg.clone());
    let d = bc::cancel(&s, &bob, id).await.unwrap();
    assert_eq!(
        (d.outcome, d.stopped, d.already_out, d.in_flight),
        ("ok", 1, 2, 1),
        "{}",
        d.message
    );
    assert!(
        d.message
            .contains("1 deliveries stopped, 2 already out, 1 in flight"),
        "{}",
        d.message
    );
    // one audit row, no new broadcast, delivery or job
    let after = written(&s).await;
    assert_eq!(
        [after[0], after[1], after[2], after[3]],
        [before[0], before[1], before[2], before[3] + 1]
    );
    let job =
        s.db.fetch_one(
            "SELECT status, error_message FROM job_queue WHERE id = $1",
            &[Val::Uuid(pending_job)],
        )
        .await
        .unwrap();
    assert_eq!(job.s("status"), "cancelled");
    assert!(job.s("error_message").contains("bob@ops"));
    let statuses: Vec<String> =
        s.db.fetch_all(
            "SELECT status FROM broadcast_deliveries WHERE broadcast_id = $1 ORDER BY channel, id",
            &[Val::Uuid(id)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.s("status"))
        .collect();
    assert_eq!(statuses, ["delivered", "sent", "queued", "cancelled"]);
    assert_eq!(
        count(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'processing'",
            &[]
        )
        .await,
        2,
        "jobs a worker holds are not touched"
    );
    let b =
        s.db.fetch_one(
            "SELECT status, cancelled_by FROM emergency_broadcasts WHERE id = $1",
            &[Val::Uuid(id)],
        )
        .await
        .unwrap();
    assert_eq!(
        (b.s("status"), b.s("cancelled_by")),
        ("cancelled".into(), "bob@ops".into())
    );
    let a = s
        .db
        .fetch_one(
            "SELECT operator, outcome, after FROM operator_actions WHERE action = 'broadcast.cancel'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (a.s("operator"), a.s("outcome")),
        ("bob@ops".into(), "ok".into())
    );
    let after = a.json("after").unwrap();
    assert_eq!(
        (
            after["stopped"].as_i64(),
            after["already_out"].as_i64(),
            after["in_flight"].as_i64()
        ),
        (Some(1), Some(2), Some(1))
    );
    // a correction goes to the people the cancelled broadcast reached (or may still reach),
    // not to the one it never did
    let fu = bc::follow_up(&s, id, "Correction: no delay", &"kc1-fix".into())
        .await
        .unwrap();
    assert_eq!(fu.plan.people, 3, "{:?}", fu.plan);
    assert!(
        !fu.plan
            .deliveries
            .iter()
            .any(|d| d.person_id == bcastkit::p(1)),
        "Ana's whatsapp was stopped: {:?}",
        fu.plan.deliveries
    );
    // again: a conflict that names who cancelled, audited, nothing changed
    let d = bc::cancel(&s, &alice, id).await.unwrap();
    assert_eq!(d.outcome, "conflict");
    assert!(
        d.message.contains("already cancelled by bob@ops"),
        "{}",
        d.message
    );
    // a finished broadcast has nothing to stop
    let p = bc::prepare(
        &s,
        &cfg,
        &draft("info", Target::Event("Gala".into()), "Done", "kc2"),
        Utc::now(),
    )
    .await
    .unwrap();
    let id2 = bc::send(&s, &alice, &p).await.unwrap().broadcast_id;
    exec(
        &s,
        "UPDATE emergency_broadcasts SET status = 'sent' WHERE id = $1",
        &[Val::Uuid(id2)],
    )
    .await;
    let d = bc::cancel(&s, &alice, id2).await.unwrap();
    assert_eq!(d.outcome, "conflict");
    assert!(
        d.message.contains("already finished (sent)"),
        "{}",
        d.message
    );
    // an unknown id is an error, not a conflict
    let d = bc::cancel(&s, &alice, uuid::Uuid::from_u128(77))
        .await
        .unwrap();
    assert_eq!(d.outcome, "error");
}
store_test!(cancel_queued_broadcast, cancel_queued_broadcast);
