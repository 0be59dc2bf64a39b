//! The control room's alerts (`opsdeck_alerts`, migration 0015): read them, raise and clear
//! them, record a database outage after the fact, and acknowledge or silence one (an operator
//! action with its audit row). On Postgres every write goes through the migration's functions
//! (the login needs no rights on the table; acknowledging checks its role); on SQLite (the
//! single-user demo) opsdeck writes the same rows itself.

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::api::db::{DbRow, Val, describe_sqlx};
use crate::api::store::Store;
use crate::domain::action::{Action, ActionReport, Actor, Outcome};
use crate::domain::alert::{Alert, AlertRule, Firing, Level};
use crate::domain::sanitize::clean;

const COLS: &str = "id, rule, key, level, message, raised_at, raised_by, cleared_at, acked_at, \
                    acked_by, ack_comment, silenced_until, silenced_by, silence_comment";

fn level_str(l: Level) -> &'static str {
    match l {
        Level::Critical => "CRITICAL",
        _ => "WARNING",
    }
}

fn alert_of(r: &DbRow) -> Option<Alert> {
    Some(Alert {
        id: r.uuid("id")?,
        rule: AlertRule::parse(&r.s("rule"))?,
        key: r.s("key"),
        level: if r.s("level") == "CRITICAL" {
            Level::Critical
        } else {
            Level::Warning
        },
        message: r.s("message"),
        raised_at: r.ts("raised_at")?,
        raised_by: r.text("raised_by"),
        cleared_at: r.ts("cleared_at"),
        acked_at: r.ts("acked_at"),
        acked_by: r.text("acked_by"),
        ack_comment: r.text("ack_comment"),
        silenced_until: r.ts("silenced_until"),
        silenced_by: r.text("silenced_by"),
        silence_comment: r.text("silence_comment"),
    })
}

fn notify_sql(store: &Store) -> bool {
    store.db.pg_pool().is_some()
}

