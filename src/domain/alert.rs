//! Alerts for the control room (issue 19), pure.
//!
//! A **rule** looks at what the console reads anyway (the overview, the hour's error patterns,
//! the connection, n8n) and says what crosses a line now: a [`Firing`], keyed by rule and
//! subject. The database holds the **alerts** themselves (`opsdeck_alerts`, migration 0015): one
//! row per crossing, raised by whichever console sees it first (a unique index on the open
//! `(rule, key)` makes a second raise a no-op, so no alert fires twice for one crossing), cleared
//! once its condition has stayed false for `clear_after`, acknowledged or silenced with a comment
//! by an operator, and read by every console. [`plan`] turns what fires and what is open into
//! the raises and clears to make.
//!
//! The database being unreachable is the one alert a console cannot store when it happens: it is
//! shown from the console's own connection state and written afterwards, as a raised-and-cleared
//! row covering the outage (the timeline's record).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::model::{ErrorPattern, Overview, Ts};
pub use crate::domain::n8n_queue::Level;

/// What an alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    /// Queue depth (pending + retrying) above the line (the seed: 100).
    QueueDepth,
    /// An error pattern the seed calls critical (> 10 in the hour, or timeout /
    /// authentication_failed).
    CriticalErrors,
    /// An event at or above the waitlist line (the seed: 90 %), below sold out.
    CapacityWaitlist,
    /// An event sold out.
    SoldOut,
    /// The oldest pending approval older than the configured age.
    ApprovalAge,
    /// n8n's API unreachable, or its queue's verdict critical (Redis, main, no worker).
    N8nDown,
    /// The automation database unreachable (recorded after it is back).
    DatabaseDown,
}

impl AlertRule {
    pub const ALL: [AlertRule; 7] = [
        AlertRule::QueueDepth,
        AlertRule::CriticalErrors,
        AlertRule::CapacityWaitlist,
        AlertRule::SoldOut,
        AlertRule::ApprovalAge,
        AlertRule::N8nDown,
        AlertRule::DatabaseDown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertRule::QueueDepth => "queue_depth",
            AlertRule::CriticalErrors => "critical_errors",
            AlertRule::CapacityWaitlist => "capacity_waitlist",
            AlertRule::SoldOut => "sold_out",
            AlertRule::ApprovalAge => "approval_age",
            AlertRule::N8nDown => "n8n_down",
            AlertRule::DatabaseDown => "database_down",
        }
    }

    pub fn parse(s: &str) -> Option<AlertRule> {
        AlertRule::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The lines and switches of the alert rules (`[alerts]` in the config); the seeds' values by
/// default.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRules {
    /// Queue depth above this raises (seed 000: > 100).
    pub queue_depth: i64,
    /// Per cent sold at or above which an event raises (seed: waitlist at 90 %).
    pub capacity_pct: f64,
    /// An approval pending longer than this raises (minutes).
    pub approval_age_min: i64,
    pub critical_errors: bool,
    pub n8n_down: bool,
    pub database_down: bool,
    /// A condition must stay false this long before its alert clears (seconds): a value
    /// hovering around its line does not raise and clear over and over.
    pub clear_after_s: i64,
    /// Ring the terminal bell when an alert is raised (not when acknowledged or silenced).
    pub bell: bool,
    /// How long a silence lasts when none is given (minutes).
    pub silence_min: i64,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            queue_depth: 100,
            capacity_pct: 90.0,
            approval_age_min: 30,
            critical_errors: true,
            n8n_down: true,
            database_down: true,
            clear_after_s: 60,
            bell: true,
            silence_min: 60,
        }
    }
}

/// A condition true now.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule: AlertRule,
    /// The subject within the rule (`job_queue`, an event id, `workflow × error type`).
    pub key: String,
    pub level: Level,
    pub message: String,
}

/// What the rules look at.
#[derive(Debug, Default)]
pub struct Facts<'a> {
    pub overview: Option<&'a Overview>,
    /// The last hour's error patterns.
    pub patterns: &'a [ErrorPattern],
    /// n8n's API down: since when and why (None: up or not configured).
    pub n8n_down: Option<(Ts, String)>,
    /// n8n's queue verdict when critical: its first reason.
    pub n8n_queue_critical: Option<String>,
    pub now: Option<Ts>,
}

fn ago(now: Option<Ts>, t: Ts) -> String {
    now.map(|n| crate::domain::model::span_secs((n - t).num_seconds()))
        .unwrap_or_default()
}

