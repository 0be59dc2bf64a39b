//! Operator actions as data. A key (or a CLI subcommand) builds an [`Action`]; the confirm dialog
//! builds its text from the variant ([`Action::confirm_lines`]); only a confirmed action reaches
//! `api::actions::execute`, which applies it in one transaction with its audit row and answers
//! with an [`ActionReport`]. Pure: no IO here.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::sanitize::clean;

/// Who acts, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub operator: String,
    /// `ssh:CLIENT_IP` or `local:HOST`.
    pub origin: String,
}

/// A target with the label the operator recognises it by (for confirm text and toasts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    pub id: Uuid,
    pub label: String,
}

impl Named {
    pub fn new(id: Uuid, label: impl Into<String>) -> Self {
        Named {
            id,
            label: label.into(),
        }
    }
}

/// "All failed jobs matching": the queue view's filter (or the CLI's flags).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct JobSelect {
    pub job_type: Option<String>,
    pub workflow_id: Option<Uuid>,
    /// The workflow's name, for the dialog and the audit row.
    pub workflow_label: Option<String>,
    /// Case-insensitive substring of job type or error message (the queue's `/` text).
    pub text: Option<String>,
    /// Only jobs that failed by then (`updated_at <=`): the moment the operator asked, so a bulk
    /// retry applies to what was counted and confirmed, not to jobs failing while they typed.
    pub failed_by: Option<chrono::DateTime<chrono::Utc>>,
}

impl JobSelect {
    pub fn describe(&self) -> String {
        let mut parts = vec!["status:failed".to_string()];
        if let Some(t) = &self.job_type {
            parts.push(format!("type:{}", clean(t)));
        }
        if let Some(w) = &self.workflow_label {
            parts.push(format!("workflow:{}", clean(w)));
        } else if let Some(w) = self.workflow_id {
            parts.push(format!("workflow:{w}"));
        }
        if let Some(t) = self.text.as_deref().filter(|t| !t.trim().is_empty()) {
            parts.push(format!("\"{}\"", clean(t)));
        }
        parts.join(" ")
    }
}

/// Everything an operator can change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    PauseWorkflows {
        workflows: Vec<Named>,
        reason: String,
    },
    ResumeWorkflows {
        workflows: Vec<Named>,
    },
    /// Failed jobs back to pending (the selected or the marked ones).
    RetryJobs {
        jobs: Vec<Named>,
    },
    /// Every failed job matching a filter, in one statement. `expected` is the count the
    /// operator confirmed (the report says when the database found a different number).
    RetryFailed {
        select: JobSelect,
        expected: Option<i64>,
    },
    /// Pending or retrying jobs to cancelled.
    CancelJobs {
        jobs: Vec<Named>,
    },
    /// A failed or cancelled run starts again as a new pending run of the same workflow.
    RetryRun {
        run: Uuid,
        label: String,
    },
    /// A pending, running or waiting run to cancelled.
    CancelRun {
        run: Uuid,
        label: String,
    },
    /// Approve or reject an approval request (and its rate negotiation).
    Decide {
        request: Uuid,
        label: String,
        approve: bool,
        note: Option<String>,
    },
    /// Call the request's resume_url again with the decision already taken.
    ResendDecision {
        request: Uuid,
        label: String,
    },
    /// Resolve (or ignore) a reconciliation discrepancy.
    Resolve {
        discrepancy: Uuid,
        label: String,
        ignore: bool,
        note: String,
    },
    /// Acknowledge an event's open capacity alerts.
    AckCapacity {
        event: Uuid,
        label: String,
    },
    /// Pause (deactivate) or resume (activate) a workflow in n8n, by its n8n id. A pause
    /// needs a reason, like a database workflow's.
    N8nSetActive {
        workflow: String,
        label: String,
        active: bool,
        reason: Option<String>,
    },
    /// Retry a failed n8n execution: n8n starts a new execution whose `retryOf` is this one.
    N8nRetry {
        execution: String,
        label: String,
    },
    /// Retry the n8n executions behind an error pattern (Errors' R where its errors came from
    /// n8n): one n8n retry, and one audit row, per execution.
    N8nRetryMany {
        executions: Vec<String>,
        label: String,
    },
    /// Acknowledge (`minutes` None) or silence for `minutes` a control-room alert, with a
    /// comment every console shows ("acked by ana 2m ago: on it"). A silence needs one.
    AlertAct {
        alert: Uuid,
        label: String,
        minutes: Option<i64>,
        comment: Option<String>,
    },
}

