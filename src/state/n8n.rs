//! n8n beside the database: the last snapshot the poller brought (workflows, recent
//! executions, waiting executions as a hint), whether n8n is up, and since when it is down.
//! Pure: the poller (api::n8n::poll) sends [`N8nPolled`] values, which app.rs wraps in
//! `Msg::N8n`.

use crate::domain::action::Action;
use crate::domain::model::Ts;
use crate::domain::n8n::{N8nDown, N8nExecution, N8nPolled, N8nSnapshot, N8nWorkflow};
use crate::keymap::KeyAction;

use super::App;
use super::table::Width::{Fill, Fixed};
use super::table::{Column, col};
use crate::domain::refresh::ViewId;

/// The n8n pane's columns under Workflows (the pane is not sorted).
pub const N8N_WORKFLOW_COLUMNS: &[Column] = &[
    col("source", Fixed(6)),
    col("name", Fill(3)),
    col("status", Fixed(9)),
    col("n8n id", Fixed(18)),
    col("tags", Fill(1)),
    col("updated", Fixed(8)),
];

/// The n8n pane's columns under Runs (the pane is not sorted).
pub const N8N_EXECUTION_COLUMNS: &[Column] = &[
    col("source", Fixed(6)),
    col("started", Fixed(7)),
    col("status", Fixed(10)),
    col("workflow", Fill(3)),
    col("mode", Fixed(8)),
    col("n8n id", Fill(1)),
];

#[derive(Debug, Clone, Default)]
pub struct N8nState {
    /// n8n is configured (the poller runs); when false nothing n8n shows anywhere.
    pub configured: bool,
    /// The last good snapshot (kept while n8n is down, with its age).
    pub snapshot: Option<N8nSnapshot>,
    pub fetched_at: Option<Ts>,
    /// None until the first poll lands.
    pub up: Option<bool>,
    /// Since when n8n is down (the first failed poll after a good one).
    pub down_since: Option<Ts>,
    pub error: Option<N8nDown>,
    /// The n8n pane has the selection (Workflows/Runs: `n` toggles).
    pub focus: bool,
    pub wf_sel: usize,
    pub exec_sel: usize,
    /// n8n executions that a database run links (`n8n_execution_id`): listed with the runs,
    /// not again in the pane.
    pub linked: std::collections::HashSet<String>,
    /// The pane's executions: the snapshot's, less the linked ones.
    shown: Vec<N8nExecution>,
}

impl N8nState {
    /// The ids of the snapshot's executions (to ask the database which runs link them).
    pub fn execution_ids(&self) -> Vec<String> {
        self.snapshot
            .as_ref()
            .map(|s| s.executions.iter().map(|e| e.id.clone()).collect())
            .unwrap_or_default()
    }

    /// The database's answer: which of those executions a run links.
    pub fn set_linked(&mut self, ids: Vec<String>) {
        self.linked = ids.into_iter().collect();
        self.reshow();
    }

