//! Broadcast fixtures: two events today at "Hall" (one ongoing), one elsewhere, one at Hall in
//! three days; people with shared phones, a declined model, someone unreachable.
#![allow(dead_code)]

use chrono::{Duration, Utc};
use opsdeck::api::Store;
use opsdeck::api::broadcast::BroadcastCtx;
use opsdeck::api::db::Val;
use opsdeck::config::BroadcastConfig;
use opsdeck::domain::action::Actor;
use opsdeck::domain::broadcast::{Draft, Target};
use uuid::Uuid;

pub struct Fx {
    pub gala: Uuid,
    pub talk: Uuid,
    pub other: Uuid,
    pub later: Uuid,
    pub workflow: Uuid,
}

pub const PHONE1: &str = "+33612345678";

pub fn p(n: u128) -> Uuid {
    Uuid::from_u128(0x1000 + n)
}

pub async fn exec(s: &Store, sql: &str, args: &[Val]) {
    s.db.execute(sql, args)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub async fn count(s: &Store, sql: &str, args: &[Val]) -> i64 {
    s.db.fetch_one(sql, args)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n("n")
}

pub async fn fixture(s: &Store) -> Fx {
    let now = Utc::now();
    let fx = Fx {
        gala: Uuid::from_u128(1),
        talk: Uuid::from_u128(2),
        other: Uuid::from_u128(3),
        later: Uuid::from_u128(4),
        workflow: Uuid::from_u128(9),
    };
    exec(
        s,
        "INSERT INTO workflows (id, name, status) VALUES ($1, 'Emergency Broadcast System', 'active')",
        &[Val::Uuid(fx.workflow)],
    )
    .await;
    for (id, name, venue, start, end) in [
        (fx.gala, "Gala", "Hall", now, now + Duration::hours(3)),
        (
            fx.talk,
            "Talk",
            "Hall",
            now - Duration::hours(1),
            now + Duration::hours(2),
        ),
        (
            fx.other,
            "Other",
            "Elsewhere",
            now,
            now + Duration::hours(3),
        ),
        (
            fx.later,
            "Later",
            "Hall",
            now + Duration::days(3),
            now + Duration::days(3),
        ),
    ] {
        exec(
            s,
            "INSERT INTO events (id, name, venue_name, start_at, end_at, capacity, status) \
             VALUES ($1, $2, $3, $4, $5, 100, 'published')",
            &[
                Val::Uuid(id),
                Val::Text(name.into()),
                Val::Text(venue.into()),
                Val::Ts(start),
                Val::Ts(end),
            ],
        )
        .await;
    }
    // n, name, phone, email, channel
    type P<'a> = (
        u128,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let people: [P; 8] = [
        (1, "Ana", Some(PHONE1), Some("ana@x.org"), Some("whatsapp")),
        (2, "Bea", Some(PHONE1), Some("bea@x.org"), Some("sms")), // shares Ana's phone
        (3, "Cid", Some("+33611111111"), None, Some("sms")),      // declined model
        (4, "Dan", None, Some("dan@x.org"), Some("email")),
        (5, "Eve", None, Some("eve@x.org"), Some("sms")), // sms without phone: e-mail
        (6, "Fay", Some("+33622222222"), None, Some("sms")),
        (7, "Gus", Some("555-0199"), None, Some("sms")), // unreachable
        (8, "Hal", Some("+33633333333"), None, None),
    ];
    for (n, name, phone, email, ch) in people {
        exec(
            s,
            "INSERT INTO people (id, name, phone, email, primary_channel) VALUES ($1, $2, $3, $4, $5)",
            &[
                Val::Uuid(p(n)),
                Val::Text(name.into()),
                Val::OptText(phone.map(Into::into)),
                Val::OptText(email.map(Into::into)),
                Val::OptText(ch.map(Into::into)),
            ],
        )
        .await;
    }
    let att = "INSERT INTO event_attendees (event_id, person_id) VALUES ($1, $2)";
    let mdl = "INSERT INTO event_models (event_id, person_id, status) VALUES ($1, $2, $3)";
    let stf = "INSERT INTO event_staff (event_id, person_id) VALUES ($1, $2)";
    exec(s, att, &[Val::Uuid(fx.gala), Val::Uuid(p(1))]).await;
    exec(
        s,
        mdl,
        &[
            Val::Uuid(fx.gala),
            Val::Uuid(p(2)),
            Val::Text("confirmed".into()),
        ],
    )
    .await;
    exec(
        s,
        mdl,
        &[
            Val::Uuid(fx.gala),
            Val::Uuid(p(3)),
            Val::Text("declined".into()),
        ],
    )
    .await;
    exec(s, stf, &[Val::Uuid(fx.gala), Val::Uuid(p(4))]).await;
    exec(s, att, &[Val::Uuid(fx.gala), Val::Uuid(p(7))]).await;
    exec(s, att, &[Val::Uuid(fx.talk), Val::Uuid(p(5))]).await;
    exec(s, stf, &[Val::Uuid(fx.talk), Val::Uuid(p(1))]).await; // Ana at both Hall events
    exec(s, att, &[Val::Uuid(fx.other), Val::Uuid(p(6))]).await;
    exec(s, att, &[Val::Uuid(fx.later), Val::Uuid(p(8))]).await;
    fx
}

pub fn ctx(operator: &str, cfg: BroadcastConfig) -> BroadcastCtx {
    BroadcastCtx::new(
        Actor {
            operator: operator.into(),
            origin: "local:test".into(),
        },
        cfg,
    )
}

pub fn draft(level: &str, target: Target, msg: &str, key: &str) -> Draft {
    Draft {
        level: level.into(),
        target,
        message: msg.into(),
        channels: None,
        idempotency_key: key.into(),
        test: false,
    }
}

pub async fn written(s: &Store) -> [i64; 4] {
    [
        count(s, "SELECT count(*) AS n FROM emergency_broadcasts", &[]).await,
        count(s, "SELECT count(*) AS n FROM broadcast_deliveries", &[]).await,
        count(s, "SELECT count(*) AS n FROM job_queue", &[]).await,
        count(s, "SELECT count(*) AS n FROM operator_actions", &[]).await,
    ]
}
