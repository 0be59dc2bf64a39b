//! From a mutating key to a confirm dialog, and from an action's result to what the operator
//! sees. Which rows a key acts on: the marked rows of the view, else the selected one; rows not
//! in the state the action needs are left out (and said so) before the dialog opens.

use super::dialog::{Dialog, DialogOutcome};
use super::table::{Row, Table};
use super::*;
use crate::domain::action::{Action, ActionReport, JobSelect, Named, Outcome};
use crate::keymap::KeyAction;

/// The marked rows (in list order), else the selected one.
fn targets<T: Row + Clone>(t: &Table<T>) -> Vec<T> {
    if t.marked.is_empty() {
        return t.selected().cloned().into_iter().collect();
    }
    let mut v: Vec<T> = t.marked.iter().filter_map(|k| t.get(k)).cloned().collect();
    v.sort_by_key(|r| t.rows_index(&r.key()));
    v
}

fn short(id: &Uuid) -> String {
    id.to_string()[..8].to_string()
}

impl App {
    /// A mutating key: build the action for what is selected and open its dialog.
    pub(super) fn on_mutating(&mut self, k: KeyAction) -> Vec<Effect> {
        if self.mode == Mode::ReadOnly {
            self.toast(format!("read-only: {} is disabled", k.description()), true);
            return vec![];
        }
        if let Err(why) = self.key_needs(k) {
            self.toast(format!("{}: {why}", k.description()), true);
            return vec![];
        }
        if self.inflight.busy(Busy::Action) {
            self.toast("an action is still running — wait for its result", true);
            return vec![];
        }
        match self.action_for(k) {
            Ok(a) => {
                if let Err(why) = self.access.may(a.name()) {
                    // the key's usual action is allowed, this one is not (the database would
                    // refuse it): say which role it needs rather than open a dialog
                    self.toast(format!("{}: {why}", a.summary()), true);
                    return vec![];
                }
                let notes = self.dialog_notes(k, &a);
                let fx = self.open_dialog(a);
                if let Overlay::Dialog(d) = &mut self.overlay {
                    d.notes = notes;
                }
                fx
            }
            Err(why) => {
                self.toast(why, true);
                vec![]
            }
        }
    }

    /// Whether the login's role allows what `k` does in this view: Err says which role it
    /// needs ("needs opsdeck_admin"). Only where roles decide; read-only is said apart.
    pub fn key_needs(&self, k: KeyAction) -> Result<(), String> {
        if !self.access.by_roles() || !k.is_mutating() {
            return Ok(());
        }
        let name = match (self.view, k) {
            (_, KeyAction::Pause) => "workflow.pause",
            (_, KeyAction::Resume) if self.view == ViewId::Workflows => "workflow.resume",
            // Errors: R retries the pattern's n8n executions where its errors came from n8n,
            // else every failed job of its workflow (a bulk retry)
            (ViewId::Errors, KeyAction::Retry)
                if self
                    .errors
                    .table
                    .selected()
                    .is_some_and(|p| !p.n8n_executions.is_empty()) =>
            {
                "n8n.execution.retry"
            }
            (ViewId::Errors, KeyAction::Retry) | (_, KeyAction::RetryFiltered) => {
                "job.retry_failed"
            }
            (ViewId::Runs, KeyAction::Retry) => "run.retry",
            (ViewId::Runs, KeyAction::Cancel) => "run.cancel",
            (_, KeyAction::Retry) => "job.retry",
            (_, KeyAction::Cancel) => "job.cancel",
            (_, KeyAction::Approve) => "approval.approve",
            (_, KeyAction::Reject) => "approval.reject",
            (_, KeyAction::Resend) => "approval.resend",
            (_, KeyAction::Resolve) => "discrepancy.resolve",
            (_, KeyAction::Ignore) => "discrepancy.ignore",
            (_, KeyAction::Acknowledge) => "capacity.ack",
            (_, KeyAction::Broadcast) => "broadcast.test",
            _ => return Ok(()),
        };
        self.access.may(name)
    }

    pub fn open_dialog(&mut self, a: Action) -> Vec<Effect> {
        let d = Dialog::new(a);
        let fx = match d.counting() {
            Some(sel) => vec![Effect::CountFailed(sel.clone())],
            None => vec![],
        };
        self.overlay = Overlay::Dialog(Box::new(d));
        fx
    }

