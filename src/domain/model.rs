//! Domain types: what the store reads and the state/views show. Status columns stay `String`
//! so that a value from a newer engine is shown as itself (DOMAIN.md).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;

pub type Ts = DateTime<Utc>;

/// The seed's queue alerts (seed 000's resource monitor): depth above this is a warning
/// ("medium")…
pub const QUEUE_WARN_DEPTH: i64 = 50;
/// …and above this critical ("high").
pub const QUEUE_CRIT_DEPTH: i64 = 100;

pub fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workflow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub trigger_type: String,
    pub status: String,
    pub n8n_workflow_id: Option<String>,
    pub paused_by: Option<String>,
    pub paused_at: Option<Ts>,
    pub pause_reason: Option<String>,
    pub next_execution_at: Option<Ts>,
    pub updated_at: Option<Ts>,
}

/// A workflow with its numbers in a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowStats {
    pub workflow: Workflow,
    pub runs: i64,
    pub completed: i64,
    pub failed: i64,
    pub running: i64,
    pub waiting: i64,
    /// completed / (completed + failed) in the window; None without finished runs.
    pub success_rate: Option<f64>,
    pub p95_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Ts>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub status: String,
    pub started_at: Ts,
    pub completed_at: Option<Ts>,
    pub duration_ms: Option<i64>,
    pub event_id: Option<Uuid>,
    pub steps_total: i64,
    pub steps_completed: i64,
    pub current_step: Option<String>,
    pub error_message: Option<String>,
    pub context: Json,
    pub n8n_execution_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepLog {
    pub id: Uuid,
    pub execution_id: Uuid,
    pub step_index: i64,
    pub step_name: String,
    pub status: String,
    pub input: Option<Json>,
    pub output: Option<Json>,
    pub error_message: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: Ts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: Uuid,
    pub job_type: String,
    pub payload: Json,
    pub status: String,
    pub priority: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub scheduled_for: Option<Ts>,
    pub started_at: Option<Ts>,
    pub completed_at: Option<Ts>,
    pub error_message: Option<String>,
    pub workflow_id: Option<Uuid>,
    pub workflow_name: Option<String>,
    pub locked_by: Option<String>,
    pub created_at: Ts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorRow {
    pub id: Uuid,
    pub workflow_id: Option<Uuid>,
    pub workflow_name: Option<String>,
    pub execution_id: Option<Uuid>,
    pub error_type: String,
    pub error_message: Option<String>,
    pub created_at: Ts,
}

/// Seed 000's hourly error analysis: one (workflow, error_type) pattern in a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorPattern {
    pub workflow_id: Option<Uuid>,
    pub workflow_name: String,
    pub error_type: String,
    pub count: i64,
    pub first_seen: Ts,
    pub last_seen: Ts,
    /// Up to three example messages, newest first, distinct.
    pub examples: Vec<String>,
    /// The n8n executions behind its errors (their runs' `n8n_execution_id`), newest first, at
    /// most [`ErrorPattern::N8N_MAX`]: Errors' R retries these in n8n.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub n8n_executions: Vec<String>,
    /// How many of its errors came from a run that lives in n8n.
    #[serde(default)]
    pub n8n_errors: i64,
    /// How many distinct n8n executions are behind them (`n8n_executions` holds the newest).
    #[serde(default)]
    pub n8n_executions_total: i64,
}