impl Action {
    /// The audit trail's `action` column.
    pub fn name(&self) -> &'static str {
        match self {
            Action::PauseWorkflows { .. } => "workflow.pause",
            Action::ResumeWorkflows { .. } => "workflow.resume",
            Action::RetryJobs { .. } => "job.retry",
            Action::RetryFailed { .. } => "job.retry_failed",
            Action::CancelJobs { .. } => "job.cancel",
            Action::RetryRun { .. } => "run.retry",
            Action::CancelRun { .. } => "run.cancel",
            Action::Decide { approve: true, .. } => "approval.approve",
            Action::Decide { approve: false, .. } => "approval.reject",
            Action::ResendDecision { .. } => "approval.resend",
            Action::Resolve { ignore: false, .. } => "discrepancy.resolve",
            Action::Resolve { ignore: true, .. } => "discrepancy.ignore",
            Action::AckCapacity { .. } => "capacity.ack",
            Action::N8nSetActive { active: false, .. } => "n8n.workflow.pause",
            Action::N8nSetActive { active: true, .. } => "n8n.workflow.resume",
            Action::N8nRetry { .. } | Action::N8nRetryMany { .. } => "n8n.execution.retry",
            Action::AlertAct { minutes: None, .. } => "alert.ack",
            Action::AlertAct {
                minutes: Some(_), ..
            } => "alert.silence",
        }
    }

    /// The audit trail's `target_type` column.
    pub fn target_type(&self) -> &'static str {
        match self {
            Action::PauseWorkflows { .. } | Action::ResumeWorkflows { .. } => "workflow",
            Action::RetryJobs { .. } | Action::RetryFailed { .. } | Action::CancelJobs { .. } => {
                "job"
            }
            Action::RetryRun { .. } | Action::CancelRun { .. } => "run",
            Action::Decide { .. } | Action::ResendDecision { .. } => "approval_request",
            Action::Resolve { .. } => "discrepancy",
            Action::AckCapacity { .. } => "event",
            Action::N8nSetActive { .. } => "n8n_workflow",
            Action::N8nRetry { .. } | Action::N8nRetryMany { .. } => "n8n_execution",
            Action::AlertAct { .. } => "alert",
        }
    }

    /// The audit trail's `target_id`: the one id, or None for several / a filter (the ids
    /// are then in `before`).
    pub fn target_id(&self) -> Option<String> {
        let one = |v: &[Uuid]| (v.len() == 1).then(|| v[0].to_string());
        match self {
            Action::PauseWorkflows { workflows, .. } | Action::ResumeWorkflows { workflows } => {
                one(&workflows.iter().map(|w| w.id).collect::<Vec<_>>())
            }
            Action::RetryJobs { jobs } | Action::CancelJobs { jobs } => {
                one(&jobs.iter().map(|j| j.id).collect::<Vec<_>>())
            }
            Action::RetryFailed { .. } => None,
            Action::RetryRun { run, .. } | Action::CancelRun { run, .. } => Some(run.to_string()),
            Action::Decide { request, .. } | Action::ResendDecision { request, .. } => {
                Some(request.to_string())
            }
            Action::Resolve { discrepancy, .. } => Some(discrepancy.to_string()),
            Action::AckCapacity { event, .. } => Some(event.to_string()),
            Action::N8nSetActive { workflow, .. } => Some(workflow.clone()),
            Action::N8nRetry { execution, .. } => Some(execution.clone()),
            Action::N8nRetryMany { executions, .. } => {
                (executions.len() == 1).then(|| executions[0].clone())
            }
            Action::AlertAct { alert, .. } => Some(alert.to_string()),
        }
    }

    /// The note written to the audit row.
    pub fn note(&self) -> Option<String> {
        match self {
            Action::PauseWorkflows { reason, .. } => Some(reason.clone()),
            Action::Decide { note, .. } => note.clone(),
            Action::Resolve { note, .. } => Some(note.clone()),
            Action::N8nSetActive { reason, .. } => reason.clone(),
            Action::AlertAct { comment, .. } => comment.clone(),
            _ => None,
        }
    }

    /// How many targets the action names (None for a filter).
    pub fn count(&self) -> Option<usize> {
        match self {
            Action::PauseWorkflows { workflows, .. } | Action::ResumeWorkflows { workflows } => {
                Some(workflows.len())
            }
            Action::RetryJobs { jobs } | Action::CancelJobs { jobs } => Some(jobs.len()),
            Action::RetryFailed { .. } => None,
            Action::N8nRetryMany { executions, .. } => Some(executions.len()),
            _ => Some(1),
        }
    }

    /// Input rules checked before anything is written (the same for the TUI and the CLI).
    pub fn validate(&self) -> Result<(), String> {
        let blank = |s: &str| s.trim().is_empty();
        match self {
            Action::PauseWorkflows { workflows, reason } => {
                if workflows.is_empty() {
                    return Err("no workflow to pause".into());
                }
                if blank(reason) {
                    return Err("a pause needs a reason (--reason TEXT)".into());
                }
            }
            Action::ResumeWorkflows { workflows } if workflows.is_empty() => {
                return Err("no workflow to resume".into());
            }
            Action::RetryJobs { jobs } | Action::CancelJobs { jobs } if jobs.is_empty() => {
                return Err("no job given".into());
            }
            Action::Decide {
                approve: false,
                note,
                ..
            } if note.as_deref().is_none_or(blank) => {
                return Err("a rejection needs a note (--note TEXT)".into());
            }
            Action::N8nSetActive { workflow, .. } if blank(workflow) => {
                return Err("no n8n workflow id given (n8n:ID)".into());
            }
            Action::N8nSetActive {
                active: false,
                reason,
                ..
            } if reason.as_deref().is_none_or(blank) => {
                return Err("a pause needs a reason (--reason TEXT)".into());
            }
            Action::N8nRetry { execution, .. } if blank(execution) => {
                return Err("no n8n execution id given (n8n:ID)".into());
            }
            Action::N8nRetryMany { executions, .. }
                if executions.is_empty() || executions.iter().any(|e| blank(e)) =>
            {
                return Err("no n8n executions to retry".into());
            }
            Action::Resolve { note, ignore, .. } if blank(note) => {
                return Err(format!(
                    "{} needs a note (--note TEXT)",
                    if *ignore {
                        "ignoring a discrepancy"
                    } else {
                        "resolving a discrepancy"
                    }
                ));
            }
            Action::AlertAct {
                minutes: Some(m),
                comment,
                ..
            } => {
                if !(1..=MAX_SILENCE_MIN).contains(m) {
                    return Err("a silence lasts 1 minute to 7 days (--for 30m, 2h, 1d)".into());
                }
                if comment.as_deref().is_none_or(blank) {
                    return Err("a silence needs a comment (--comment TEXT)".into());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether a confirmation must be typed (the count) rather than a single key: bulk
    /// changes of more than `TYPED_ABOVE` targets and every cancel of several jobs.
    pub fn typed_confirmation(&self, count: Option<i64>) -> Option<String> {
        let n = count.or(self.count().map(|n| n as i64))?;
        let typed = match self {
            Action::RetryFailed { .. } | Action::RetryJobs { .. } | Action::N8nRetryMany { .. } => {
                n > TYPED_ABOVE
            }
            Action::CancelJobs { .. } => n > 1,
            Action::PauseWorkflows { .. } => n > 1,
            _ => false,
        };
        typed.then(|| n.to_string())
    }

    /// One line for toasts and the CLI: what was asked.
    pub fn summary(&self) -> String {
        fn names(v: &[Named]) -> String {
            let shown: Vec<String> = v.iter().take(3).map(|w| clean(&w.label)).collect();
            let more = v.len().saturating_sub(3);
            if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            }
        }
        let jobs = |n: usize| {
            if n == 1 {
                "1 job".to_string()
            } else {
                format!("{n} jobs")
            }
        };
        match self {
            Action::PauseWorkflows { workflows, .. } => format!("pause {}", names(workflows)),
            Action::ResumeWorkflows { workflows } => format!("resume {}", names(workflows)),
            Action::RetryJobs { jobs: j } => format!("retry {}", jobs(j.len())),
            Action::RetryFailed { select, .. } => {
                format!("retry all failed jobs matching {}", select.describe())
            }
            Action::CancelJobs { jobs: j } => format!("cancel {}", jobs(j.len())),
            Action::RetryRun { label, .. } => format!("retry run {}", clean(label)),
            Action::CancelRun { label, .. } => format!("cancel run {}", clean(label)),
            Action::Decide {
                label, approve: a, ..
            } => format!("{} {}", if *a { "approve" } else { "reject" }, clean(label)),
            Action::ResendDecision { label, .. } => {
                format!("resend the decision on {} to n8n", clean(label))
            }
            Action::Resolve { label, ignore, .. } => format!(
                "{} discrepancy {}",
                if *ignore { "ignore" } else { "resolve" },
                clean(label)
            ),
            Action::AckCapacity { label, .. } => {
                format!("acknowledge capacity alerts of {}", clean(label))
            }
            Action::N8nSetActive { label, active, .. } => format!(
                "{} n8n workflow {}",
                if *active { "resume" } else { "pause" },
                clean(label)
            ),
            Action::N8nRetry { label, .. } => format!("retry n8n execution {}", clean(label)),
            Action::N8nRetryMany { executions, label } => format!(
                "retry {} n8n execution{} behind {}",
                executions.len(),
                if executions.len() == 1 { "" } else { "s" },
                clean(label)
            ),
            Action::AlertAct {
                label,
                minutes: None,
                ..
            } => format!("acknowledge alert \"{}\"", clean(label)),
            Action::AlertAct {
                label,
                minutes: Some(m),
                ..
            } => format!(
                "silence alert \"{}\" for {}",
                clean(label),
                minutes_text(*m)
            ),
        }
    }

    /// The confirm dialog's body: the target(s) and the exact change. `count` is the number a
    /// filter matched when the dialog opened.
    pub fn confirm_lines(&self, count: Option<i64>) -> Vec<String> {
        let mut l = Vec::new();
        match self {
            Action::PauseWorkflows { workflows, reason } => {
                l.push(format!(
                    "Pause {} workflow{}:",
                    workflows.len(),
                    if workflows.len() == 1 { "" } else { "s" }
                ));
                l.extend(list(workflows.iter().map(|w| w.label.as_str())));
                l.push("active → paused: the engine starts no run and claims no job".into());
                if !reason.trim().is_empty() {
                    l.push(format!("Reason: {}", clean(reason)));
                }
            }
            Action::ResumeWorkflows { workflows } => {
                l.push(format!(
                    "Resume {} workflow{}:",
                    workflows.len(),
                    if workflows.len() == 1 { "" } else { "s" }
                ));
                l.extend(list(workflows.iter().map(|w| w.label.as_str())));
                l.push("paused → active: runs and jobs go on".into());
            }
            Action::RetryJobs { jobs } => {
                l.push(format!("Retry {} failed job(s):", jobs.len()));
                l.extend(list(jobs.iter().map(|j| j.label.as_str())));
                l.push("failed → pending, attempts reset, run now".into());
            }
            Action::RetryFailed { select, .. } => {
                l.push(format!(
                    "Retry {} failed job(s) matching:",
                    count.map(|n| n.to_string()).unwrap_or_else(|| "all".into())
                ));
                l.push(format!("  {}", select.describe()));
                l.push("failed → pending, attempts reset, run now (one statement)".into());
            }
            Action::CancelJobs { jobs } => {
                l.push(format!("Cancel {} job(s):", jobs.len()));
                l.extend(list(jobs.iter().map(|j| j.label.as_str())));
                l.push("pending/retrying → cancelled: they will not run".into());
            }
            Action::RetryRun { label, .. } => {
                l.push(format!("Retry run {}", clean(label)));
                l.push(
                    "starts a new pending run of the same workflow, same event and input".into(),
                );
            }
            Action::CancelRun { label, .. } => {
                l.push(format!("Cancel run {}", clean(label)));
                l.push(
                    "pending/running/waiting → cancelled: its remaining steps will not run".into(),
                );
            }
            Action::Decide {
                label,
                approve,
                note,
                ..
            } => {
                l.push(format!(
                    "{} {}",
                    if *approve { "Approve" } else { "Reject" },
                    clean(label)
                ));
                l.push(if *approve {
                    "pending → approved: the waiting run continues".into()
                } else {
                    "pending → rejected: the waiting run ends".into()
                });
                if let Some(n) = note.as_deref().filter(|n| !n.trim().is_empty()) {
                    l.push(format!("Note: {}", clean(n)));
                }
            }
            Action::ResendDecision { label, .. } => {
                l.push(format!("Resend the decision on {} to n8n", clean(label)));
                l.push("POSTs the recorded decision to the request's resume_url again".into());
            }
            Action::Resolve {
                label,
                ignore,
                note,
                ..
            } => {
                l.push(format!(
                    "{} discrepancy {}",
                    if *ignore { "Ignore" } else { "Resolve" },
                    clean(label)
                ));
                l.push(format!(
                    "open → {}",
                    if *ignore { "ignored" } else { "resolved" }
                ));
                if !note.trim().is_empty() {
                    l.push(format!("Note: {}", clean(note)));
                }
            }
            Action::AckCapacity { label, .. } => {
                l.push(format!(
                    "Acknowledge the capacity alerts of {}",
                    clean(label)
                ));
                l.push("open → acknowledged (the alert stays in the history)".into());
            }
            Action::N8nSetActive {
                workflow,
                label,
                active,
                reason,
            } => {
                l.push(format!(
                    "{} n8n workflow {} (n8n:{})",
                    if *active { "Resume" } else { "Pause" },
                    clean(label),
                    clean(workflow)
                ));
                l.push(if *active {
                    "inactive → active in n8n: its triggers and webhooks run again".into()
                } else {
                    "active → inactive in n8n: its triggers stop, its webhooks answer 404".into()
                });
                if let Some(r) = reason.as_deref().filter(|r| !r.trim().is_empty()) {
                    l.push(format!("Reason: {}", clean(r)));
                }
            }
            Action::N8nRetry { execution, label } => {
                l.push(format!(
                    "Retry n8n execution {} (n8n:{})",
                    clean(label),
                    clean(execution)
                ));
                l.push(
                    "n8n starts a new execution with the workflow as it ran (retryOf links them)"
                        .into(),
                );
            }
            Action::N8nRetryMany { executions, label } => {
                let shown: Vec<String> = executions.iter().take(8).map(|e| clean(e)).collect();
                l.push(format!(
                    "Retry in n8n the {} execution{} behind {}: {}{}",
                    executions.len(),
                    if executions.len() == 1 { "" } else { "s" },
                    clean(label),
                    shown.join(", "),
                    if executions.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    }
                ));
                l.push(
                    "these errors came from n8n: n8n starts a new execution for each (retryOf links them), not the job queue"
                        .into(),
                );
            }
            Action::AlertAct { label, minutes, .. } => match minutes {
                None => {
                    l.push(format!("Acknowledge the alert: {}", clean(label)));
                    l.push(
                            "firing → acked: off the alert bar, no bell; every console shows who and the comment"
                                .into(),
                        );
                }
                Some(m) => {
                    l.push(format!(
                        "Silence for {} the alert: {}",
                        minutes_text(*m),
                        clean(label)
                    ));
                    l.push(
                            "off the bar and no bell until then; it comes back when the silence ends if it still fires"
                                .into(),
                        );
                }
            },
        }
        l
    }
}

/// The longest silence (7 days, in minutes).
pub const MAX_SILENCE_MIN: i64 = 7 * 24 * 60;

/// "45m", "2h", "1h30m", "1d".
pub fn minutes_text(m: i64) -> String {
    match m {
        m if m >= 1440 && m % 1440 == 0 => format!("{}d", m / 1440),
        m if m >= 60 && m % 60 == 0 => format!("{}h", m / 60),
        m if m > 60 => format!("{}h{:02}m", m / 60, m % 60),
        m => format!("{m}m"),
    }
}

/// A duration as typed for a silence ("30m", "2h", "1d", "90" = minutes): minutes.
pub fn parse_minutes(s: &str) -> Option<i64> {
    let s = s.trim();
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "m"),
    };
    let n: i64 = n.parse().ok()?;
    let m = match unit.trim() {
        "m" | "min" => n,
        "h" => n.checked_mul(60)?,
        "d" => n.checked_mul(1440)?,
        _ => return None,
    };
    (m > 0).then_some(m)
}

