//! Emergency broadcasts, the database part: resolve the scope, read the audience, plan it
//! ([`crate::domain::broadcast::plan`]), then fan out in one transaction ([`send`]), approve or
//! cancel a broadcast waiting for a second operator, follow its progress, retry its failures,
//! prepare a follow-up to the same audience, and claim and record n8n's webhook call (the call
//! itself is `api::broadcast`'s, after the commit).

pub mod by_function;
mod progress;
mod send;
mod sql;
mod webhook;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::api::db::{Val, describe_sqlx};
use crate::api::store::Store;
use crate::config::{BroadcastConfig, TestRecipient};
use crate::domain::broadcast::{
    Channel, Draft, EventChoice, Level, Person, Preview, Scope, Target, Waiting, WorkflowState,
    plan, segments, validate_message,
};
use crate::domain::idem::IdemKey;

pub(in crate::api) use progress::retry_failed;
pub use progress::{follow_up, progress};
pub(in crate::api) use send::{approve, cancel, cancel_waiting, send};
pub(in crate::api) use webhook::{Claim, claim_webhook, record_webhook};

/// The Emergency Broadcast System workflow's name (seed 000 phase 5).
pub const WORKFLOW: &str = "Emergency Broadcast System";

fn db_err(e: sqlx::Error) -> String {
    describe_sqlx(&e)
}

/// Validates `d`, resolves its scope and plans its audience. Reads only.
pub async fn prepare(
    store: &Store,
    cfg: &BroadcastConfig,
    d: &Draft,
    now: DateTime<Utc>,
) -> Result<Preview, String> {
    let level = Level::parse(&d.level)?;
    let message = validate_message(&d.message)?;
    let channels = d.channels.as_deref().map(Channel::parse_list).transpose()?;
    let key = d.idempotency_key.as_str().trim();
    if key.is_empty() || key.len() > 200 {
        return Err("the idempotency key must be 1 to 200 characters".into());
    }
    let (scope, venue_name, events) = resolve(store, &d.target, now).await?;
    let (people, new_people) = if d.test {
        test_people(store, cfg).await?
    } else {
        let ids: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
        (audience(store, &ids).await?, Vec::new())
    };
    let plan = plan(&people, level, channels.as_deref());
    Ok(Preview {
        level,
        scope,
        venue_name,
        events: events.into_iter().map(|(_, n)| n).collect(),
        segments: segments(&message),
        message,
        channels,
        test: d.test,
        idempotency_key: IdemKey::new(key),
        follow_up_of: None,
        plan,
        workflow: workflow_state(store).await?,
        needs_approval: !d.test
            && (cfg.second_operator_for.contains(&level) || db_holds(store, level).await?),
        new_people,
    })
}

/// Whether the database holds this level for a second operator (`opsdeck broadcast rules`;
/// a database without them holds none).
async fn db_holds(store: &Store, level: Level) -> Result<bool, String> {
    if !crate::api::store::actions::acts_by_function(store)
        .await
        .map_err(db_err)?
    {
        return Ok(false);
    }
    Ok(by_function::rules(store)
        .await?
        .iter()
        .any(|l| l == level.as_str()))
}