/// Everything that crosses a line in `f`, by the rules `r` (the database's own state is
/// judged by the caller: a console that cannot read has no facts).
pub fn evaluate(f: &Facts, r: &AlertRules) -> Vec<Firing> {
    let mut out = Vec::new();
    if let Some(o) = f.overview {
        let depth = o.queue.depth();
        // the message is kept as raised: it names the values at the crossing, never an age
        // that would stand still on the screen
        if depth > r.queue_depth {
            out.push(Firing {
                rule: AlertRule::QueueDepth,
                key: queue_key(r),
                level: Level::Critical,
                message: format!("queue depth {depth} > {}", r.queue_depth),
            });
        }
        for e in &o.capacity {
            let pct = e.percent();
            let name = crate::domain::sanitize::clean(&e.name);
            if e.capacity > 0 && e.sold >= e.capacity {
                out.push(Firing {
                    rule: AlertRule::SoldOut,
                    key: e.id.to_string(),
                    level: Level::Critical,
                    message: format!("{name} sold out ({}/{})", e.sold, e.capacity),
                });
            } else if e.capacity > 0 && pct >= r.capacity_pct {
                out.push(Firing {
                    rule: AlertRule::CapacityWaitlist,
                    key: format!("{}{}", e.id, waitlist_suffix(r)),
                    level: Level::Warning,
                    message: format!("{name} at {pct:.0} % ({}/{}): waitlist", e.sold, e.capacity),
                });
            }
        }
        if let (Some(t), Some(now)) = (o.oldest_pending_approval_at, f.now)
            && o.pending_approvals > 0
            && (now - t).num_minutes() >= r.approval_age_min
        {
            out.push(Firing {
                rule: AlertRule::ApprovalAge,
                key: approvals_key(r),
                level: Level::Warning,
                message: format!(
                    "an approval has waited over {}m (oldest requested {} UTC); {} pending",
                    r.approval_age_min,
                    t.format("%H:%M"),
                    o.pending_approvals
                ),
            });
        }
    }
    if r.critical_errors {
        for p in f.patterns.iter().filter(|p| p.is_critical()) {
            let wf = crate::domain::sanitize::clean(&p.workflow_name);
            let ty = crate::domain::sanitize::clean(&p.error_type);
            out.push(Firing {
                rule: AlertRule::CriticalErrors,
                key: crate::domain::sanitize::clean_trunc(&format!("{wf} × {ty}"), 250),
                level: Level::Critical,
                message: format!("critical errors: {wf} × {ty} ({} in the hour)", p.count),
            });
        }
    }
    if r.n8n_down {
        if let Some((since, why)) = &f.n8n_down {
            out.push(Firing {
                rule: AlertRule::N8nDown,
                key: "n8n".into(),
                level: Level::Critical,
                message: format!(
                    "n8n unreachable since {} UTC: {}",
                    since.format("%H:%M"),
                    crate::domain::sanitize::clean(why)
                ),
            });
        }
        if let Some(why) = &f.n8n_queue_critical {
            out.push(Firing {
                rule: AlertRule::N8nDown,
                key: "n8n_queue".into(),
                level: Level::Critical,
                message: crate::domain::sanitize::clean(why),
            });
        }
    }
    out
}

/// The subject of the queue-depth alert: the line is part of it, so that a console drawing
/// the line elsewhere (its own `[alerts]`) neither clears nor duplicates another's alert.
pub fn queue_key(r: &AlertRules) -> String {
    format!("job_queue>{}", r.queue_depth)
}

/// The waitlist alert's subject ends with its line: `EVENT@90`.
pub fn waitlist_suffix(r: &AlertRules) -> String {
    format!("@{:.0}", r.capacity_pct)
}

pub fn approvals_key(r: &AlertRules) -> String {
    format!("approvals>{}m", r.approval_age_min)
}

/// Whether a console with rules `r` judges the subject `key` of a line-drawn rule: only a
/// crossing of its own line is its to clear. (Rules without a line, and n8n's, which depend
/// on what the console watches, are the caller's to decide.)
pub fn own_line(rule: AlertRule, key: &str, r: &AlertRules) -> bool {
    match rule {
        AlertRule::QueueDepth => key == queue_key(r),
        AlertRule::CapacityWaitlist => key.ends_with(&waitlist_suffix(r)),
        AlertRule::ApprovalAge => key == approvals_key(r),
        AlertRule::CriticalErrors => r.critical_errors,
        AlertRule::SoldOut => true,
        AlertRule::N8nDown => r.n8n_down,
        AlertRule::DatabaseDown => false,
    }
}