    fn reshow(&mut self) {
        self.shown = self
            .snapshot
            .as_ref()
            .map(|s| {
                s.executions
                    .iter()
                    .filter(|e| !self.linked.contains(&e.id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        self.clamp();
    }

    /// How many of the snapshot's executions are listed with the database runs instead.
    pub fn linked_hidden(&self) -> usize {
        self.snapshot
            .as_ref()
            .map_or(0, |s| s.executions.len() - self.shown.len())
    }

    pub fn apply(&mut self, p: N8nPolled) {
        match p.result {
            Ok(s) => {
                self.snapshot = Some(s);
                self.fetched_at = Some(p.at);
                self.up = Some(true);
                self.down_since = None;
                self.error = None;
            }
            Err(e) => {
                if self.up != Some(false) {
                    self.down_since = Some(p.at);
                }
                self.up = Some(false);
                self.error = Some(e);
            }
        }
        self.reshow();
    }

    pub fn workflows(&self) -> &[N8nWorkflow] {
        self.snapshot.as_ref().map_or(&[], |s| &s.workflows)
    }
    /// The executions the pane lists: n8n's recent ones that no database run links.
    pub fn executions(&self) -> &[N8nExecution] {
        &self.shown
    }
    pub fn waiting(&self) -> &[N8nExecution] {
        self.snapshot.as_ref().map_or(&[], |s| &s.waiting)
    }

    /// The workflow's name for an execution row.
    pub fn workflow_name(&self, id: Option<&str>) -> Option<&str> {
        let id = id?;
        self.workflows()
            .iter()
            .find(|w| w.id == id)
            .map(|w| w.name.as_str())
    }

    pub fn selected_workflow(&self) -> Option<&N8nWorkflow> {
        self.workflows().get(self.wf_sel)
    }
    pub fn selected_execution(&self) -> Option<&N8nExecution> {
        self.executions().get(self.exec_sel)
    }

    /// Moves the pane's selection in `view` by `d` rows.
    pub fn move_sel(&mut self, view: ViewId, d: isize) {
        let n = match view {
            ViewId::Workflows => self.workflows_len(),
            ViewId::Runs => self.executions_len(),
            _ => return,
        };
        let sel = if view == ViewId::Workflows {
            &mut self.wf_sel
        } else {
            &mut self.exec_sel
        };
        *sel = (*sel as isize + d).clamp(0, n.saturating_sub(1) as isize) as usize;
    }

    fn workflows_len(&self) -> usize {
        self.workflows().len()
    }
    fn executions_len(&self) -> usize {
        self.executions().len()
    }

    fn clamp(&mut self) {
        self.wf_sel = self.wf_sel.min(self.workflows_len().saturating_sub(1));
        self.exec_sel = self.exec_sel.min(self.executions_len().saturating_sub(1));
    }

    /// "n8n ● up" / "n8n down 35s (cannot connect)" / "n8n …" before the first poll.
    pub fn status_text(&self, now: Ts) -> Option<String> {
        if !self.configured {
            return None;
        }
        Some(match (self.up, &self.error) {
            (None, _) => "n8n …".into(),
            (Some(true), _) => "n8n ● up".into(),
            (Some(false), e) => {
                let secs = self
                    .down_since
                    .map(|t| (now - t).num_seconds().max(0))
                    .unwrap_or(0);
                let why = e.as_ref().map_or("unknown", |e| e.short.as_str());
                let ago = match secs {
                    0..60 => format!("{secs}s"),
                    60..3600 => format!("{}m", secs / 60),
                    _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
                };
                format!("n8n down {ago} ({why})")
            }
        })
    }
}

impl App {
    /// Whether the n8n pane of the current view has the selection.
    pub fn n8n_focused(&self) -> bool {
        self.n8n.configured
            && self.n8n.focus
            && matches!(self.view, ViewId::Workflows | ViewId::Runs)
    }

    /// The n8n action for the selected n8n row and a mutating key, for the confirm dialog:
    /// Workflows: pause (deactivate an active workflow; `reason` is the pause reason, required)
    /// and resume (activate); Runs: retry a failed execution. None when the n8n pane does not
    /// have the selection, the key means nothing there, or the row is not in a state the
    /// action applies to (the caller toasts why via [`App::n8n_action_refusal`]).
    pub fn n8n_action_for_selection(&self, key: KeyAction, reason: Option<&str>) -> Option<Action> {
        if !self.n8n_focused() {
            return None;
        }
        match (self.view, key) {
            (ViewId::Workflows, KeyAction::Pause | KeyAction::Resume) => {
                let w = self.n8n.selected_workflow()?;
                let active = key == KeyAction::Resume;
                if w.active == active || w.is_archived {
                    return None;
                }
                Some(Action::N8nSetActive {
                    workflow: w.id.clone(),
                    label: w.name.clone(),
                    active,
                    reason: reason.map(str::to_string),
                })
            }
            (ViewId::Runs, KeyAction::Retry) => {
                let e = self.n8n.selected_execution()?;
                if !e.retryable() {
                    return None;
                }
                let wf = self.n8n.workflow_name(e.workflow_id.as_deref());
                Some(Action::N8nRetry {
                    execution: e.id.clone(),
                    label: match wf {
                        Some(n) => format!("{} of {n}", e.id),
                        None => e.id.clone(),
                    },
                })
            }
            _ => None,
        }
    }

    /// Why [`App::n8n_action_for_selection`] gave nothing, for a toast.
    pub fn n8n_action_refusal(&self, key: KeyAction) -> Option<String> {
        if !self.n8n_focused() {
            return None;
        }
        match (self.view, key) {
            (ViewId::Workflows, KeyAction::Pause | KeyAction::Resume) => {
                let Some(w) = self.n8n.selected_workflow() else {
                    return Some("no n8n workflow selected".into());
                };
                if w.is_archived {
                    return Some("n8n workflow is archived".into());
                }
                (w.active == (key == KeyAction::Resume)).then(|| {
                    format!(
                        "n8n workflow is already {}",
                        if w.active { "active" } else { "inactive" }
                    )
                })
            }
            (ViewId::Runs, KeyAction::Retry) => match self.n8n.selected_execution() {
                None => Some("no n8n execution selected".into()),
                Some(e) if !e.retryable() => Some(format!(
                    "n8n execution {} is {}: only failed executions can be retried",
                    e.id,
                    e.status_str()
                )),
                _ => None,
            },
            _ => Some("not available on an n8n row".into()),
        }
    }
}