    /// The action a key means on the current view and selection, or why there is none.
    pub fn action_for(&self, k: KeyAction) -> Result<Action, String> {
        let v = self.view;
        if self.n8n_focused() {
            // the n8n pane of Workflows / Runs: n8n's own actions
            return self.n8n_action_for_selection(k, None).ok_or_else(|| {
                self.n8n_action_refusal(k)
                    .unwrap_or_else(|| format!("{}: not available on n8n items", k.description()))
            });
        }
        let none = || format!("{}: nothing selected", k.description());
        match (v, k) {
            (ViewId::Workflows, KeyAction::Pause | KeyAction::Resume) => {
                let pausing = k == KeyAction::Pause;
                let want = if pausing { "active" } else { "paused" };
                let all = targets(&self.workflows.table);
                if all.is_empty() {
                    return Err(none());
                }
                let ok: Vec<Named> = all
                    .iter()
                    .filter(|w| w.workflow.status == want)
                    .map(|w| Named::new(w.workflow.id, w.workflow.name.clone()))
                    .collect();
                if ok.is_empty() {
                    let w = &all[0].workflow;
                    return Err(format!(
                        "{} is {}{}",
                        crate::domain::sanitize::clean(&w.name),
                        crate::domain::sanitize::clean(&w.status),
                        match (&w.paused_by, pausing) {
                            (Some(by), true) =>
                                format!(" (by {})", crate::domain::sanitize::clean(by)),
                            _ => String::new(),
                        }
                    ));
                }
                Ok(if pausing {
                    Action::PauseWorkflows {
                        workflows: ok,
                        reason: String::new(),
                    }
                } else {
                    Action::ResumeWorkflows { workflows: ok }
                })
            }
            (ViewId::Runs, KeyAction::Retry | KeyAction::Cancel) => {
                let run = self
                    .runs
                    .list
                    .detail_row()
                    .or_else(|| self.runs.list.table.selected())
                    .ok_or_else(none)?;
                let label = format!("{} {}", short(&run.id), run.workflow_name);
                if k == KeyAction::Retry {
                    if !matches!(run.status.as_str(), "failed" | "cancelled") {
                        return Err(format!(
                            "run {} is {}: only failed or cancelled runs can be retried",
                            short(&run.id),
                            crate::domain::sanitize::clean(&run.status)
                        ));
                    }
                    Ok(Action::RetryRun { run: run.id, label })
                } else {
                    if !matches!(run.status.as_str(), "pending" | "running" | "waiting") {
                        return Err(format!(
                            "run {} is {}: nothing to cancel",
                            short(&run.id),
                            crate::domain::sanitize::clean(&run.status)
                        ));
                    }
                    Ok(Action::CancelRun { run: run.id, label })
                }
            }
            (ViewId::Queue, KeyAction::Retry | KeyAction::Cancel) => {
                let all = targets(&self.queue.list.table);
                if all.is_empty() {
                    return Err(none());
                }
                let want: &[&str] = if k == KeyAction::Retry {
                    &["failed"]
                } else {
                    &["pending", "retrying"]
                };
                let jobs: Vec<Named> = all
                    .iter()
                    .filter(|j| want.contains(&j.status.as_str()))
                    .map(|j| {
                        Named::new(
                            j.id,
                            format!("{} {} ({})", short(&j.id), j.job_type, j.status),
                        )
                    })
                    .collect();
                if jobs.is_empty() {
                    return Err(format!(
                        "job {} is {}: {}",
                        short(&all[0].id),
                        crate::domain::sanitize::clean(&all[0].status),
                        if k == KeyAction::Retry {
                            "only failed jobs can be retried"
                        } else {
                            "only pending or retrying jobs can be cancelled"
                        }
                    ));
                }
                Ok(if k == KeyAction::Retry {
                    Action::RetryJobs { jobs }
                } else {
                    Action::CancelJobs { jobs }
                })
            }
            (ViewId::Queue, KeyAction::RetryFiltered) => {
                let f = self.base_filter(ViewId::Queue);
                Ok(Action::RetryFailed {
                    select: JobSelect {
                        job_type: f.job_type,
                        workflow_id: None,
                        workflow_label: None,
                        text: f.text,
                        failed_by: Some(self.now),
                    },
                    expected: None,
                })
            }
            (ViewId::Errors, KeyAction::Retry) => {
                let p = self.errors.table.selected().ok_or_else(none)?;
                if !p.n8n_executions.is_empty() {
                    // these errors came from n8n: retry there, not in the job queue
                    return Ok(Action::N8nRetryMany {
                        executions: p.n8n_executions.clone(),
                        label: format!("{} / {}", p.workflow_name, p.error_type),
                    });
                }
                let Some(wf) = p.workflow_id else {
                    return Err("this error has no workflow: retry its jobs from the Queue".into());
                };
                Ok(Action::RetryFailed {
                    select: JobSelect {
                        workflow_id: Some(wf),
                        workflow_label: Some(p.workflow_name.clone()),
                        failed_by: Some(self.now),
                        ..Default::default()
                    },
                    expected: None,
                })
            }
            (ViewId::Capacity, KeyAction::Acknowledge) => {
                let e = self.capacity.list.table.selected().ok_or_else(none)?;
                let open = self
                    .capacity
                    .alerts
                    .iter()
                    .any(|a| a.event_id == e.id && a.acknowledged_by.is_none());
                if !open {
                    return Err(format!(
                        "{} has no open capacity alert",
                        crate::domain::sanitize::clean(&e.name)
                    ));
                }
                Ok(Action::AckCapacity {
                    event: e.id,
                    label: e.name.clone(),
                })
            }
            (ViewId::Reconciliation, KeyAction::Resolve | KeyAction::Ignore) => {
                if self.recon.list.detail.is_none() {
                    return Err("open a reconciliation run (Enter) and pick a discrepancy".into());
                }
                let d = self.recon.discrepancies.selected().ok_or_else(none)?;
                if d.status != "open" {
                    return Err(format!(
                        "discrepancy {} is {}{}",
                        short(&d.id),
                        crate::domain::sanitize::clean(&d.status),
                        d.resolved_by
                            .as_ref()
                            .map(|b| format!(" (by {})", crate::domain::sanitize::clean(b)))
                            .unwrap_or_default()
                    ));
                }
                Ok(Action::Resolve {
                    discrepancy: d.id,
                    label: format!(
                        "{} {}",
                        d.kind,
                        d.stripe_id
                            .clone()
                            .or(d.db_id.clone())
                            .unwrap_or_else(|| short(&d.id))
                    ),
                    ignore: k == KeyAction::Ignore,
                    note: String::new(),
                })
            }
            (ViewId::Approvals, KeyAction::Approve | KeyAction::Reject | KeyAction::Resend) => {
                let a = self
                    .approvals
                    .detail_row()
                    .or_else(|| self.approvals.table.selected())
                    .ok_or_else(none)?;
                let label = a
                    .negotiation
                    .as_ref()
                    .map(|n| format!("{} × {}", n.model_name, n.designer_name))
                    .unwrap_or_else(|| format!("{} {}", a.kind, short(&a.id)));
                if k == KeyAction::Resend {
                    if a.resume_url.is_none() {
                        return Err("this request has no resume_url: nothing to resend".into());
                    }
                    if a.resume_status.as_deref() == Some("told") {
                        return Err("n8n was already told".into());
                    }
                    if a.status == "pending" {
                        return Err("decide it first (A approve, X reject)".into());
                    }
                    return Ok(Action::ResendDecision {
                        request: a.id,
                        label,
                    });
                }
                if a.status != "pending" {
                    return Err(format!(
                        "already {}{}",
                        crate::domain::sanitize::clean(&a.status),
                        a.decided_by
                            .as_ref()
                            .map(|b| format!(" by {}", crate::domain::sanitize::clean(b)))
                            .unwrap_or_default()
                    ));
                }
                Ok(Action::Decide {
                    request: a.id,
                    label,
                    approve: k == KeyAction::Approve,
                    note: None,
                })
            }
            _ => Err(format!(
                "{}: not available in {}",
                k.description(),
                v.title()
            )),
        }
    }

