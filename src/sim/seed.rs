//! The seed scenario (seeds 000–004): a Fashion Week in Paris — five events at two venues
//! (three of them today), the people at each (attendees, models, staff, with their channels and
//! languages, a few deliberately unreachable or with a bad number), tickets sold so far (some
//! events just under a threshold), every workflow the seeds name, and the last two hours of
//! history (history.rs). Deterministic for a seed: same seed, same rows (ids included) relative
//! to `now`. Everything goes in one transaction of multi-row INSERTs.

use std::fmt;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::batch::{Rows, pick, uuid, weighted};
use super::catalog::{FIRST_NAMES, Kind, LANGUAGES, LAST_NAMES, WORKFLOWS, WfDef};
use super::history;
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

/// What the seeder wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub workflows: usize,
    pub events: usize,
    pub people: usize,
    pub tickets: usize,
    pub runs: usize,
    pub step_logs: usize,
    pub jobs: usize,
    pub errors: usize,
    pub approvals: usize,
    pub reconciliation_runs: usize,
    pub discrepancies: usize,
    pub broadcasts: usize,
    pub deliveries: usize,
    pub capacity_alerts: usize,
    pub metrics: usize,
    /// Wall time of the seeding (not part of equality between runs).
    pub millis: u128,
}

impl SeedReport {
    /// The counts alone (for "same seed, same scenario" comparisons).
    pub fn counts(&self) -> SeedReport {
        SeedReport {
            millis: 0,
            ..self.clone()
        }
    }
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seeded in {} ms: {} workflows, {} events, {} people, {} tickets, {} runs ({} step logs), \
             {} jobs, {} errors, {} approvals, {} reconciliation runs ({} discrepancies), \
             {} broadcasts ({} deliveries), {} capacity alerts, {} metrics",
            self.millis,
            self.workflows,
            self.events,
            self.people,
            self.tickets,
            self.runs,
            self.step_logs,
            self.jobs,
            self.errors,
            self.approvals,
            self.reconciliation_runs,
            self.discrepancies,
            self.broadcasts,
            self.deliveries,
            self.capacity_alerts,
            self.metrics
        )
    }
}

pub const VENUE_A: &str = "Carrousel du Louvre";
pub const VENUE_B: &str = "Palais de Tokyo";

/// The workflow the scenario starts paused (so the console shows one).
pub const PAUSED_WORKFLOW: &str = "Portfolio Auto-Evaluation";

pub(crate) struct Person {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub channel: Option<&'static str>,
    pub lang: &'static str,
}