impl Store {
    /// Whether the database answers at all (one round trip).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.db.fetch_one("SELECT 1 AS one", &[]).await.map(|_| ())
    }

    /// Whether this database keeps alerts (migrated to 0015, or adopted by an opsdeck that has
    /// them).
    pub async fn has_alerts(&self) -> Result<bool, sqlx::Error> {
        let sql = if self.db.pg_pool().is_some() {
            "SELECT to_regclass('opsdeck_alerts') IS NOT NULL AS f"
        } else {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'opsdeck_alerts') AS f"
        };
        Ok(self
            .db
            .fetch_one(sql, &[])
            .await?
            .bool("f")
            .unwrap_or(false))
    }

    /// The open alerts and those raised or cleared since `since`, newest first (at most 200).
    pub async fn alerts(&self, since: DateTime<Utc>) -> Result<Vec<Alert>, sqlx::Error> {
        let rows = self
            .db
            .fetch_all(
                &format!(
                    // the open ones first: a busy day's cleared rows never push an open one
                    // out of the list (the consoles judge what to clear from it)
                    "SELECT {COLS} FROM opsdeck_alerts WHERE cleared_at IS NULL OR cleared_at >= $1 \
                     OR raised_at >= $1 ORDER BY (cleared_at IS NULL) DESC, raised_at DESC LIMIT 200"
                ),
                &[Val::Ts(since)],
            )
            .await?;
        Ok(rows.iter().filter_map(alert_of).collect())
    }

    /// One alert by id (for the CLI).
    pub async fn alert(&self, id: Uuid) -> Result<Option<Alert>, sqlx::Error> {
        Ok(self
            .db
            .fetch_optional(
                &format!("SELECT {COLS} FROM opsdeck_alerts WHERE id = $1"),
                &[Val::Uuid(id)],
            )
            .await?
            .as_ref()
            .and_then(alert_of))
    }

    /// Raises `f`: its new id, or None when the crossing is open already (another console was
    /// first). A silence still running on the same rule and subject carries over.
    pub async fn alert_raise(&self, f: &Firing, by: &str) -> Result<Option<Uuid>, sqlx::Error> {
        if notify_sql(self) {
            let r = self
                .db
                .fetch_one(
                    "SELECT opsdeck_alert_raise($1, $2, $3, $4, $5)::text AS id",
                    &[
                        Val::Text(f.rule.as_str().into()),
                        Val::Text(f.key.clone()),
                        Val::Text(level_str(f.level).into()),
                        Val::Text(f.message.clone()),
                        Val::Text(by.into()),
                    ],
                )
                .await?;
            return Ok(r.text("id").and_then(|s| s.parse().ok()));
        }
        let now = Utc::now();
        let silence = self
            .db
            .fetch_optional(
                "SELECT silenced_until, silenced_by, silence_comment FROM opsdeck_alerts \
                 WHERE rule = $1 AND key = $2 AND silenced_until > $3 ORDER BY raised_at DESC LIMIT 1",
                &[
                    Val::Text(f.rule.as_str().into()),
                    Val::Text(f.key.clone()),
                    Val::Ts(now),
                ],
            )
            .await?;
        // random, not time-ordered: the list shows ids by their first characters
        let id = Uuid::new_v4();
        let n = self
            .db
            .execute(
                "INSERT INTO opsdeck_alerts (id, rule, key, level, message, raised_at, raised_by, \
                 silenced_until, silenced_by, silence_comment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (rule, key) WHERE cleared_at IS NULL DO NOTHING",
                &[
                    Val::Uuid(id),
                    Val::Text(f.rule.as_str().into()),
                    Val::Text(f.key.clone()),
                    Val::Text(level_str(f.level).into()),
                    Val::Text(f.message.chars().take(500).collect()),
                    Val::Ts(now),
                    Val::Text(by.into()),
                    Val::OptTs(silence.as_ref().and_then(|r| r.ts("silenced_until"))),
                    Val::OptText(silence.as_ref().and_then(|r| r.text("silenced_by"))),
                    Val::OptText(silence.as_ref().and_then(|r| r.text("silence_comment"))),
                ],
            )
            .await?;
        Ok((n > 0).then_some(id))
    }

    /// Clears an open alert: whether this call cleared it.
    pub async fn alert_clear(&self, id: Uuid, by: &str) -> Result<bool, sqlx::Error> {
        if notify_sql(self) {
            let r = self
                .db
                .fetch_one(
                    "SELECT opsdeck_alert_clear($1, $2) AS ok",
                    &[Val::Uuid(id), Val::Text(by.into())],
                )
                .await?;
            return Ok(r.bool("ok").unwrap_or(false));
        }
        let n = self
            .db
            .execute(
                "UPDATE opsdeck_alerts SET cleared_at = $1, cleared_by = $2 \
                 WHERE id = $3 AND cleared_at IS NULL AND rule <> 'database_down'",
                &[Val::Ts(Utc::now()), Val::Text(by.into()), Val::Uuid(id)],
            )
            .await?;
        Ok(n > 0)
    }

    /// The database was unreachable from `from` to `to` (written once it answers again): one
    /// row covering the outage; consoles that saw the same outage extend that row.
    pub async fn alert_outage(
        &self,
        key: &str,
        message: &str,
        by: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        if notify_sql(self) {
            let r = self
                .db
                .fetch_one(
                    "SELECT opsdeck_alert_outage($1, $2, $3, $4, $5)::text AS id",
                    &[
                        Val::Text(key.into()),
                        Val::Text(message.into()),
                        Val::Text(by.into()),
                        Val::Ts(from),
                        Val::Ts(to),
                    ],
                )
                .await?;
            return Ok(r.text("id").and_then(|s| s.parse().ok()));
        }
        // the demo's SQLite file is local: it is not "down" while the console runs
        Ok(None)
    }
}

/// Acknowledges or silences an alert (`Action::AlertAct`), with its audit row: ok, a conflict
/// naming who got there first, or denied (the login's role).
pub(in crate::api) async fn act(store: &Store, actor: &Actor, action: &Action) -> ActionReport {
    let Action::AlertAct {
        alert,
        minutes,
        comment,
        ..
    } = action
    else {
        return ActionReport::error(action.name(), "not an alert action");
    };
    let r = if store.db.pg_pool().is_some() {
        store
            .db
            .fetch_one(
                "SELECT opsdeck_alert_act($1, $2::int, $3, $4, $5) AS r",
                &[
                    Val::Uuid(*alert),
                    Val::OptI64(*minutes),
                    Val::OptText(comment.clone()),
                    Val::Text(actor.operator.clone()),
                    Val::Text(actor.origin.clone()),
                ],
            )
            .await
            .map(|r| r.json("r").unwrap_or(Json::Null))
    } else {
        act_sqlite(store, actor, action, *alert, *minutes, comment.as_deref()).await
    };
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            return ActionReport::error(
                action.name(),
                format!("{}: {}", action.summary(), describe_sqlx(&e)),
            );
        }
    };
    let outcome = match r["outcome"].as_str() {
        Some("ok") => Outcome::Ok,
        Some("conflict") => Outcome::Conflict,
        Some("denied") => Outcome::Denied,
        _ => return ActionReport::error(action.name(), format!("unexpected answer: {r}")),
    };
    let why = clean(r["message"].as_str().unwrap_or_default());
    let message = match outcome {
        Outcome::Ok => match minutes {
            None => format!("{} (acked)", action.summary()),
            Some(_) => action.summary(),
        },
        Outcome::Denied => format!("{}: denied — {why}", action.summary()),
        _ => why.clone(),
    };
    ActionReport {
        action: action.name(),
        outcome,
        message,
        changed: u64::from(outcome == Outcome::Ok),
        conflicts: if outcome == Outcome::Conflict {
            vec![why]
        } else {
            vec![]
        },
        audit_id: r["audit_id"].as_str().and_then(|s| s.parse().ok()),
        warning: None,
    }
}

