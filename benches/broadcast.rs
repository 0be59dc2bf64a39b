//! Fan-out speed: one broadcast to an event of 10,000 people (the seeds' largest) on the local
//! Postgres, written in one transaction (broadcast row, deliveries, jobs, audit row).
//! Target: ≤ 2 s. Prints the median of the runs.
//!
//!     cargo bench --bench broadcast            # release profile
//!     cargo bench --bench broadcast --profile dev
//!
//! `OPSDECK_TEST_PG` picks the server (default postgres://postgres@127.0.0.1:5432/postgres);
//! a scratch database is created and dropped.

use std::time::{Duration, Instant};

use chrono::Utc;
use opsdeck::api::Store;
use opsdeck::api::broadcast::{self as bc, BroadcastCtx};
use opsdeck::config::{BroadcastConfig, DbTarget, SecretUrl};
use opsdeck::domain::action::Actor;
use opsdeck::domain::broadcast::{Draft, Target};

const PEOPLE: i64 = 10_000;
const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let admin_url = std::env::var("OPSDECK_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let admin = Store::open(&DbTarget::Postgres(SecretUrl::new(admin_url.clone())), 1)
        .await
        .expect("Postgres reachable");
    let name = format!("opsdeck_bench_{}", uuid::Uuid::new_v4().simple());
    admin
        .db
        .execute(&format!("CREATE DATABASE \"{name}\""), &[])
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let store = Store::open(&DbTarget::Postgres(SecretUrl::new(url.to_string())), 4)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    setup(&store).await;
    let ctx = BroadcastCtx::new(
        Actor {
            operator: "bench@ops".into(),
            origin: "local:bench".into(),
        },
        BroadcastConfig::default(),
    );
    for level in ["warning", "critical"] {
        let (mut prep, mut send) = (Vec::new(), Vec::new());
        let mut deliveries = 0;
        for i in 0..RUNS {
            let d = Draft {
                level: level.into(),
                target: Target::Event("Big Show".into()),
                message: "Fire alarm: leave by the nearest exit".into(),
                channels: None,
                idempotency_key: format!("bench-{level}-{i}").into(),
                test: false,
            };
            let t0 = Instant::now();
            let p = bc::prepare(&store, &ctx.cfg, &d, Utc::now()).await.unwrap();
            let t1 = Instant::now();
            let r = bc::send(&store, &ctx, &p).await.unwrap();
            let t2 = Instant::now();
            assert_eq!(r.outcome, opsdeck::domain::broadcast::SendOutcome::Sent);
            deliveries = r.deliveries;
            prep.push(t1 - t0);
            send.push(t2 - t1);
        }
        let (mp, ms) = (median(prep), median(send));
        println!(
            "broadcast {level}: {PEOPLE} people, {deliveries} deliveries + {deliveries} jobs: \
             prepare median {:.0} ms, fan-out (one transaction) median {:.0} ms, total {:.0} ms over {RUNS} runs{}",
            mp.as_secs_f64() * 1e3,
            ms.as_secs_f64() * 1e3,
            (mp + ms).as_secs_f64() * 1e3,
            if mp + ms <= Duration::from_secs(2) {
                " (≤ 2 s: ok)"
            } else {
                " (OVER the 2 s target)"
            }
        );
    }
    store.db.close().await;
    admin
        .db
        .execute(
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            &[],
        )
        .await
        .unwrap();
}

/// One event with 10,000 attendees: phones for most, e-mail for some, preferences mixed.
async fn setup(s: &Store) {
    s.db.execute_script(&format!(
        "INSERT INTO workflows (name, status) VALUES ('Emergency Broadcast System', 'active');
         INSERT INTO events (id, name, venue_name, start_at, end_at, capacity)
           VALUES ('00000000-0000-0000-0000-00000000b160', 'Big Show', 'Arena', now(), now() + interval '3 hours', {PEOPLE});
         INSERT INTO people (id, name, phone, email, primary_channel)
           SELECT gen_random_uuid(), 'Person ' || g,
                  CASE WHEN g % 20 = 0 THEN NULL ELSE '+336' || lpad(g::text, 8, '0') END,
                  CASE WHEN g % 3 = 0 THEN 'p' || g || '@example.org' END,
                  (ARRAY['sms', 'whatsapp', 'email'])[1 + g % 3]
           FROM generate_series(1, {PEOPLE}) g;
         INSERT INTO event_attendees (event_id, person_id)
           SELECT '00000000-0000-0000-0000-00000000b160', id FROM people;"
    ))
    .await
    .expect("bench fixture");
}
