//! The seed scenario (seeds 000–004): a Fashion Week in Paris — five events at two venues
//! (three of them today), the people at each (attendees, models, staff, with their channels and
//! languages, a few deliberately unreachable or with a bad number), tickets sold so far (some
//! events just under a threshold), every workflow the seeds name, and the last two hours of
//! history (history/). The world it writes, the scenario's names and the report are in world.rs.
//! Deterministic for a seed: same seed, same rows (ids included) relative to `now`. Everything
//! goes in one transaction of multi-row INSERTs.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::batch::{Rows, uuid};
use super::catalog::Kind;
use super::history;
use super::world::build;
pub use super::world::{PAUSED_WORKFLOW, SeedReport, VENUE_A, VENUE_B};
use crate::api::Store;
use crate::api::db::Val;

/// Whether the database already has a scenario (any workflow).
pub async fn is_seeded(store: &Store) -> anyhow::Result<bool> {
    let r = store
        .db
        .fetch_one(
            "SELECT count(*) AS n FROM (SELECT 1 FROM workflows LIMIT 1) t",
            &[],
        )
        .await?;
    Ok(r.n("n") > 0)
}

/// Seeds the whole scenario into an empty, migrated database.
pub async fn seed_scenario(
    store: &Store,
    seed: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<SeedReport> {
    let t0 = Instant::now();
    let (mut world, mut rng) = build(seed, now);
    let mut rep = SeedReport::default();
    let mut tx = store.db.begin().await?;

    let mut wf = Rows::new(
        "workflows",
        &[
            "id",
            "name",
            "description",
            "trigger_type",
            "status",
            "paused_by",
            "paused_at",
            "pause_reason",
            "next_execution_at",
            "created_at",
            "updated_at",
        ],
    );
    for w in &world.workflows {
        let paused = w.status == "paused";
        let next = (w.def.every_s > 0).then(|| {
            now + Duration::seconds(rng.random_range(15..(w.def.every_s as i64 / 2).max(20)))
        });
        let next = next.or_else(|| {
            (w.def.kind == Kind::Sequence)
                .then(|| now + Duration::seconds(rng.random_range(60..300)))
        });
        wf.push(vec![
            Val::Uuid(w.id),
            Val::Text(w.def.name.into()),
            Val::Text(w.def.description.into()),
            Val::Text(w.def.trigger.into()),
            Val::Text(w.status.into()),
            Val::OptText(paused.then(|| "maya@ops".to_string())),
            Val::OptTs(paused.then(|| now - Duration::minutes(40))),
            Val::OptText(
                paused.then(|| "OpenAI quota exhausted; paused until the reset".to_string()),
            ),
            Val::OptTs(next),
            Val::Ts(now - Duration::days(30)),
            Val::Ts(if paused {
                now - Duration::minutes(40)
            } else {
                now - Duration::days(2)
            }),
        ]);
    }
    rep.workflows = wf.len();
    wf.insert(&mut tx).await?;

    let mut evs = Rows::new(
        "events",
        &[
            "id",
            "name",
            "venue_name",
            "city",
            "start_at",
            "end_at",
            "capacity",
            "status",
            "created_at",
            "updated_at",
        ],
    );
    for e in &world.events {
        evs.push(vec![
            Val::Uuid(e.id),
            Val::Text(e.name.into()),
            Val::Text(e.venue.into()),
            Val::Text("Paris".into()),
            Val::Ts(e.start),
            Val::Ts(e.end),
            Val::I64(e.capacity),
            Val::Text(e.status.into()),
            Val::Ts(now - Duration::days(45)),
            Val::Ts(now - Duration::days(1)),
        ]);
    }
    rep.events = evs.len();
    evs.insert(&mut tx).await?;

    let mut ppl = Rows::new("people", &crate::sim::world::PEOPLE_COLS);
    for p in &world.people {
        ppl.push(p.vals(now - Duration::days(rng.random_range(3..90))));
    }
    rep.people = ppl.len();
    ppl.insert(&mut tx).await?;

    // tickets: most sold over the past two weeks, the last few in the past hour
    let mut tk = Rows::new("tickets", &["id", "event_id", "tier", "status", "sold_at"]);
    for e in world.events.iter_mut() {
        for i in 0..e.sold {
            let id = uuid(&mut rng);
            e.ticket_ids.push(id);
            let ago = if i >= e.sold - 12 {
                Duration::seconds(rng.random_range(30..3600))
            } else {
                Duration::minutes(rng.random_range(60..14 * 24 * 60))
            };
            let tier = if rng.random_bool(0.15) {
                "vip"
            } else {
                "general"
            };
            tk.push(vec![
                Val::Uuid(id),
                Val::Uuid(e.id),
                Val::Text(tier.into()),
                Val::Text("sold".into()),
                Val::Ts(now - ago),
            ]);
        }
        // a couple of refunds (not counted as sold)
        for _ in 0..2 {
            tk.push(vec![
                Val::Uuid(uuid(&mut rng)),
                Val::Uuid(e.id),
                Val::Text("general".into()),
                Val::Text("refunded".into()),
                Val::Ts(now - Duration::days(rng.random_range(1..10))),
            ]);
        }
    }
    rep.tickets = world.events.iter().map(|e| e.sold as usize).sum();
    tk.insert(&mut tx).await?;

    let mut att = Rows::new("event_attendees", &["event_id", "person_id", "ticket_id"]);
    let mut mdl = Rows::new("event_models", &["event_id", "person_id", "status"]);
    let mut stf = Rows::new("event_staff", &["event_id", "person_id", "role"]);
    for e in &world.events {
        for (n, &p) in e.attendees.iter().enumerate() {
            att.push(vec![
                Val::Uuid(e.id),
                Val::Uuid(world.people[p].id),
                Val::OptUuid(e.ticket_ids.get(n).copied()),
            ]);
        }
        for &(p, st) in &e.models {
            mdl.push(vec![
                Val::Uuid(e.id),
                Val::Uuid(world.people[p].id),
                Val::Text(st.into()),
            ]);
        }
        for &(p, role) in &e.staff {
            stf.push(vec![
                Val::Uuid(e.id),
                Val::Uuid(world.people[p].id),
                Val::Text(role.into()),
            ]);
        }
    }
    att.insert(&mut tx).await?;
    mdl.insert(&mut tx).await?;
    stf.insert(&mut tx).await?;

    history::seed(&mut tx, &world, &mut rng, &mut rep).await?;
    tx.commit().await?;
    rep.millis = t0.elapsed().as_millis();
    Ok(rep)
}