impl ErrorPattern {
    /// The n8n executions a pattern carries (and Errors' R retries at once).
    pub const N8N_MAX: usize = 20;
    /// Critical per the seed: more than 10 in the window, or a timeout / authentication failure.
    pub fn is_critical(&self) -> bool {
        self.count > 10
            || matches!(
                self.error_type.as_str(),
                "timeout" | "authentication_failed"
            )
    }
    /// Network and rate-limit errors are retriable per the seed.
    pub fn is_retriable(&self) -> bool {
        matches!(self.error_type.as_str(), "network" | "rate_limit")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueDepth {
    /// Exact counts of the open states: pending, retrying, processing, failed.
    pub pending: i64,
    pub retrying: i64,
    pub processing: i64,
    pub failed: i64,
    /// (job_type, status, count) over the open states.
    pub by_type: Vec<(String, String, i64)>,
    /// Since when the oldest job that is due has waited (pending or retrying, its scheduled
    /// time come): how late the queue runs. Jobs scheduled for later do not count.
    pub oldest_pending_at: Option<Ts>,
    /// Completed in the last hour (from the per-minute rollup, exact).
    pub completed_last_hour: i64,
}

impl QueueDepth {
    /// Depth as the seed defines it: pending + retrying.
    pub fn depth(&self) -> i64 {
        self.pending + self.retrying
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventCapacity {
    pub id: Uuid,
    pub name: String,
    pub venue_name: String,
    pub city: Option<String>,
    pub start_at: Ts,
    pub status: String,
    pub capacity: i64,
    pub sold: i64,
}

impl EventCapacity {
    pub fn percent(&self) -> f64 {
        if self.capacity <= 0 {
            0.0
        } else {
            self.sold as f64 * 100.0 / self.capacity as f64
        }
    }
    /// The seed's thresholds: 80 alert, 90 waitlist + marketing push, 100 sold out.
    pub fn threshold(&self) -> Option<u8> {
        let p = self.percent();
        if p >= 100.0 {
            Some(100)
        } else if p >= 90.0 {
            Some(90)
        } else if p >= 80.0 {
            Some(80)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityAlert {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_name: String,
    pub threshold: i64,
    pub sold: i64,
    pub capacity: i64,
    pub created_at: Ts,
    pub acknowledged_by: Option<String>,
}

/// Open capacity alerts, one entry per event: its highest threshold crossed (the alert shown)
/// and the lower thresholds also open, newest event first. An event that crossed 80, 90 and
/// 100 % is one line, not three.
pub fn capacity_alerts_by_event(alerts: &[CapacityAlert]) -> Vec<(&CapacityAlert, Vec<i64>)> {
    let mut out: Vec<(&CapacityAlert, Vec<i64>)> = Vec::new();
    for a in alerts {
        match out.iter_mut().find(|(top, _)| top.event_id == a.event_id) {
            Some((top, lower)) => {
                if a.threshold > top.threshold {
                    lower.push(top.threshold);
                    *top = a;
                } else {
                    lower.push(a.threshold);
                }
                lower.sort_unstable_by(|x, y| y.cmp(x));
            }
            None => out.push((a, Vec::new())),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconRun {
    pub id: Uuid,
    pub reconciliation_date: Option<NaiveDate>,
    pub stripe_count: i64,
    pub db_count: i64,
    pub discrepancy_count: i64,
    pub status: String,
    pub created_at: Ts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discrepancy {
    pub id: Uuid,
    pub run_id: Uuid,
    pub kind: String,
    pub stripe_id: Option<String>,
    pub db_id: Option<String>,
    pub stripe_amount: Option<i64>,
    pub db_amount: Option<i64>,
    pub status: String,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
    pub created_at: Ts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Negotiation {
    pub id: Uuid,
    pub model_name: String,
    pub designer_name: String,
    pub designer_tier: String,
    pub standard_rate: i64,
    pub proposed_rate: i64,
    pub show_count: i64,
    pub status: String,
}

impl Negotiation {
    pub fn discount_pct(&self) -> f64 {
        discount_pct(self.standard_rate, self.proposed_rate)
    }
    // saturating: the rows come from the database and may hold anything
    pub fn standard_total(&self) -> i64 {
        self.standard_rate.saturating_mul(self.show_count)
    }
    pub fn proposed_total(&self) -> i64 {
        self.proposed_rate.saturating_mul(self.show_count)
    }
    pub fn savings(&self) -> i64 {
        self.standard_total().saturating_sub(self.proposed_total())
    }
    /// Why each of the seed's three auto-approve rules failed (empty = it passes).
    pub fn rule_failures(&self) -> Vec<String> {
        rule_failures(
            self.standard_rate,
            self.proposed_rate,
            self.show_count,
            &self.designer_tier,
        )
    }
}

pub fn discount_pct(standard: i64, proposed: i64) -> f64 {
    if standard <= 0 {
        0.0
    } else {
        // in f64: `standard - proposed` overflows i64 for hostile rows
        (standard as f64 - proposed as f64) * 100.0 / standard as f64
    }
}

/// The seed's rule: auto-approve when (shows ≥ 3 and discount ≤ 15) or (shows ≥ 5 and
/// discount ≤ 25) or (tier luxury and discount ≤ 10).
pub fn auto_approves(standard: i64, proposed: i64, shows: i64, tier: &str) -> bool {
    rule_failures(standard, proposed, shows, tier).is_empty()
}

pub fn rule_failures(standard: i64, proposed: i64, shows: i64, tier: &str) -> Vec<String> {
    let d = discount_pct(standard, proposed);
    let mut why = Vec::new();
    let r1 = shows >= 3 && d <= 15.0;
    let r2 = shows >= 5 && d <= 25.0;
    let r3 = tier == "luxury" && d <= 10.0;
    if r1 || r2 || r3 {
        return why;
    }
    why.push(if shows < 3 {
        format!("≥3 shows & ≤15% off: only {shows} show(s)")
    } else {
        format!("≥3 shows & ≤15% off: discount {d:.1}% > 15%")
    });
    why.push(if shows < 5 {
        format!("≥5 shows & ≤25% off: only {shows} show(s)")
    } else {
        format!("≥5 shows & ≤25% off: discount {d:.1}% > 25%")
    });
    why.push(if tier != "luxury" {
        format!("luxury & ≤10% off: tier is {tier}")
    } else {
        format!("luxury & ≤10% off: discount {d:.1}% > 10%")
    });
    why
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub id: Uuid,
    pub kind: String,
    pub data: Json,
    pub priority: String,
    pub requested_by: Option<String>,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<Ts>,
    pub decision_note: Option<String>,
    pub resume_url: Option<String>,
    pub execution_id: Option<Uuid>,
    pub created_at: Ts,
    pub expires_at: Option<Ts>,
    /// Where telling n8n (resume_url) stands: None, "pending", "told" or "failed".
    pub resume_status: Option<String>,
    pub resume_error: Option<String>,
    pub negotiation: Option<Negotiation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Broadcast {
    pub id: Uuid,
    pub level: String,
    pub scope: String,
    pub event_id: Option<Uuid>,
    pub venue_name: Option<String>,
    pub message: String,
    pub triggered_by: String,
    pub status: String,
    pub affected_count: i64,
    pub test: bool,
    pub created_at: Ts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub measured_at: Ts,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    pub queue_depth: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorAction {
    pub id: Uuid,
    pub at: Ts,
    pub operator: String,
    pub origin: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub note: Option<String>,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingWorkflow {
    pub workflow_id: Uuid,
    pub name: String,
    pub failures: i64,
}

/// Everything the control-room screen shows, read in one refresh.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Overview {
    pub queue: QueueDepth,
    /// (status, count) of runs started in the last hour.
    pub runs_last_hour: Vec<(String, i64)>,
    /// Runs finished in the last hour: completed and failed (success rate = completed / both).
    pub completed_last_hour: i64,
    pub failed_last_hour: i64,
    pub top_failing: Vec<FailingWorkflow>,
    pub capacity: Vec<EventCapacity>,
    pub open_alerts: Vec<CapacityAlert>,
    /// (kind, count) of open discrepancies.
    pub open_discrepancies: Vec<(String, i64)>,
    pub pending_approvals: i64,
    pub oldest_pending_approval_at: Option<Ts>,
    pub last_broadcasts: Vec<Broadcast>,
    pub metrics: Option<Metrics>,
    /// Queue depth history from system_metrics, oldest first (sparkline).
    pub depth_history: Vec<i64>,
    pub workflows_paused: i64,
    pub runs_waiting: i64,
    /// Length of the last-hour window in minutes: 60 to 61, as it starts on a whole minute
    /// (0 is read as 60).
    pub window_minutes: f64,
}

impl Overview {
    /// Runs started per minute over the last-hour window.
    pub fn runs_per_minute(&self) -> f64 {
        let minutes = if self.window_minutes > 0.0 {
            self.window_minutes
        } else {
            60.0
        };
        self.runs_started_last_hour() as f64 / minutes
    }

    pub fn runs_started_last_hour(&self) -> i64 {
        self.runs_last_hour.iter().map(|(_, n)| n).sum()
    }
    pub fn success_rate_last_hour(&self) -> Option<f64> {
        let done = self.completed_last_hour + self.failed_last_hour;
        (done > 0).then(|| self.completed_last_hour as f64 / done as f64)
    }
    pub fn open_discrepancy_total(&self) -> i64 {
        self.open_discrepancies.iter().map(|(_, n)| n).sum()
    }
}

/// "Older than this row" for newest-first lists: (timestamp, id) of the last row shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: Ts,
    pub id: Uuid,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub status: Option<String>,
    pub workflow_id: Option<Uuid>,
    pub job_type: Option<String>,
    pub kind: Option<String>,
    /// Case-insensitive substring on the row's main text.
    pub text: Option<String>,
    pub before: Option<Cursor>,
    pub limit: u32,
}

impl ListFilter {
    pub fn page(limit: u32) -> Self {
        ListFilter {
            limit,
            ..Default::default()
        }
    }
}

/// A duration in seconds, coarse: "12s", "3m42s", "3h20m", "2d4h" (negative counts as 0).
/// How long ago, as an age on screen: seconds under a minute, then whole minutes, then hours
/// and minutes ("45s", "3m", "3h20m", "2d4h"). Past a minute an age changes once a minute, not
/// every second: an idle screen stays still (and quiet over SSH).
pub fn age_secs(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => span_secs(s),
    }
}

pub fn span_secs(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..600 => format!("{}m{:02}s", s / 60, s % 60),
        600..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_alerts_one_line_per_event() {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let ev = |e: u128, th: i64| CapacityAlert {
            id: Uuid::from_u128(e * 1000 + th as u128),
            event_id: Uuid::from_u128(e),
            event_name: format!("event {e}"),
            threshold: th,
            sold: th * 2,
            capacity: 200,
            created_at: t,
            acknowledged_by: None,
        };
        // newest first, as the store reads them: VIP crossed 80, 90 then 100 %
        let open = [ev(1, 100), ev(2, 80), ev(1, 90), ev(1, 80)];
        let g = capacity_alerts_by_event(&open);
        let got: Vec<(u128, i64, Vec<i64>)> = g
            .iter()
            .map(|(a, lower)| (a.event_id.as_u128(), a.threshold, lower.clone()))
            .collect();
        assert_eq!(got, vec![(1, 100, vec![90, 80]), (2, 80, vec![])]);
    }

    #[test]
    fn seed_rule() {
        // 3 shows at 15 % off passes rule 1
        assert!(auto_approves(100_000, 85_000, 3, "emerging"));
        // 2 shows at 5 % off fails every rule unless luxury
        assert!(!auto_approves(100_000, 95_000, 2, "established"));
        assert!(auto_approves(100_000, 95_000, 2, "luxury"));
        // 5 shows at 25 % passes rule 2, 26 % fails all
        assert!(auto_approves(100_000, 75_000, 5, "emerging"));
        let why = rule_failures(100_000, 74_000, 5, "emerging");
        assert_eq!(why.len(), 3);
        assert!(why[1].contains("26.0% > 25%"), "{why:?}");
        assert!(why[2].contains("tier is emerging"));
    }

    #[test]
    fn counts_display() {
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
