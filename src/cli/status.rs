//! `opsdeck status [--json]`: a one-screen health summary with Nagios exit codes (0 OK,
//! 1 WARNING, 2 CRITICAL, 3 UNKNOWN), from the seed's thresholds.

use std::process::ExitCode;

use serde::Serialize;

use super::{Globals, load_config, target};
use crate::api::Store;
use crate::config;
use crate::domain::model::{Overview, QUEUE_CRIT_DEPTH, QUEUE_WARN_DEPTH, Ts};
use crate::domain::n8n_queue::{Level, QueueRules, Seen, Verdict, flow, judge, short};

/// What the verdict is made of (kept apart from IO so the rules are tested directly).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Health {
    pub depth: i64,
    /// "Model Booking/timeout (12)" for each critical error pattern of the last hour.
    pub critical_patterns: Vec<String>,
    /// Events at 100 % of capacity.
    pub sold_out: Vec<String>,
    pub open_discrepancies: i64,
    /// Pending approvals past their expiry.
    pub overdue_approvals: i64,
}

/// The seed's thresholds: queue depth > 100 or a critical error pattern → CRITICAL; depth > 50,
/// an event at 100 %, open discrepancies or approvals past their expiry → WARNING.
pub fn assess(h: &Health) -> (u8, Vec<String>) {
    let mut code = 0u8;
    let mut why = Vec::new();
    let mut raise = |c: u8, w: String| {
        code = code.max(c);
        why.push(w);
    };
    if h.depth > QUEUE_CRIT_DEPTH {
        raise(2, format!("queue depth {} > {QUEUE_CRIT_DEPTH}", h.depth));
    } else if h.depth > QUEUE_WARN_DEPTH {
        raise(1, format!("queue depth {} > {QUEUE_WARN_DEPTH}", h.depth));
    }
    if !h.critical_patterns.is_empty() {
        raise(
            2,
            format!(
                "critical error patterns: {}",
                h.critical_patterns.join(", ")
            ),
        );
    }
    if !h.sold_out.is_empty() {
        raise(1, format!("sold out: {}", h.sold_out.join(", ")));
    }
    if h.open_discrepancies > 0 {
        raise(
            1,
            format!("{} open payment discrepancies", h.open_discrepancies),
        );
    }
    if h.overdue_approvals > 0 {
        raise(
            1,
            format!("{} approvals past their expiry", h.overdue_approvals),
        );
    }
    (code, why)
}

async fn health(store: &Store, o: &Overview, now: Ts) -> anyhow::Result<Health> {
    let patterns = store
        .error_patterns(now - chrono::Duration::hours(1))
        .await?;
    let overdue = store.overdue_approvals(now).await?;
    Ok(Health {
        depth: o.queue.depth(),
        critical_patterns: patterns
            .iter()
            .filter(|p| p.is_critical())
            .map(|p| {
                format!(
                    "{}/{} ({})",
                    crate::domain::sanitize::clean(&p.workflow_name),
                    crate::domain::sanitize::clean(&p.error_type),
                    p.count
                )
            })
            .collect(),
        sold_out: o
            .capacity
            .iter()
            .filter(|e| e.capacity > 0 && e.sold >= e.capacity)
            .map(|e| crate::domain::sanitize::clean(&e.name))
            .collect(),
        open_discrepancies: o.open_discrepancy_total(),
        overdue_approvals: overdue,
    })
}