/// Above this many jobs, a retry asks for the count to be typed.
pub const TYPED_ABOVE: i64 = 10;

/// A decision's POST to n8n (resume_url) still `pending` after this long never finished: it is
/// shown as failed and may be resent. Far above the POST's own timeout (5 s).
pub const RESUME_STALE: chrono::Duration = chrono::Duration::minutes(2);

fn list<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let items: Vec<&str> = items.collect();
    let mut out: Vec<String> = items
        .iter()
        .take(5)
        .map(|s| format!("  • {}", clean(s)))
        .collect();
    if items.len() > 5 {
        out.push(format!("  … and {} more", items.len() - 5));
    }
    out
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied (at least one target changed).
    Ok,
    /// Someone or something got there first, or nothing matched: nothing changed.
    Conflict,
    /// Bad input or a database/network failure: nothing changed.
    Error,
    /// The login's role may not do this (the database refused it): nothing changed, and the
    /// attempt is on record.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Conflict => "conflict",
            Outcome::Error => "error",
            Outcome::Denied => "denied",
        }
    }
    /// CLI exit code: 0 done, 1 conflict, 2 error or denied.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Conflict => 1,
            Outcome::Error | Outcome::Denied => 2,
        }
    }
}

/// What `execute` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionReport {
    pub action: &'static str,
    pub outcome: Outcome,
    /// One line for the operator: "retried 3 jobs", "already approved by maya@ops at 03:12".
    pub message: String,
    /// Targets changed.
    pub changed: u64,
    /// Targets that were not in the expected state, each with why ("… already pending").
    pub conflicts: Vec<String>,
    /// The audit row written (None when the database could not be reached).
    pub audit_id: Option<Uuid>,
    /// A follow-up the operator must see even though the action stands, e.g. "n8n not told —
    /// press R to resend".
    pub warning: Option<String>,
}

impl ActionReport {
    pub fn error(action: &'static str, msg: impl Into<String>) -> Self {
        ActionReport {
            action,
            outcome: Outcome::Error,
            message: msg.into(),
            changed: 0,
            conflicts: vec![],
            audit_id: None,
            warning: None,
        }
    }
}