pub(crate) struct Ev {
    pub id: Uuid,
    pub name: &'static str,
    pub venue: &'static str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub capacity: i64,
    pub sold: i64,
    pub status: &'static str,
    /// person indexes
    pub attendees: Vec<usize>,
    pub models: Vec<(usize, &'static str)>,
    pub staff: Vec<(usize, &'static str)>,
    pub ticket_ids: Vec<Uuid>,
}

pub(crate) struct Wf {
    pub id: Uuid,
    pub def: &'static WfDef,
    pub status: &'static str,
}

/// The scenario being built (history.rs adds to it).
pub(crate) struct World {
    pub now: DateTime<Utc>,
    pub workflows: Vec<Wf>,
    pub events: Vec<Ev>,
    pub people: Vec<Person>,
}

impl World {
    pub fn wf(&self, name: &str) -> &Wf {
        self.workflows
            .iter()
            .find(|w| w.def.name == name)
            .expect("catalog workflow")
    }
}

fn person(rng: &mut SmallRng, n: usize) -> Person {
    let first = *pick(rng, FIRST_NAMES);
    let last = *pick(rng, LAST_NAMES);
    let lang = LANGUAGES[weighted(rng, LANGUAGES, |l| l.1)].0;
    let cc = match lang {
        "fr" => "+33 6",
        "it" => "+39 3",
        "es" => "+34 6",
        "ja" => "+81 90",
        "ar" => "+971 50",
        _ => "+44 7",
    };
    let phone = format!(
        "{cc}{:02} {:02} {:02} {:02}",
        rng.random_range(0..100),
        rng.random_range(0..100),
        rng.random_range(0..100),
        rng.random_range(0..100)
    );
    let ascii = |s: &str| {
        s.to_lowercase()
            .chars()
            .map(|c| match c {
                'é' | 'è' => 'e',
                'í' => 'i',
                'ü' => 'u',
                c => c,
            })
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    let email = format!("{}.{}{}@example.com", ascii(first), ascii(last), n);
    let channel = ["whatsapp", "sms", "email"][weighted(rng, &[45u32, 25, 30], |w| *w)];
    Person {
        id: uuid(rng),
        name: format!("{first} {last}"),
        phone: Some(phone),
        email: Some(email),
        channel: Some(channel),
        lang,
    }
}

/// (name, venue, start, end, capacity, sold share, attendees, models, staff)
type EventPlan = (
    &'static str,
    &'static str,
    Duration,
    Duration,
    i64,
    f64,
    usize,
    usize,
    usize,
);

fn build(seed: u64, now: DateTime<Utc>) -> (World, SmallRng) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let workflows = WORKFLOWS
        .iter()
        .map(|def| Wf {
            id: uuid(&mut rng),
            def,
            status: if def.name == PAUSED_WORKFLOW {
                "paused"
            } else {
                "active"
            },
        })
        .collect();
    let h = Duration::hours;
    let plan: [EventPlan; 5] = [
        (
            "Future of Fashion Conference",
            VENUE_A,
            h(-2),
            h(4),
            2000,
            0.88,
            120,
            0,
            25,
        ),
        (
            "Maison Lumière Runway Show",
            VENUE_A,
            h(1),
            Duration::minutes(150),
            500,
            0.78,
            60,
            24,
            15,
        ),
        ("Noir VIP Party", VENUE_B, h(2), h(5), 200, 0.75, 40, 10, 10),
        (
            "Emerging Designers Showcase",
            VENUE_B,
            h(26),
            h(29),
            800,
            0.45,
            30,
            16,
            10,
        ),
        ("Closing Gala", VENUE_A, h(74), h(78), 350, 0.62, 30, 8, 10),
    ];
    let mut people: Vec<Person> = Vec::new();
    let mut events = Vec::new();
    let mut shared_staff: Vec<usize> = Vec::new();
    let mut runway_models: Vec<usize> = Vec::new();
    for (i, (name, venue, start, end, cap, share, na, nm, ns)) in plan.into_iter().enumerate() {
        let sold = ((cap as f64 * share) as i64 + rng.random_range(-3..=3)).clamp(0, cap);
        let mut ev = Ev {
            id: uuid(&mut rng),
            name,
            venue,
            start: now + start,
            end: now + end,
            capacity: cap,
            sold,
            status: if start < Duration::zero() {
                "active"
            } else {
                "published"
            },
            attendees: Vec::new(),
            models: Vec::new(),
            staff: Vec::new(),
            ticket_ids: Vec::new(),
        };
        for _ in 0..na {
            people.push(person(&mut rng, people.len()));
            ev.attendees.push(people.len() - 1);
        }
        for m in 0..nm {
            // the VIP party's models walked the runway too
            let idx = if i == 2 && m < runway_models.len() {
                runway_models[m]
            } else {
                people.push(person(&mut rng, people.len()));
                people.len() - 1
            };
            if i == 1 {
                runway_models.push(idx);
            }
            let status = match m % 8 {
                5 if m > 8 => "pending",
                7 if m > 16 => "cancelled",
                _ => "confirmed",
            };
            ev.models.push((idx, status));
        }
        for s in 0..ns {
            let idx = if s < 5 && shared_staff.len() == 5 {
                shared_staff[s]
            } else {
                people.push(person(&mut rng, people.len()));
                let idx = people.len() - 1;
                if shared_staff.len() < 5 {
                    shared_staff.push(idx);
                }
                idx
            };
            let role = ["security", "stage_manager", "usher", "medic", "runner"][s % 5];
            ev.staff.push((idx, role));
        }
        events.push(ev);
    }
    // deliberate gaps: unreachable people and bad numbers (Twilio 21211)
    for (e, nth) in [(0usize, 3usize), (1, 7), (2, 5)] {
        let p = &mut people[events[e].attendees[nth]];
        p.phone = None;
        p.email = None;
        p.channel = None;
    }
    for (e, nth) in [(1usize, 11usize), (2, 9), (2, 21), (0, 40)] {
        let p = &mut people[events[e].attendees[nth]];
        p.phone = Some(format!("06 {:02} {:02}", nth, e));
        p.channel = Some("sms");
    }
    let world = World {
        now,
        workflows,
        events,
        people,
    };
    (world, rng)
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

    let mut ppl = Rows::new(
        "people",
        &[
            "id",
            "name",
            "phone",
            "email",
            "primary_channel",
            "language",
            "created_at",
        ],
    );
    for p in &world.people {
        ppl.push(vec![
            Val::Uuid(p.id),
            Val::Text(p.name.clone()),
            Val::OptText(p.phone.clone()),
            Val::OptText(p.email.clone()),
            Val::OptText(p.channel.map(str::to_string)),
            Val::Text(p.lang.into()),
            Val::Ts(now - Duration::days(rng.random_range(3..90))),
        ]);
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