pub async fn status(g: &Globals, json: bool) -> ExitCode {
    let say = |code: u8, msg: String| {
        let word = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code as usize];
        if json {
            println!(
                "{}",
                serde_json::json!({"status": word, "code": code, "message": msg})
            );
        } else {
            println!("{word} - {msg}");
        }
        ExitCode::from(code)
    };
    let file = match load_config(g) {
        Ok(f) => f,
        Err(f) => return say(3, f.msg),
    };
    let t = match target(g, &file) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return say(
                3,
                "no database configured (--database-url or DATABASE_URL)".into(),
            );
        }
        Err(f) => return say(3, f.msg),
    };
    let store = match Store::open(&t, 2).await {
        Ok(s) => s,
        Err(e) => return say(2, e.to_string()),
    };
    if store.pending_migrations().await > 0 {
        // not opsdeck's schema (yet): say what it is rather than which relation is missing
        if let Some(why) = super::not_opsdecks(&store, &t).await {
            return say(3, why);
        }
    }
    let now = chrono::Utc::now();
    let o = match store.overview(now).await {
        Ok(o) => o,
        Err(e) => return say(3, config::redact_in(&format!("{e:#}"))),
    };
    let h = match health(&store, &o, now).await {
        Ok(h) => h,
        Err(e) => return say(3, config::redact_in(&format!("{e:#}"))),
    };
    // an adopted database without some of the contract's tables: their figures are left out
    let absent = store.absent_tables().await;
    store.db.close().await;
    let (mut code, mut why) = assess(&h);
    // n8n's own queue (queue mode), when configured: its verdict joins the database's
    // (Nagios: CRITICAL stands above UNKNOWN; a queue that cannot be judged never hides it)
    let join = |a: u8, b: u8| if a == 2 || b == 2 { 2 } else { a.max(b) };
    let n8nq = match config::resolve_queue(&file) {
        Ok(Some(q)) => Some(n8n_queue(&q).await),
        Ok(None) => None,
        Err(e) => {
            code = join(code, 3);
            why.push(e);
            None
        }
    };
    if let Some((v, _)) = &n8nq {
        code = join(code, v.level as u8);
        why.extend(v.reasons.iter().cloned());
    }
    let word = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code as usize];
    let depth = h.depth;
    let oldest = o
        .queue
        .oldest_pending_at
        .map(|t| (now - t).num_seconds().max(0));
    let has = |t: &str| !absent.iter().any(|a| a == t);
    if json {
        let mut v = serde_json::json!({
            "status": word, "code": code, "database": t.display_addr(), "reasons": why,
            "queue": {"depth": depth, "pending": o.queue.pending, "retrying": o.queue.retrying,
                      "processing": o.queue.processing, "failed": o.queue.failed,
                      "oldest_pending_age_s": oldest},
            "runs_last_hour": {"started": o.runs_started_last_hour(), "completed": o.completed_last_hour,
                               "failed": o.failed_last_hour},
            "critical_error_patterns": h.critical_patterns,
            "sold_out_events": h.sold_out,
            "open_capacity_alerts": o.open_alerts.len(),
            "open_discrepancies": o.open_discrepancy_total(),
            "pending_approvals": o.pending_approvals,
            "overdue_approvals": h.overdue_approvals,
        });
        if let Some(m) = v.as_object_mut() {
            for (table, keys) in FIGURES {
                if !has(table) {
                    for k in *keys {
                        m.remove(*k);
                    }
                }
            }
            if !absent.is_empty() {
                m.insert("not_in_database".into(), serde_json::json!(absent));
            }
            if let Some((_, q)) = &n8nq {
                m.insert("n8n_queue".into(), q.clone());
            }
        }
        println!("{v}");
    } else {
        let reasons = if why.is_empty() {
            String::new()
        } else {
            format!("{}; ", why.join("; "))
        };
        let mut parts = Vec::new();
        if has("job_queue") {
            parts.push(format!(
                "{} depth {depth} (oldest pending {})",
                if n8nq.is_some() { "job_queue" } else { "queue" },
                oldest
                    .map(|s| format!("{s}s"))
                    .unwrap_or_else(|| "none".into())
            ));
        }
        if has("workflow_executions") {
            parts.push(format!(
                "{} failed runs in the last hour",
                o.failed_last_hour
            ));
        }
        if has("capacity_alerts") {
            parts.push(format!("{} capacity alerts", o.open_alerts.len()));
        }
        if has("reconciliation_discrepancies") {
            parts.push(format!("{} open discrepancies", o.open_discrepancy_total()));
        }
        if has("approval_requests") {
            parts.push(format!("{} pending approvals", o.pending_approvals));
        }
        let mut perf = Vec::new();
        if has("job_queue") {
            perf.push(format!("depth={depth};50;100"));
        }
        if has("workflow_executions") {
            perf.push(format!("failed_1h={}", o.failed_last_hour));
        }
        if let Some((_, q)) = &n8nq
            && let Some(c) = q.get("counts")
        {
            let n = |k: &str| c[k].as_u64().unwrap_or(0);
            parts.push(format!(
                "n8n queue waiting {} (active {}, {} workers)",
                n("waiting"),
                n("active"),
                q["workers"].as_array().map_or(0, Vec::len)
            ));
            perf.push(format!("n8n_waiting={};50;100", n("waiting")));
        }
        println!(
            "{word} - {reasons}{} | {}",
            parts.join(", "),
            perf.join(" ")
        );
    }
    ExitCode::from(code)
}

/// The figures of `status --json` that come from each of the contract's tables: left out when
/// an adopted database does not have that table.
const FIGURES: &[(&str, &[&str])] = &[
    ("job_queue", &["queue"]),
    ("workflow_executions", &["runs_last_hour"]),
    ("workflow_errors", &["critical_error_patterns"]),
    ("events", &["sold_out_events"]),
    ("capacity_alerts", &["open_capacity_alerts"]),
    ("reconciliation_discrepancies", &["open_discrepancies"]),
    (
        "approval_requests",
        &["pending_approvals", "overdue_approvals"],
    ),
];

