//! The scenario's venue broadcast (Palais de Tokyo, today): its deliveries, the delivery jobs
//! and the bad number that failed.

use std::collections::BTreeSet;

use chrono::Duration;
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

use super::runs::{H, err_row, job_vals};
use crate::api::db::{Tx, Val};
use crate::domain::broadcast::valid_phone;
use crate::sim::batch::{Rows, uuid};
use crate::sim::catalog::TWILIO_INVALID;
use crate::sim::world::{VENUE_B, World};

/// Writes the broadcast and its deliveries; the jobs go to `h`. Returns the delivery count.
pub(super) async fn seed(
    tx: &mut Tx,
    w: &World,
    rng: &mut SmallRng,
    h: &mut H,
) -> Result<usize, sqlx::Error> {
    let now = w.now;
    // the venue broadcast (Palais de Tokyo, today) with its deliveries and delivery jobs
    let bid = uuid(rng);
    let b_at = now - Duration::minutes(35);
    let mut recipients = BTreeSet::new();
    for e in w
        .events
        .iter()
        .filter(|e| e.venue == VENUE_B && (e.start - now).num_hours().abs() < 12)
    {
        recipients.extend(e.attendees.iter().copied());
        recipients.extend(e.models.iter().filter(|m| m.1 == "confirmed").map(|m| m.0));
        recipients.extend(e.staff.iter().map(|s| s.0));
    }
    let mut dels = Rows::new(
        "broadcast_deliveries",
        &[
            "id",
            "broadcast_id",
            "person_id",
            "channel",
            "status",
            "error",
            "sent_at",
        ],
    );
    let ebs = w.wf("Emergency Broadcast System").id;
    let (mut ok, mut bad) = (0, 0);
    for &p in &recipients {
        let person = &w.people[p];
        let Some(ch) = person.channel else { continue };
        let did = uuid(rng);
        let reachable = match ch {
            "email" => person.email.is_some(),
            _ => person.phone.as_deref().is_some_and(valid_phone),
        };
        let sent = b_at + Duration::seconds(rng.random_range(1..40));
        let (st, err) = if reachable {
            ("delivered", None)
        } else {
            ("failed", Some(TWILIO_INVALID.1))
        };
        if reachable {
            ok += 1
        } else {
            bad += 1
        }
        dels.push(vec![
            Val::Uuid(did),
            Val::Uuid(bid),
            Val::Uuid(person.id),
            Val::Text(ch.into()),
            Val::Text(st.into()),
            Val::OptText(err.map(str::to_string)),
            Val::OptTs(Some(sent)),
        ]);
        let jt = format!("broadcast.{ch}");
        h.jobs.push(job_vals(
            uuid(rng),
            &jt,
            json!({ "delivery_id": did.to_string(), "broadcast_id": bid.to_string() }),
            if reachable { "completed" } else { "failed" },
            100,
            if reachable { 1 } else { 3 },
            3,
            b_at,
            Some(sent),
            err,
            Some(ebs),
        ));
        if !reachable {
            h.errors.push(err_row(
                rng,
                ebs,
                None,
                (TWILIO_INVALID.0, &format!("{jt}: {}", TWILIO_INVALID.1)),
                sent,
            ));
        }
    }
    let b_status = if bad == 0 {
        "sent"
    } else if ok == 0 {
        "failed"
    } else {
        "partially_failed"
    };
    tx.execute(
        "INSERT INTO emergency_broadcasts (id, idempotency_key, level, scope, event_id, venue_name, message, \
           triggered_by, status, affected_count, test, created_at, completed_at) \
         VALUES ($1, $2, 'warning', 'venue', NULL, $3, $4, 'claire@ops', $5, $6, $7, $8, $9)",
        &[
            Val::Uuid(bid),
            Val::Text(format!("seed-{bid}")),
            Val::Text(VENUE_B.into()),
            Val::Text("Doors open 30 minutes late (stage rigging). Please wait at the east entrance.".into()),
            Val::Text(b_status.into()),
            Val::I64((ok + bad) as i64),
            Val::Bool(false),
            Val::Ts(b_at),
            Val::Ts(b_at + Duration::seconds(45)),
        ],
    )
    .await?;
    // its operator's audit row, as a real send writes it (the Audit view, the timeline)
    tx.execute(
        "INSERT INTO operator_actions (id, at, operator, origin, action, target_type, target_id, \
           before, after, note, outcome) \
         VALUES ($1, $2, 'claire@ops', 'control-room', 'broadcast.send', 'broadcast', $3, NULL, $4, $5, 'ok')",
        &[
            Val::Uuid(uuid(rng)),
            Val::Ts(b_at),
            Val::Text(bid.to_string()),
            Val::Json(json!({
                "status": "queued", "level": "warning", "scope": "venue", "target": VENUE_B,
                "test": false, "deliveries": ok + bad,
            })),
            Val::Text("Doors open 30 minutes late (stage rigging). Please wait at the east entrance.".into()),
        ],
    )
    .await?;
    let n = dels.len();
    dels.insert(tx).await?;
    Ok(n)
}