/// One crossing, as the database holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: Uuid,
    pub rule: AlertRule,
    pub key: String,
    pub level: Level,
    pub message: String,
    pub raised_at: Ts,
    /// The console that raised it (its operator).
    pub raised_by: Option<String>,
    pub cleared_at: Option<Ts>,
    pub acked_at: Option<Ts>,
    pub acked_by: Option<String>,
    pub ack_comment: Option<String>,
    pub silenced_until: Option<Ts>,
    pub silenced_by: Option<String>,
    pub silence_comment: Option<String>,
}

/// Where an alert stands for the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Raised, nobody has acknowledged it: the bar shows it and the bell rings.
    Firing,
    /// Acknowledged: listed with who and their comment, no longer in the bar.
    Acked,
    /// Silenced until a time: listed, not in the bar; back when the silence ends.
    Silenced,
    /// Its condition cleared.
    Cleared,
}

impl Alert {
    pub fn standing(&self, now: Ts) -> Standing {
        if self.cleared_at.is_some() {
            Standing::Cleared
        } else if self.silenced_until.is_some_and(|t| t > now) {
            Standing::Silenced
        } else if self.acked_at.is_some() {
            Standing::Acked
        } else {
            Standing::Firing
        }
    }

    /// "acked by ana 2m00s ago: on it", "silenced by ana for 58m: vendor outage", "cleared 3m ago".
    pub fn note(&self, now: Ts) -> String {
        let c = |s: &Option<String>| {
            s.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| format!(": {}", crate::domain::sanitize::clean(s)))
                .unwrap_or_default()
        };
        let who = |s: &Option<String>| crate::domain::sanitize::clean(s.as_deref().unwrap_or("?"));
        let mut parts = Vec::new();
        if let Some(t) = self.cleared_at {
            parts.push(format!("cleared {} ago", ago(Some(now), t)));
        }
        if let Some(u) = self.silenced_until.filter(|u| *u > now) {
            parts.push(format!(
                "silenced by {} for {} more{}",
                who(&self.silenced_by),
                crate::domain::model::span_secs((u - now).num_seconds()),
                c(&self.silence_comment)
            ));
        }
        if let Some(t) = self.acked_at {
            parts.push(format!(
                "acked by {} {} ago{}",
                who(&self.acked_by),
                ago(Some(now), t),
                c(&self.ack_comment)
            ));
        }
        parts.join(" · ")
    }

    /// How the operator names it in a dialog, a toast or the audit row.
    pub fn label(&self) -> String {
        crate::domain::sanitize::clean_trunc(&self.message, 80)
    }
}

/// The raises and clears a console should make.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    pub raise: Vec<Firing>,
    /// Open alerts whose condition has stayed false for `clear_after`.
    pub clear: Vec<Uuid>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.raise.is_empty() && self.clear.is_empty()
    }
}