    /// What the dialog should say besides the action: marked rows the action leaves out (not in
    /// the state it needs), and the host a decision is sent to.
    fn dialog_notes(&self, k: KeyAction, a: &Action) -> Vec<String> {
        let mut v = self.left_out(k, a);
        v.extend(self.n8n_notes(a));
        v
    }

    /// What an action does in n8n besides the database (issue 17): workflows that live in n8n
    /// are (de)activated there too; a run that lives in n8n cannot be stopped there by opsdeck.
    fn n8n_notes(&self, a: &Action) -> Vec<String> {
        match a {
            Action::PauseWorkflows { workflows, .. } | Action::ResumeWorkflows { workflows } => {
                let pausing = matches!(a, Action::PauseWorkflows { .. });
                let in_n8n: Vec<String> = workflows
                    .iter()
                    .filter_map(|w| self.workflows.table.get(&w.id))
                    .filter_map(|w| {
                        w.workflow
                            .n8n_workflow_id
                            .as_deref()
                            .filter(|n| !n.trim().is_empty())
                            .map(|n| {
                                format!(
                                    "{} (n8n {})",
                                    crate::domain::sanitize::clean(&w.workflow.name),
                                    crate::domain::sanitize::clean(n)
                                )
                            })
                    })
                    .collect();
                if in_n8n.is_empty() {
                    return vec![];
                }
                let verb = if pausing { "deactivated" } else { "activated" };
                if self.n8n.configured {
                    vec![format!("also {verb} in n8n: {}", in_n8n.join(", "))]
                } else {
                    vec![format!(
                        "lives in n8n, whose API is not configured: not {verb} there — {}",
                        in_n8n.join(", ")
                    )]
                }
            }
            Action::N8nRetryMany { .. } => {
                let Some(p) = self.errors.table.selected() else {
                    return vec![];
                };
                let mut v = Vec::new();
                if !self.n8n.configured {
                    v.push(
                        "n8n's API is not configured (N8N_URL, N8N_API_KEY): the retries will fail"
                            .into(),
                    );
                }
                let more = p.n8n_executions_total - p.n8n_executions.len() as i64;
                if more > 0 {
                    v.push(format!(
                        "only the newest {} of its {} n8n executions: retry the other {more} from the n8n pane under Runs",
                        p.n8n_executions.len(),
                        p.n8n_executions_total
                    ));
                }
                let rest = p.count - p.n8n_errors;
                if rest > 0 {
                    v.push(format!(
                        "{rest} of its {} errors have no n8n execution: retry their jobs from the Queue",
                        p.count
                    ));
                }
                v
            }
            Action::RetryFailed { select, .. } if self.view == ViewId::Errors => {
                vec![format!(
                    "these errors did not come from n8n: retries the failed jobs of {} in job_queue (database)",
                    crate::domain::sanitize::clean(
                        select.workflow_label.as_deref().unwrap_or("the workflow")
                    )
                )]
            }
            Action::CancelRun { run, .. } => {
                let exec = self
                    .runs
                    .list
                    .detail_row()
                    .filter(|r| r.id == *run)
                    .or_else(|| self.runs.list.table.get(run))
                    .and_then(|r| r.n8n_execution_id.clone())
                    .filter(|e| !e.trim().is_empty());
                match exec {
                    Some(e) => vec![format!(
                        "n8n execution {}: a Wait node with a resume_url is told \"cancelled\"; otherwise stop it in n8n (its API cannot)",
                        crate::domain::sanitize::clean(&e)
                    )],
                    None => vec![],
                }
            }
            _ => vec![],
        }
    }

