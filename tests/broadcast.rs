//! Emergency broadcast: audience, validation, the one-transaction fan-out, idempotency under
//! concurrency, the four-eyes rule, test mode, retry and follow-up. Postgres and SQLite each.

mod bcastkit;
mod common;

use chrono::Utc;
use opsdeck::api::broadcast::{self as bc, SendOutcome, Target};
use opsdeck::api::db::Val;
use opsdeck::broadcast::Channel;
use opsdeck::config::{BroadcastConfig, TestRecipient};

use bcastkit::*;
use common::TestStore;

fn ch(p: &opsdeck::broadcast::Preview, c: Channel) -> usize {
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
        second_operator_for: vec![opsdeck::broadcast::Level::Critical],
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
    // too late to cancel; a second approval is a conflict naming bob
    let d = bc::cancel(&s, &alice, id).await.unwrap();
    assert_eq!(d.outcome, "conflict");
    let d = bc::approve(&s, &ctx("carol@ops", cfg.clone()), id)
        .await
        .unwrap();
    assert!(
        d.message.contains("already approved by bob@ops"),
        "{}",
        d.message
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
    let f = bc::follow_up(&s, id, "All clear", "kf").await.unwrap();
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