/// n8n's queue over a short window (two reads, [`WINDOW`] apart): the verdict and the JSON
/// `n8n_queue` object. "Not moving" needs an observation over time: here it is waiting jobs,
/// nothing taken in the window, and the next job in line waiting longer than
/// `not_moving_after`.
async fn n8n_queue(s: &config::QueueSettings) -> (Verdict, serde_json::Value) {
    use crate::api::n8n::queue::{Probes, QueueReader, poll_once};
    let reader = match QueueReader::new(s) {
        Ok(r) => r,
        Err(e) => {
            let v = Verdict {
                level: Level::Unknown,
                reasons: vec![e.clone()],
                levels: vec![Level::Unknown],
            };
            let j = serde_json::json!({"status": "UNKNOWN", "code": 3, "error": e});
            return (v, j);
        }
    };
    let probes = Probes::new(s);
    let a = poll_once(&reader, &probes).await;
    let b = if a.redis.is_ok() {
        tokio::time::sleep(WINDOW).await;
        poll_once(&reader, &probes).await
    } else {
        a.clone()
    };
    let f = match (&a.redis, &b.redis) {
        (Ok(x), Ok(y)) if a.at != b.at => flow(x, a.at, y, b.at),
        _ => None,
    };
    let (stuck_for, stuck_how) = match (&b.redis, f) {
        (Ok(y), Some(f)) if y.counts.waiting > 0 && f.dequeued == 0 => {
            let since = |t: Ts| (b.at - t).to_std().unwrap_or_default();
            let waited = y.next.as_ref().and_then(|j| j.enqueued_at).map(since);
            // a job taken since is still active (or finished: then the window would have
            // seen it taken, unless it was quick and before the window)
            let last_taken = y
                .active
                .iter()
                .filter_map(|j| j.started_at)
                .max()
                .map(since);
            let stuck = match (waited, last_taken) {
                (Some(w), Some(l)) => Some(w.min(l)),
                (w, _) => w,
            };
            (
                stuck,
                stuck.map(|_| {
                    format!(
                        "in the {}s sampled, the next job in line has waited {}{}",
                        WINDOW.as_secs(),
                        waited.map(short).unwrap_or_default(),
                        last_taken
                            .map(|l| format!(
                                " and the newest active job was taken {} ago",
                                short(l)
                            ))
                            .unwrap_or_default()
                    )
                }),
            )
        }
        _ => (None, None),
    };
    let rules = QueueRules {
        not_moving_after: s.not_moving_after,
        ..Default::default()
    };
    let v = judge(
        &Seen {
            prefix: &s.prefix,
            redis: b.redis.as_ref(),
            health: &b.health,
            stuck_for,
            stuck_how,
        },
        &rules,
    );
    let mut j = serde_json::json!({
        "status": v.level.word(), "code": v.level as u8, "reasons": v.reasons,
        "redis": reader.target, "prefix": s.prefix, "health": b.health,
    });
    match &b.redis {
        Ok(q) => {
            j["counts"] = serde_json::json!(q.counts);
            j["workers"] = serde_json::json!(q.workers);
            j["busy_workers"] = serde_json::json!(q.busy_workers());
            j["stalled"] = serde_json::json!(q.stalled());
            j["next_waiting_age_s"] = serde_json::json!(
                q.next
                    .as_ref()
                    .and_then(|n| n.enqueued_at)
                    .map(|t| (b.at - t).num_seconds().max(0))
            );
            j["redis_ms"] = serde_json::json!(q.redis_ms);
            if let Some(f) = f {
                j["flow"] = serde_json::json!(f);
            }
        }
        Err(e) => j["error"] = serde_json::json!(e.full),
    }
    (v, j)
}

/// How long `status` watches n8n's queue.
const WINDOW: std::time::Duration = std::time::Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let ok = Health::default();
        assert_eq!(assess(&ok).0, 0);
        let h = |f: &dyn Fn(&mut Health)| {
            let mut h = Health::default();
            f(&mut h);
            assess(&h)
        };
        assert_eq!(h(&|h| h.depth = 50).0, 0);
        assert_eq!(h(&|h| h.depth = 51).0, 1);
        assert_eq!(h(&|h| h.depth = 101).0, 2);
        assert_eq!(
            h(&|h| h.critical_patterns = vec!["x/timeout (1)".into()]).0,
            2
        );
        assert_eq!(h(&|h| h.sold_out = vec!["Finale".into()]).0, 1);
        assert_eq!(h(&|h| h.open_discrepancies = 2).0, 1);
        assert_eq!(h(&|h| h.overdue_approvals = 1).0, 1);
        let (c, why) = h(&|h| {
            h.depth = 60;
            h.critical_patterns = vec!["Ticket Sales/authentication_failed (3)".into()];
        });
        assert_eq!(c, 2);
        assert_eq!(why.len(), 2);
    }
}