    /// Marked rows the action leaves out, and the host a decision is sent to.
    fn left_out(&self, k: KeyAction, a: &Action) -> Vec<String> {
        let (marked, chosen, what) = match (self.view, a) {
            (ViewId::Queue, Action::RetryJobs { jobs }) => (
                self.queue.list.table.marked.len(),
                jobs.len(),
                "jobs are not failed",
            ),
            (ViewId::Queue, Action::CancelJobs { jobs }) => (
                self.queue.list.table.marked.len(),
                jobs.len(),
                "jobs are not pending or retrying",
            ),
            (ViewId::Workflows, Action::PauseWorkflows { workflows, .. }) => (
                self.workflows.table.marked.len(),
                workflows.len(),
                "workflows are not active",
            ),
            (ViewId::Workflows, Action::ResumeWorkflows { workflows }) => (
                self.workflows.table.marked.len(),
                workflows.len(),
                "workflows are not paused",
            ),
            (ViewId::Approvals, Action::Decide { .. } | Action::ResendDecision { .. }) => {
                let url = self
                    .approvals
                    .detail_row()
                    .or_else(|| self.approvals.table.selected())
                    .and_then(|r| r.resume_url.clone());
                return match url {
                    Some(u) => vec![format!(
                        "n8n is told at {}",
                        crate::domain::sanitize::clean(&url_host(&u))
                    )],
                    None if k != KeyAction::Resend => {
                        vec!["no resume_url: n8n is not told by opsdeck".into()]
                    }
                    None => vec![],
                };
            }
            _ => return vec![],
        };
        if marked > chosen {
            vec![format!(
                "{} of {marked} marked {what}: left out",
                marked - chosen
            )]
        } else {
            vec![]
        }
    }

