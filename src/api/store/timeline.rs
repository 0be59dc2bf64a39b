//! The incident timeline's sources (see `domain::timeline`): each read on its own, so a source
//! this database does not have (an adopted one, one not migrated to the alerts) is named as
//! missing and the others still make the record.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::api::db::{Val, describe_sqlx};
use crate::api::store::Store;
use crate::domain::timeline::{Entry, Kind, merge};

/// At most this many rows per source (a window of days on a busy event is still a file).
const PER_SOURCE: i64 = 20_000;

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

impl Store {
    /// Everything that happened from `from` to `to`, in time order, and the sources that could
    /// not be read (with why).
    pub async fn timeline(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> (Vec<Entry>, Vec<String>) {
        let mut v = Vec::new();
        let mut missing = Vec::new();
        let w = [Val::Ts(from), Val::Ts(to), Val::I64(PER_SOURCE)];
        // operator actions; an alert's ok ack or silence is told as the alert's (from its audit
        // row, so every silence of an alert is in the record, not only the last one)
        let mut paused_by_action: HashSet<String> = HashSet::new();
        match self
            .db
            .fetch_all(
                "SELECT at, operator, action, target_type, target_id, note, outcome, before, after \
                 FROM operator_actions WHERE at >= $1 AND at <= $2 ORDER BY at LIMIT $3",
                &w,
            )
            .await
        {
            Ok(rows) => {
                if rows.len() as i64 >= PER_SOURCE {
                    // the share is full: the rest of the window is not in this record
                    missing.push(format!(
                        "operator actions after the first {PER_SOURCE} rows (narrow --since)"
                    ));
                }
                for r in rows {
                    let (Some(at), action) = (r.ts("at"), r.s("action")) else {
                        continue;
                    };
                    let target = r.text("target_id").unwrap_or_default();
                    if action.starts_with("alert.") && r.s("outcome") == "ok" {
                        v.push(alert_act_entry(&r, at, &action));
                        continue;
                    }
                    if action == "workflow.pause" && r.s("outcome") == "ok" {
                        paused_by_action.insert(target.clone());
                    }
                    let note = r
                        .text("note")
                        .filter(|n| !n.trim().is_empty())
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default();
                    let outcome = r.s("outcome");
                    let outcome = if outcome == "ok" {
                        String::new()
                    } else {
                        format!(" ({outcome})")
                    };
                    v.push(Entry {
                        at,
                        kind: if action.starts_with("workflow.") {
                            Kind::Pause
                        } else {
                            Kind::Action
                        },
                        who: r.text("operator"),
                        what: format!(
                            "{action} {} {}{outcome}{note}",
                            r.s("target_type"),
                            short(&target)
                        ),
                    });
                }
            }
            Err(e) => missing.push(format!("operator actions ({})", describe_sqlx(&e))),
        }
        // workflows paused outside opsdeck (n8n, SQL): their paused_at, unless an action did it
        match self
            .db
            .fetch_all(
                "SELECT id, name, paused_by, paused_at, pause_reason FROM workflows \
                 WHERE paused_at >= $1 AND paused_at <= $2 AND status = 'paused' LIMIT $3",
                &w,
            )
            .await
        {
            Ok(rows) => {
                if rows.len() as i64 >= PER_SOURCE {
                    // the share is full: the rest of the window is not in this record
                    missing.push(format!(
                        "workflow pauses after the first {PER_SOURCE} rows (narrow --since)"
                    ));
                }
                for r in rows {
                    let id = r.id("id").to_string();
                    if paused_by_action.contains(&id) {
                        continue;
                    }
                    if let Some(at) = r.ts("paused_at") {
                        v.push(Entry {
                            at,
                            kind: Kind::Pause,
                            who: r.text("paused_by"),
                            what: format!(
                                "workflow {} paused (outside opsdeck){}",
                                r.s("name"),
                                r.text("pause_reason")
                                    .map(|x| format!(": {x}"))
                                    .unwrap_or_default()
                            ),
                        });
                    }
                }
            }
            Err(e) => missing.push(format!("workflow pauses ({})", describe_sqlx(&e))),
        }
        // broadcasts and their delivery milestones
        match self
            .db
            .fetch_all(
                "SELECT b.id, b.level, b.message, b.triggered_by, b.status, b.test, b.created_at, \
                 b.completed_at, \
                 (SELECT min(d.sent_at) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id) AS first_sent, \
                 (SELECT max(d.sent_at) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id) AS last_sent, \
                 (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id) AS total, \
                 (SELECT count(*) FROM broadcast_deliveries d WHERE d.broadcast_id = b.id AND d.status = 'failed') AS failed \
                 FROM emergency_broadcasts b WHERE b.created_at >= $1 AND b.created_at <= $2 \
                 ORDER BY b.created_at LIMIT $3",
                &w,
            )
            .await
        {
            Ok(rows) => {
                if rows.len() as i64 >= PER_SOURCE {
                    // the share is full: the rest of the window is not in this record
                    missing.push(format!("broadcasts after the first {PER_SOURCE} rows (narrow --since)"));
                }
                for r in rows {
                    let Some(at) = r.ts("created_at") else {
                        continue;
                    };
                    let test = if r.bool("test").unwrap_or(false) {
                        "[TEST] "
                    } else {
                        ""
                    };
                    let name = format!(
                        "{test}{} broadcast {}",
                        r.s("level").to_uppercase(),
                        short(&r.id("id").to_string())
                    );
                    let total = r.n("total");
                    v.push(Entry {
                        at,
                        kind: Kind::Broadcast,
                        who: r.text("triggered_by"),
                        what: format!("{name} triggered to {total} deliveries: {}", r.s("message")),
                    });
                    if let Some(t) = r.ts("first_sent") {
                        v.push(Entry {
                            at: t,
                            kind: Kind::Broadcast,
                            who: None,
                            what: format!("{name}: first delivery sent"),
                        });
                    }
                    if let Some(t) = r.ts("last_sent").filter(|l| Some(*l) != r.ts("first_sent"))
                    {
                        v.push(Entry {
                            at: t,
                            kind: Kind::Broadcast,
                            who: None,
                            what: format!("{name}: last delivery sent"),
                        });
                    }
                    if let Some(t) = r.ts("completed_at") {
                        v.push(Entry {
                            at: t,
                            kind: Kind::Broadcast,
                            who: None,
                            what: format!(
                                "{name} {} ({} of {total} failed)",
                                r.s("status"),
                                r.n("failed")
                            ),
                        });
                    }
                }
            }
            Err(e) => missing.push(format!("broadcasts ({})", describe_sqlx(&e))),
        }
        // the room's alerts: raised, acknowledged, silenced, cleared
        match self
            .db
            .fetch_all(
                "SELECT rule, level, message, raised_at, raised_by, cleared_at \
                 FROM opsdeck_alerts WHERE (raised_at >= $1 AND raised_at <= $2) \
                 OR (cleared_at >= $1 AND cleared_at <= $2) \
                 ORDER BY raised_at LIMIT $3",
                &w,
            )
            .await
        {
            Ok(rows) => {
                if rows.len() as i64 >= PER_SOURCE {
                    // the share is full: the rest of the window is not in this record
                    missing.push(format!(
                        "alerts after the first {PER_SOURCE} rows (narrow --since)"
                    ));
                }
                let inside = |t: &DateTime<Utc>| *t >= from && *t <= to;
                for r in rows {
                    let msg = r.s("message");
                    let down = r.s("rule") == "database_down";
                    if let Some(t) = r.ts("raised_at").filter(inside) {
                        v.push(Entry {
                            at: t,
                            kind: Kind::Alert,
                            who: r.text("raised_by"),
                            what: if down {
                                "database unreachable (as seen by a console)".to_string()
                            } else {
                                format!("{} raised: {msg}", r.s("level"))
                            },
                        });
                    }
                    // acks and silences are told from their audit rows (every one of them)
                    if let Some(t) = r.ts("cleared_at").filter(inside) {
                        v.push(Entry {
                            at: t,
                            kind: Kind::Alert,
                            who: None,
                            what: if down {
                                format!("database back: {msg}")
                            } else {
                                format!("cleared: {msg}")
                            },
                        });
                    }
                }
            }
            Err(e) => missing.push(format!("alerts ({})", describe_sqlx(&e))),
        }
        // error bursts: the first and the last error of each pattern in the window
        match self
            .db
            .fetch_all(
                "SELECT COALESCE(w.name, '(no workflow)') AS wf, e.error_type, count(*) AS n, \
                 min(e.created_at) AS first_at, max(e.created_at) AS last_at \
                 FROM workflow_errors e LEFT JOIN workflows w ON w.id = e.workflow_id \
                 WHERE e.created_at >= $1 AND e.created_at <= $2 \
                 GROUP BY COALESCE(w.name, '(no workflow)'), e.error_type LIMIT $3",
                &w,
            )
            .await
        {
            Ok(rows) => {
                if rows.len() as i64 >= PER_SOURCE {
                    // the share is full: the rest of the window is not in this record
                    missing.push(format!(
                        "errors after the first {PER_SOURCE} rows (narrow --since)"
                    ));
                }
                for r in rows {
                    let (Some(a), Some(b)) = (r.ts("first_at"), r.ts("last_at")) else {
                        continue;
                    };
                    let p = format!("{} × {}", r.s("wf"), r.s("error_type"));
                    let n = r.n("n");
                    v.push(Entry {
                        at: a,
                        kind: Kind::Errors,
                        who: None,
                        what: format!("first error: {p} ({n} in the window)"),
                    });
                    if b != a {
                        v.push(Entry {
                            at: b,
                            kind: Kind::Errors,
                            who: None,
                            what: format!("last error: {p}"),
                        });
                    }
                }
            }
            Err(e) => missing.push(format!("errors ({})", describe_sqlx(&e))),
        }
        (merge(v), missing)
    }
}

/// An alert acknowledged or silenced, from its audit row (the alert's message is in `before`,
/// the silence's length and the comment in `after`).
fn alert_act_entry(r: &crate::api::db::DbRow, at: DateTime<Utc>, action: &str) -> Entry {
    let before = r.json("before").unwrap_or_default();
    let after = r.json("after").unwrap_or_default();
    let msg = before["message"].as_str().unwrap_or("an alert").to_string();
    let comment = after["comment"]
        .as_str()
        .filter(|c| !c.trim().is_empty())
        .map(|c| format!(" — {c}"))
        .unwrap_or_default();
    let what = match after["minutes"].as_i64() {
        Some(m) if action == "alert.silence" => format!(
            "silenced for {} (until {} UTC): {msg}{comment}",
            crate::domain::model::span_secs(m * 60),
            (at + chrono::Duration::minutes(m)).format("%H:%M")
        ),
        _ => format!("acked: {msg}{comment}"),
    };
    Entry {
        at,
        kind: Kind::Alert,
        who: r.text("operator"),
        what,
    }
}