/// The event (by id or exact name) or the venue's events today.
async fn resolve(
    store: &Store,
    t: &Target,
    now: DateTime<Utc>,
) -> Result<(Scope, String, Vec<(Uuid, String)>), String> {
    match t {
        Target::Event(e) => {
            let e = e.trim();
            let rows =
                match Uuid::parse_str(e) {
                    Ok(id) => {
                        store
                            .db
                            .fetch_all(
                                "SELECT id, name, venue_name FROM events WHERE id = $1",
                                &[Val::Uuid(id)],
                            )
                            .await
                    }
                    Err(_) => store
                        .db
                        .fetch_all(
                            "SELECT id, name, venue_name FROM events WHERE lower(name) = lower($1) \
                             ORDER BY start_at DESC LIMIT 5",
                            &[Val::Text(e.to_string())],
                        )
                        .await,
                }
                .map_err(db_err)?;
            match rows.as_slice() {
                [] => Err(format!("unknown event '{e}' (give its id or exact name)")),
                [r] => {
                    let (id, name) = (r.id("id"), r.s("name"));
                    Ok((
                        Scope::Event {
                            event_id: id,
                            name: name.clone(),
                        },
                        r.s("venue_name"),
                        vec![(id, name)],
                    ))
                }
                many => Err(format!(
                    "{} events are named '{e}': give the id ({})",
                    many.len(),
                    many.iter()
                        .map(|r| r.id("id").to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        Target::Venue(v) => {
            let v = v.trim();
            if v.is_empty() {
                return Err("the venue name is empty".into());
            }
            let day = now
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc();
            let rows = store
                .db
                .fetch_all(
                    "SELECT id, name, venue_name FROM events WHERE lower(venue_name) = lower($1) \
                     AND status <> 'cancelled' \
                     AND ((start_at >= $2 AND start_at < $3) OR (start_at <= $4 AND end_at >= $4)) \
                     ORDER BY start_at",
                    &[
                        Val::Text(v.to_string()),
                        Val::Ts(day),
                        Val::Ts(day + Duration::days(1)),
                        Val::Ts(now),
                    ],
                )
                .await
                .map_err(db_err)?;
            if rows.is_empty() {
                return Err(format!("no event at venue '{v}' today"));
            }
            let venue = rows[0].s("venue_name");
            Ok((
                Scope::Venue {
                    venue_name: venue.clone(),
                },
                venue,
                rows.iter().map(|r| (r.id("id"), r.s("name"))).collect(),
            ))
        }
    }
}

/// Everyone at these events: attendees, confirmed models, staff; distinct, by id.
pub async fn audience(store: &Store, events: &[Uuid]) -> Result<Vec<Person>, String> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let ph = (1..=events.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sqlt = format!(
        "SELECT p.id, p.name, p.phone, p.email, p.primary_channel FROM people p WHERE p.id IN ( \
           SELECT person_id FROM event_attendees WHERE event_id IN ({ph}) \
           UNION SELECT person_id FROM event_models WHERE event_id IN ({ph}) AND status = 'confirmed' \
           UNION SELECT person_id FROM event_staff WHERE event_id IN ({ph})) \
         ORDER BY p.id"
    );
    let args: Vec<Val> = events.iter().map(|e| Val::Uuid(*e)).collect();
    let rows = store.db.fetch_all(&sqlt, &args).await.map_err(db_err)?;
    Ok(rows.iter().map(person_of).collect())
}

fn person_of(r: &crate::api::db::DbRow) -> Person {
    Person {
        id: r.id("id"),
        name: r.s("name"),
        phone: r.text("phone"),
        email: r.text("email"),
        primary_channel: r.text("primary_channel"),
    }
}

/// The configured test recipients: existing people with the same phone or e-mail, else new
/// people rows (written with the broadcast).
async fn test_people(
    store: &Store,
    cfg: &BroadcastConfig,
) -> Result<(Vec<Person>, Vec<Person>), String> {
    // the database's list, where it holds one, else the config's; a held contact keeps the
    // channel the config gives it
    let held = if crate::api::store::actions::acts_by_function(store)
        .await
        .map_err(db_err)?
    {
        by_function::test_recipients(store).await?
    } else {
        None
    };
    let list: Vec<TestRecipient> = match held {
        Some(h) if !h.is_empty() => h
            .into_iter()
            .map(|h| {
                let channel = cfg
                    .test_recipients
                    .iter()
                    .find(|c| {
                        (c.phone.is_some() && c.phone == h.phone)
                            || (c.email.is_some()
                                && c.email.as_deref().map(str::to_lowercase)
                                    == h.email.as_deref().map(str::to_lowercase))
                    })
                    .and_then(|c| c.channel.clone());
                TestRecipient {
                    name: h.name,
                    phone: h.phone,
                    email: h.email,
                    channel,
                }
            })
            .collect(),
        _ => cfg.test_recipients.clone(),
    };
    if list.is_empty() {
        return Err(
            "test mode needs test recipients: add [[broadcast.test_recipients]] (name, phone, email) to the config, or ask an admin to add yours (opsdeck broadcast test-recipients --add NAME=CONTACT)"
                .into(),
        );
    }
    let (mut people, mut new) = (Vec::new(), Vec::new());
    for t in &list {
        let channel = t
            .channel
            .clone()
            .or_else(|| Some(if t.email.is_some() { "email" } else { "sms" }.to_string()));
        let found = store
            .db
            .fetch_optional(
                "SELECT id FROM people WHERE (phone IS NOT NULL AND phone = $1) \
                 OR (email IS NOT NULL AND lower(email) = lower($2)) ORDER BY id LIMIT 1",
                &[
                    Val::Text(t.phone.clone().unwrap_or_default()),
                    Val::Text(t.email.clone().unwrap_or_default()),
                ],
            )
            .await
            .map_err(db_err)?;
        let p = Person {
            id: found
                .as_ref()
                .map(|r| r.id("id"))
                .unwrap_or_else(Uuid::new_v4),
            name: format!("TEST {}", t.name),
            phone: t.phone.clone(),
            email: t.email.clone(),
            primary_channel: channel,
        };
        if found.is_none() {
            new.push(p.clone());
        }
        people.push(p);
    }
    Ok((people, new))
}

async fn workflow_state(store: &Store) -> Result<WorkflowState, String> {
    let r = store
        .db
        .fetch_optional(
            "SELECT status FROM workflows WHERE name = $1",
            &[Val::Text(WORKFLOW.into())],
        )
        .await
        .map_err(db_err)?;
    Ok(match r.map(|r| r.s("status")) {
        None => WorkflowState::Missing,
        Some(s) if s == "active" => WorkflowState::Active,
        Some(_) => WorkflowState::Paused,
    })
}

/// Broadcasts awaiting approval, oldest first (at most 50).
pub async fn awaiting(store: &Store) -> Result<Vec<Waiting>, String> {
    let rows = store
        .db
        .fetch_all(
            "SELECT b.id, b.level, b.scope, b.venue_name, b.message, b.triggered_by, b.created_at, \
               b.unreachable_count, b.duplicate_count, e.name AS event_name \
             FROM emergency_broadcasts b LEFT JOIN events e ON e.id = b.event_id \
             WHERE b.status = 'awaiting_approval' ORDER BY b.created_at, b.id LIMIT 50",
            &[],
        )
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let counts = store
        .db
        .fetch_all(
            "SELECT d.broadcast_id, d.channel, count(*) AS n FROM broadcast_deliveries d \
             JOIN emergency_broadcasts b ON b.id = d.broadcast_id \
             WHERE b.status = 'awaiting_approval' AND d.status = 'held' \
             GROUP BY d.broadcast_id, d.channel",
            &[],
        )
        .await
        .map_err(db_err)?;
    Ok(rows
        .iter()
        .map(|r| {
            let id = r.id("id");
            let scope = r.s("scope");
            Waiting {
                id,
                level: r.s("level"),
                target: if scope == "event" {
                    r.text("event_name").unwrap_or_default()
                } else {
                    r.text("venue_name").unwrap_or_default()
                },
                scope,
                message: r.s("message"),
                triggered_by: r.s("triggered_by"),
                created_at: r.ts("created_at"),
                by_channel: counts
                    .iter()
                    .filter(|c| c.id("broadcast_id") == id)
                    .map(|c| (c.s("channel"), c.n("n")))
                    .collect(),
                unreachable: r.n("unreachable_count"),
                duplicates: r.n("duplicate_count"),
            }
        })
        .collect())
}

/// Events the compose screen offers: from 12 hours ago to a week ahead, not cancelled.
pub async fn event_choices(store: &Store, now: DateTime<Utc>) -> Result<Vec<EventChoice>, String> {
    let day = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let rows = store
        .db
        .fetch_all(
            "SELECT id, name, venue_name, start_at, end_at FROM events WHERE status <> 'cancelled' \
             AND start_at >= $1 AND start_at < $2 ORDER BY start_at LIMIT 200",
            &[
                Val::Ts(now - Duration::hours(12)),
                Val::Ts(now + Duration::days(7)),
            ],
        )
        .await
        .map_err(db_err)?;
    Ok(rows
        .iter()
        .map(|r| {
            let start = r.ts("start_at").unwrap_or(now);
            let end = r.ts("end_at");
            EventChoice {
                id: r.id("id"),
                name: r.s("name"),
                venue: r.s("venue_name"),
                today: (start >= day && start < day + Duration::days(1))
                    || (start <= now && end.is_some_and(|e| e >= now)),
            }
        })
        .collect())
}
