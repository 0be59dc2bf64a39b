//! The control room's reading aids, pure: the approval inbox (after a decision the next
//! pending request opens; `n` / `p` step through them, with the count left), freeze (`Z`:
//! nothing the refreshes read moves rows under the cursor until `Z` again) and `:export PATH`
//! (the list as shown, with its filter, to a new .csv or .json file).

use crossterm::event::{KeyCode, KeyEvent};
use uuid::Uuid;

use super::{App, Effect, Overlay};
use crate::domain::model::Ts;
use crate::domain::refresh::ViewId;

impl App {
    /// The pending requests of the Approvals list, in its order.
    pub fn pending_approvals(&self) -> Vec<Uuid> {
        let t = &self.approvals.table;
        t.window(0, t.len())
            .filter(|(_, a)| a.status == "pending")
            .map(|(_, a)| a.id)
            .collect()
    }

    /// How many pending requests are left besides the open one (the inbox's "N left").
    pub fn pending_left(&self) -> usize {
        let open = self.approvals.detail;
        self.pending_approvals()
            .into_iter()
            .filter(|id| Some(*id) != open)
            .count()
    }

    /// `n` / `p` in Approvals: the next (previous) pending request, opened when a detail is open.
    pub fn step_pending(&mut self, forward: bool) -> Vec<Effect> {
        let from = self
            .approvals
            .detail
            .or_else(|| self.approvals.table.selected_key().copied());
        match self.neighbour(from, forward) {
            Some(id) => {
                self.approvals.table.select_key(&id);
                if self.approvals.detail.is_some() {
                    self.approvals.detail = Some(id);
                    self.approvals.scroll = Default::default();
                }
            }
            None => self.toast(
                if forward {
                    "no pending request after this one"
                } else {
                    "no pending request before this one"
                },
                false,
            ),
        }
        self.dirty = true;
        vec![]
    }

    /// The pending request after (before) `from` in list order, wrapping round; never `from`.
    fn neighbour(&self, from: Option<Uuid>, forward: bool) -> Option<Uuid> {
        let t = &self.approvals.table;
        let all: Vec<(Uuid, bool)> = t
            .window(0, t.len())
            .map(|(_, a)| (a.id, a.status == "pending"))
            .collect();
        let n = all.len();
        if n == 0 {
            return None;
        }
        let start = from
            .and_then(|f| all.iter().position(|(id, _)| *id == f))
            .unwrap_or(if forward { n - 1 } else { 0 });
        (1..=n)
            .map(|k| {
                if forward {
                    (start + k) % n
                } else {
                    (start + n - k % n) % n
                }
            })
            .map(|i| all[i])
            .find(|(id, pending)| *pending && Some(*id) != from)
            .map(|(id, _)| id)
    }

    /// A decision on `decided` went through: the next pending request opens (the inbox), or the
    /// list comes back when none is left.
    pub(super) fn after_decision(&mut self, decided: Uuid) {
        if self.view != ViewId::Approvals || self.approvals.detail != Some(decided) {
            return;
        }
        match self.neighbour(Some(decided), true) {
            Some(next) => {
                self.approvals.table.select_key(&next);
                self.approvals.detail = Some(next);
                self.approvals.scroll = Default::default();
            }
            None => {
                self.approvals.detail = None;
                self.toast("inbox empty: no pending request left", false);
            }
        }
    }

    /// `Z`: freeze the screen, or catch up.
    pub fn toggle_freeze(&mut self) -> Vec<Effect> {
        self.dirty = true;
        match self.frozen.take() {
            Some(_) => self.refresh_view(),
            None => {
                self.frozen = Some(self.now);
                vec![]
            }
        }
    }

    /// `:export PATH`: the current list, with its filter, as CSV or JSON (by the extension).
    pub fn export_list(&mut self, path: &str) -> Vec<Effect> {
        use crate::domain::export::{Format, to_csv, to_json};
        let path = path.trim();
        let Some(fmt) = Format::of_path(path) else {
            self.toast("export: name a .csv or .json file (:export jobs.csv)", true);
            return vec![];
        };
        let v = self.view;
        let Some(l) = self.list(v) else {
            self.toast(
                "export: the Overview has no list — go to a list view first",
                true,
            );
            return vec![];
        };
        let rows = l.export();
        let filter = l.filter().text.clone();
        let content = match fmt {
            Format::Csv => to_csv(&rows),
            Format::Json => to_json(v.command(), &filter, &self.now.to_rfc3339(), &rows),
        };
        vec![Effect::Export {
            path: path.to_string(),
            content,
            rows: rows.len(),
        }]
    }