/// The demo's (SQLite) path of [`act`]: the same rules in one transaction.
async fn act_sqlite(
    store: &Store,
    actor: &Actor,
    action: &Action,
    id: Uuid,
    minutes: Option<i64>,
    comment: Option<&str>,
) -> Result<Json, sqlx::Error> {
    let now = Utc::now();
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    let mut tx = store.db.begin().await?;
    let row = tx
        .fetch_optional(
            &format!("SELECT {COLS}, silenced_at FROM opsdeck_alerts WHERE id = $1"),
            &[Val::Uuid(id)],
        )
        .await?;
    let a = row.as_ref().and_then(alert_of);
    let before = a
        .as_ref()
        .map(|a| json!({"rule": a.rule.as_str(), "key": a.key, "message": a.message, "raised_at": a.raised_at}))
        .unwrap_or(Json::Null);
    let hm = |t: DateTime<Utc>| t.format("%H:%M UTC").to_string();
    let why = match &a {
        None => Some("no such alert".to_string()),
        Some(a) if a.cleared_at.is_some() => Some(format!(
            "already cleared at {}",
            hm(a.cleared_at.unwrap_or(now))
        )),
        Some(a) if minutes.is_none() && a.acked_at.is_some() => Some(format!(
            "already acked by {} at {}{}",
            a.acked_by.as_deref().unwrap_or("?"),
            hm(a.acked_at.unwrap_or(now)),
            a.ack_comment
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        )),
        Some(a) if minutes.is_some() && a.silenced_until.is_some_and(|u| u > now) => Some(format!(
            "already silenced by {} at {} until {}{}",
            a.silenced_by.as_deref().unwrap_or("?"),
            hm(row
                .as_ref()
                .and_then(|r| r.ts("silenced_at"))
                .unwrap_or(now)),
            hm(a.silenced_until.unwrap_or(now)),
            a.silence_comment
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        )),
        _ => None,
    };
    let op = actor.operator.clone();
    let (outcome, after) = match &why {
        Some(w) => ("conflict", json!({"conflict": w})),
        None => {
            match minutes {
                None => {
                    tx.execute(
                        "UPDATE opsdeck_alerts SET acked_at = $1, acked_by = $2, ack_comment = $3 WHERE id = $4",
                        &[Val::Ts(now), Val::Text(op.clone()), Val::OptText(comment.map(String::from)), Val::Uuid(id)],
                    )
                    .await?;
                }
                Some(m) => {
                    tx.execute(
                        "UPDATE opsdeck_alerts SET silenced_at = $1, silenced_until = $2, silenced_by = $3, \
                         silence_comment = $4 WHERE id = $5",
                        &[
                            Val::Ts(now),
                            Val::Ts(now + chrono::Duration::minutes(m)),
                            Val::Text(op.clone()),
                            Val::OptText(comment.map(String::from)),
                            Val::Uuid(id),
                        ],
                    )
                    .await?;
                }
            }
            (
                "ok",
                match minutes {
                    None => json!({"acked_by": op, "comment": comment}),
                    Some(m) => json!({"silenced_by": op, "minutes": m, "comment": comment}),
                },
            )
        }
    };
    let outcome_v = if outcome == "ok" {
        Outcome::Ok
    } else {
        Outcome::Conflict
    };
    let audit_id =
        crate::api::store::actions::audit(&mut tx, actor, action, now, &before, &after, outcome_v)
            .await?;
    tx.commit().await?;
    Ok(json!({"outcome": outcome, "message": why, "audit_id": audit_id.to_string()}))
}
