//! The scenario's world before it is written: workflows, events with their people (attendees,
//! models, staff) and the deliberate gaps (unreachable people, bad numbers); the venue and
//! workflow names the scenario is built on; and the report of what was written. The seeder
//! (seed.rs) writes the world and the history (history/) adds the last two hours to it; both
//! take it from here, so they depend one way: seed → history, each of them → world.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::sim::batch::{pick, uuid, weighted};
use crate::sim::catalog::{FIRST_NAMES, LANGUAGES, LAST_NAMES, WORKFLOWS, WfDef};

pub const VENUE_A: &str = "Carrousel du Louvre";
pub const VENUE_B: &str = "Palais de Tokyo";

/// The workflow the scenario starts paused (so the console shows one).
pub const PAUSED_WORKFLOW: &str = "Portfolio Auto-Evaluation";

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

pub(crate) struct Person {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub channel: Option<&'static str>,
    pub lang: &'static str,
}

/// The `people` columns a person is written with ([`Person::vals`]).
pub(crate) const PEOPLE_COLS: [&str; 7] = [
    "id",
    "name",
    "phone",
    "email",
    "primary_channel",
    "language",
    "created_at",
];

impl Person {
    /// This person as a `people` row in [`PEOPLE_COLS`]' order.
    pub(crate) fn vals(&self, created_at: DateTime<Utc>) -> Vec<crate::api::db::Val> {
        use crate::api::db::Val;
        vec![
            Val::Uuid(self.id),
            Val::Text(self.name.clone()),
            Val::OptText(self.phone.clone()),
            Val::OptText(self.email.clone()),
            Val::OptText(self.channel.map(str::to_string)),
            Val::Text(self.lang.into()),
            Val::Ts(created_at),
        ]
    }
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

pub(crate) fn person(rng: &mut SmallRng, n: usize) -> Person {
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

/// (name, venue, start, end, capacity, sold share, models, staff); every ticket sold is a person
/// at the event (its buyer)
type EventPlan = (
    &'static str,
    &'static str,
    Duration,
    Duration,
    i64,
    f64,
    usize,
    usize,
);

pub(super) fn build(seed: u64, now: DateTime<Utc>) -> (World, SmallRng) {
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
            24,
            15,
        ),
        ("Noir VIP Party", VENUE_B, h(2), h(5), 200, 0.75, 10, 10),
        (
            "Emerging Designers Showcase",
            VENUE_B,
            h(26),
            h(29),
            800,
            0.45,
            16,
            10,
        ),
        ("Closing Gala", VENUE_A, h(74), h(78), 350, 0.62, 8, 10),
    ];
    let mut people: Vec<Person> = Vec::new();
    let mut events = Vec::new();
    let mut shared_staff: Vec<usize> = Vec::new();
    let mut runway_models: Vec<usize> = Vec::new();
    for (i, (name, venue, start, end, cap, share, nm, ns)) in plan.into_iter().enumerate() {
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
        // each ticket's buyer is at the event (and reached by a broadcast to it)
        for _ in 0..sold {
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