    pub(super) fn on_exported(&mut self, r: Result<(String, usize), String>) -> Vec<Effect> {
        match r {
            Ok((path, n)) if self.list(self.view).is_some_and(|l| l.has_more()) => self.toast_for(
                format!(
                    "exported the {n} rows loaded to {path}; more match — scroll to load them, or `opsdeck export`"
                ),
                true,
                8,
            ),
            Ok((path, n)) => self.toast_for(format!("exported {n} rows to {path}"), false, 6),
            Err(e) => self.toast_for(format!("export failed: {e}"), true, 10),
        }
        vec![]
    }

    /// `:timeline`: the last two hours, in time order (read when opened; `r` reads again).
    pub fn open_timeline(&mut self) -> Vec<Effect> {
        self.overlay = Overlay::Timeline(Box::default());
        self.dirty = true;
        vec![Effect::Timeline(
            self.now - chrono::Duration::hours(TIMELINE_HOURS),
            self.now,
        )]
    }

    pub(super) fn on_timeline(
        &mut self,
        r: Result<(Vec<crate::domain::timeline::Entry>, Vec<String>), String>,
    ) -> Vec<Effect> {
        if let Overlay::Timeline(u) = &mut self.overlay {
            match r {
                Ok((entries, missing)) => {
                    // newest at the bottom, where the view starts
                    u.top = entries.len().saturating_sub(1);
                    u.entries = Some(entries);
                    u.missing = missing;
                    u.error = None;
                }
                Err(e) => u.error = Some(e),
            }
            self.dirty = true;
        }
        vec![]
    }

    pub(super) fn timeline_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let Overlay::Timeline(u) = &mut self.overlay else {
            return vec![];
        };
        let n = u.entries.as_ref().map_or(0, Vec::len);
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => self.overlay = Overlay::None,
            KeyCode::Char('r') => return self.open_timeline(),
            KeyCode::Down | KeyCode::Char('j') => u.top = (u.top + 1).min(n.saturating_sub(1)),
            KeyCode::Up | KeyCode::Char('k') => u.top = u.top.saturating_sub(1),
            KeyCode::PageDown => u.top = (u.top + 20).min(n.saturating_sub(1)),
            KeyCode::PageUp => u.top = u.top.saturating_sub(20),
            KeyCode::Char('g') | KeyCode::Home => u.top = 0,
            KeyCode::Char('G') | KeyCode::End => u.top = n.saturating_sub(1),
            _ => {}
        }
        self.dirty = true;
        vec![]
    }

    /// `:ctx NAME`: close the console and open it on that context (the names are the config's).
    pub fn switch_context(&mut self, name: &str) -> Vec<Effect> {
        if self.contexts.is_empty() {
            self.toast(
                "no contexts: the config has no [contexts.NAME] sections",
                true,
            );
            return vec![];
        }
        if !self.contexts.iter().any(|c| c == name) {
            self.toast(
                format!("no context '{name}': {}", self.contexts.join(", ")),
                true,
            );
            return vec![];
        }
        if self.context.as_ref().is_some_and(|(c, _)| c == name) {
            self.toast(format!("already on {name}"), false);
            return vec![];
        }
        self.switch_to = Some(name.to_string());
        self.quit = true;
        vec![Effect::Quit]
    }

    /// Since when the screen is frozen.
    pub fn frozen_since(&self) -> Option<Ts> {
        self.frozen
    }
}

/// How far back `:timeline` reads.
pub const TIMELINE_HOURS: i64 = 2;

/// The timeline screen: the entries once read, and the line the view keeps in sight.
#[derive(Debug, Clone, Default)]
pub struct TimelineUi {
    pub entries: Option<Vec<crate::domain::timeline::Entry>>,
    pub missing: Vec<String>,
    pub error: Option<String>,
    /// The selected line (the view scrolls to keep it in sight; starts at the newest).
    pub top: usize,
}