/// What to raise and clear, given what fires now, the open alerts the database holds, and since
/// when each open alert's condition has been false (`false_since`, kept by the caller and
/// updated here: set when a condition stops firing, dropped when it fires again). Rules the
/// caller cannot judge now (`judged` false: n8n not configured, no facts) neither raise nor clear.
pub fn plan(
    firing: &[Firing],
    open: &[Alert],
    false_since: &mut HashMap<(AlertRule, String), Ts>,
    judged: impl Fn(AlertRule, &str) -> bool,
    now: Ts,
    clear_after_s: i64,
) -> Plan {
    let mut p = Plan::default();
    for f in firing {
        false_since.remove(&(f.rule, f.key.clone()));
        if !open.iter().any(|a| a.rule == f.rule && a.key == f.key) {
            p.raise.push(f.clone());
        }
    }
    for a in open.iter().filter(|a| a.cleared_at.is_none()) {
        if a.rule == AlertRule::DatabaseDown || !judged(a.rule, &a.key) {
            continue;
        }
        if firing.iter().any(|f| f.rule == a.rule && f.key == a.key) {
            continue;
        }
        let since = *false_since.entry((a.rule, a.key.clone())).or_insert(now);
        if (now - since).num_seconds() >= clear_after_s {
            p.clear.push(a.id);
        }
    }
    false_since.retain(|(r, k), _| open.iter().any(|a| a.rule == *r && a.key == *k));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{EventCapacity, QueueDepth};
    use chrono::{Duration, TimeZone, Utc};

    fn t(s: i64) -> Ts {
        Utc.with_ymd_and_hms(2026, 3, 1, 18, 0, 0).unwrap() + Duration::seconds(s)
    }

    fn overview(depth: i64, sold: i64) -> Overview {
        Overview {
            queue: QueueDepth {
                pending: depth,
                oldest_pending_at: Some(t(-120)),
                ..Default::default()
            },
            capacity: vec![EventCapacity {
                id: Uuid::nil(),
                name: "Gala".into(),
                venue_name: "Hall".into(),
                city: None,
                start_at: t(0),
                status: "on_sale".into(),
                capacity: 2000,
                sold,
            }],
            pending_approvals: 2,
            oldest_pending_approval_at: Some(t(-45 * 60)),
            ..Default::default()
        }
    }

    fn alert(f: &Firing, at: Ts) -> Alert {
        Alert {
            id: Uuid::now_v7(),
            rule: f.rule,
            key: f.key.clone(),
            level: f.level,
            message: f.message.clone(),
            raised_at: at,
            raised_by: None,
            cleared_at: None,
            acked_at: None,
            acked_by: None,
            ack_comment: None,
            silenced_until: None,
            silenced_by: None,
            silence_comment: None,
        }
    }

    #[test]
    fn rules_fire_at_the_seeds_lines() {
        let r = AlertRules::default();
        let o = overview(101, 1800);
        let f = evaluate(
            &Facts {
                overview: Some(&o),
                now: Some(t(0)),
                ..Default::default()
            },
            &r,
        );
        let rules: Vec<_> = f.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            vec![
                AlertRule::QueueDepth,
                AlertRule::CapacityWaitlist,
                AlertRule::ApprovalAge
            ]
        );
        assert_eq!(f[0].message, "queue depth 101 > 100");
        assert_eq!(
            f[2].message,
            "an approval has waited over 30m (oldest requested 17:15 UTC); 2 pending"
        );
        assert_eq!(f[1].message, "Gala at 90 % (1800/2000): waitlist");
        // exactly at the line does not cross it; sold out replaces the waitlist alert
        let o = overview(100, 2000);
        let f = evaluate(
            &Facts {
                overview: Some(&o),
                now: Some(t(0)),
                ..Default::default()
            },
            &r,
        );
        assert_eq!(f[0].rule, AlertRule::SoldOut);
        assert_eq!(f[0].level, Level::Critical);
    }

    #[test]
    fn a_crossing_raises_once_and_clears_after_holding_false() {
        let r = AlertRules::default();
        let mut fs = HashMap::new();
        let o = overview(150, 0);
        let facts = Facts {
            overview: Some(&o),
            now: Some(t(0)),
            ..Default::default()
        };
        let firing = evaluate(&facts, &r);
        let p = plan(&firing, &[], &mut fs, |_, _| true, t(0), 60);
        assert_eq!(p.raise.len(), 2, "{p:?}");
        let open: Vec<Alert> = p.raise.iter().map(|f| alert(f, t(0))).collect();
        // still firing: nothing more
        assert!(plan(&firing, &open, &mut fs, |_, _| true, t(5), 60).is_empty());
        // the depth drops: not cleared before 60 s of quiet, and a bounce back resets it
        let quiet: Vec<Firing> = firing
            .iter()
            .filter(|f| f.rule != AlertRule::QueueDepth)
            .cloned()
            .collect();
        assert!(plan(&quiet, &open, &mut fs, |_, _| true, t(10), 60).is_empty());
        assert!(plan(&quiet, &open, &mut fs, |_, _| true, t(60), 60).is_empty());
        assert!(plan(&firing, &open, &mut fs, |_, _| true, t(65), 60).is_empty());
        assert!(plan(&quiet, &open, &mut fs, |_, _| true, t(100), 60).is_empty());
        let p = plan(&quiet, &open, &mut fs, |_, _| true, t(160), 60);
        assert_eq!(p.clear, vec![open[0].id]);
        assert!(p.raise.is_empty());
        // a rule that cannot be judged now is left alone
        let mut fs2 = HashMap::new();
        assert!(plan(&[], &open, &mut fs2, |_, _| false, t(0), 0).is_empty());
    }

    #[test]
    fn standing_and_note() {
        let f = Firing {
            rule: AlertRule::QueueDepth,
            key: "job_queue>100".into(),
            level: Level::Critical,
            message: "queue depth 150 > 100".into(),
        };
        let mut a = alert(&f, t(0));
        assert_eq!(a.standing(t(1)), Standing::Firing);
        a.acked_at = Some(t(0));
        a.acked_by = Some("ana".into());
        a.ack_comment = Some("on it".into());
        assert_eq!(a.standing(t(120)), Standing::Acked);
        assert_eq!(a.note(t(120)), "acked by ana 2m00s ago: on it");
        a.silenced_until = Some(t(600));
        a.silenced_by = Some("bo".into());
        assert_eq!(a.standing(t(120)), Standing::Silenced);
        // the silence ends: back (acknowledged, as it was)
        assert_eq!(a.standing(t(601)), Standing::Acked);
        a.cleared_at = Some(t(700));
        assert_eq!(a.standing(t(800)), Standing::Cleared);
    }
}