    /// Keys while a dialog is open.
    pub(super) fn dialog_key(&mut self, k: crossterm::event::KeyEvent) -> Vec<Effect> {
        let Overlay::Dialog(d) = &mut self.overlay else {
            return vec![];
        };
        match d.key(k) {
            DialogOutcome::Stay => vec![],
            DialogOutcome::Cancel => {
                self.overlay = Overlay::None;
                self.toast("cancelled — nothing changed", false);
                vec![]
            }
            DialogOutcome::Submit(a) => match self.inflight.begin_once(Busy::Action) {
                Some(_) => vec![Effect::Act(a)],
                None => vec![],
            },
        }
    }

    /// A bulk retry's count arrived.
    pub(super) fn on_counted(&mut self, sel: &JobSelect, r: Result<i64, String>) -> Vec<Effect> {
        let Overlay::Dialog(d) = &mut self.overlay else {
            return vec![];
        };
        if d.counting() != Some(sel) {
            return vec![];
        }
        match r {
            Ok(0) => {
                let what = d.action.summary();
                self.overlay = Overlay::None;
                self.toast(format!("nothing to do: no job matches ({what})"), true);
            }
            Ok(n) => d.counted(n),
            Err(e) => {
                self.overlay = Overlay::None;
                self.toast(format!("cannot count the failed jobs: {e}"), true);
            }
        }
        vec![]
    }

    /// An action's result: close its dialog, say what happened, clear the marks it used, and
    /// re-read the view.
    pub(super) fn on_action_done(&mut self, r: ActionReport) -> Vec<Effect> {
        self.inflight.finish(Busy::Action);
        let decided = match &self.overlay {
            Overlay::Dialog(d) => match d.action {
                Action::Decide { request, .. } => Some(request),
                _ => None,
            },
            _ => None,
        };
        let from_alerts = matches!(
            &self.overlay,
            Overlay::Dialog(d) if matches!(d.action, Action::AlertAct { .. })
        );
        if matches!(self.overlay, Overlay::Dialog(_)) {
            // an acknowledgement goes back to the Alerts list it came from
            self.overlay = if from_alerts {
                Overlay::Alerts
            } else {
                Overlay::None
            };
        }
        if let (Some(id), Outcome::Ok) = (decided, r.outcome) {
            self.after_decision(id);
        }
        let (mark, warn) = match r.outcome {
            Outcome::Ok => ("✓", r.warning.is_some()),
            Outcome::Conflict => ("⚠", true),
            Outcome::Error | Outcome::Denied => ("✗", true),
        };
        let mut text = format!("{mark} {}", r.message);
        if let Some(w) = &r.warning {
            text.push_str(" — ");
            text.push_str(w);
        }
        self.toast_for(text, warn, if warn { 10 } else { 5 });
        if r.outcome == Outcome::Ok {
            self.clear_marks();
        }
        if from_alerts {
            return self.watch();
        }
        self.refresh_view()
    }

    fn clear_marks(&mut self) {
        match self.view {
            ViewId::Workflows => self.workflows.table.marked.clear(),
            ViewId::Queue => self.queue.list.table.marked.clear(),
            _ => {}
        }
    }
}

/// `scheme://host[:port]` of a URL (the path may hold tokens; the host is what the operator checks).
fn url_host(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(p) => match (p.host_str(), p.port()) {
            (Some(h), Some(port)) => format!("{}://{h}:{port}", p.scheme()),
            (Some(h), None) => format!("{}://{h}", p.scheme()),
            _ => "an unreadable URL".into(),
        },
        Err(_) => "an unreadable URL".into(),
    }
}
