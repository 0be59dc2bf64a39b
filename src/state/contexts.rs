//! The all-contexts overview (`:ctx`, `:contexts`): one line per context of the config — depth,
//! critical errors, pending approvals, open alerts, reachable or why not — each read on its
//! own (a dead one never holds up the others). The console reads them every
//! [`SWEEP_SECS`] in the background, so the status bar can say when another context needs a
//! look, and every [`OPEN_SECS`] while the overview is open; Enter switches to the chosen one.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect, Overlay};
use crate::domain::context::ContextLine;
use crate::domain::model::Ts;

/// How often the other contexts are read in the background.
pub const SWEEP_SECS: i64 = 30;
/// How often while the overview is open.
pub const OPEN_SECS: i64 = 10;

/// One context's place in the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub name: String,
    /// The last answer (kept while the next read is on its way).
    pub line: Option<ContextLine>,
    pub reading: bool,
    /// When the last answer came.
    pub at: Option<Ts>,
}

#[derive(Debug, Clone, Default)]
pub struct ContextsState {
    pub slots: Vec<Slot>,
    pub sel: usize,
}

impl ContextsState {
    /// The contexts, in name order (as the config's table holds them), none read yet.
    pub fn new(names: &[String]) -> ContextsState {
        ContextsState {
            slots: names
                .iter()
                .map(|n| Slot {
                    name: n.clone(),
                    line: None,
                    reading: false,
                    at: None,
                })
                .collect(),
            sel: 0,
        }
    }
}

impl App {
    /// `:ctx` with no name, `:contexts`: the all-contexts overview, read at once.
    pub fn open_contexts(&mut self) -> Vec<Effect> {
        if self.contexts.is_empty() {
            self.toast(
                "no contexts: the config has no [contexts.NAME] sections",
                true,
            );
            return vec![];
        }
        self.context_slots();
        let here = self.context.as_ref().map(|(n, _)| n.clone());
        self.others.sel = self
            .others
            .slots
            .iter()
            .position(|s| Some(&s.name) == here.as_ref())
            .unwrap_or(0);
        self.overlay = Overlay::Contexts;
        self.dirty = true;
        self.read_contexts(|_| true)
    }

    /// One slot per context of the config (made on first use, again if the names changed).
    fn context_slots(&mut self) {
        if self.others.slots.len() != self.contexts.len() {
            self.others = ContextsState::new(&self.contexts);
        }
    }

    /// Reads the contexts `due` picks that are not being read already.
    fn read_contexts(&mut self, due: impl Fn(&Slot) -> bool) -> Vec<Effect> {
        let mut fx = vec![];
        for s in self.others.slots.iter_mut() {
            if !s.reading && due(s) {
                s.reading = true;
                fx.push(Effect::ReadContext(s.name.clone()));
            }
        }
        fx
    }

    /// The clock: the contexts whose answer is older than the sweep (the open overview's,
    /// shorter). The context in use is read only while the overview is open (on a connection of
    /// its own, like the others).
    pub(super) fn contexts_tick(&mut self) -> Vec<Effect> {
        if self.contexts.is_empty() {
            return vec![];
        }
        self.context_slots();
        let every = if matches!(self.overlay, Overlay::Contexts) {
            OPEN_SECS
        } else {
            SWEEP_SECS
        };
        let now = self.now;
        let open = matches!(self.overlay, Overlay::Contexts);
        let here = self.context.as_ref().map(|(n, _)| n.clone());
        // in the background only the others (the one in use is this console's own reads)
        self.read_contexts(|s| {
            (open || Some(&s.name) != here.as_ref())
                && s.at.is_none_or(|t| (now - t).num_seconds() >= every)
        })
    }

    pub(super) fn on_context_read(&mut self, line: ContextLine) -> Vec<Effect> {
        if let Some(s) = self.others.slots.iter_mut().find(|s| s.name == line.name) {
            s.reading = false;
            s.at = Some(self.now);
            s.line = Some(line);
            self.dirty = true;
        }
        vec![]
    }

    /// The other contexts that want a look (unreachable, critical errors, open alerts), for
    /// the status bar.
    pub fn others_needing_a_look(&self) -> Vec<&ContextLine> {
        let here = self.context.as_ref().map(|(n, _)| n.as_str());
        self.others
            .slots
            .iter()
            .filter(|s| Some(s.name.as_str()) != here)
            .filter_map(|s| s.line.as_ref())
            .filter(|l| l.needs_a_look())
            .collect()
    }

    pub(super) fn contexts_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let n = self.others.slots.len();
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => self.overlay = Overlay::None,
            KeyCode::Down | KeyCode::Char('j') => {
                self.others.sel = (self.others.sel + 1).min(n.saturating_sub(1))
            }
            KeyCode::Up | KeyCode::Char('k') => self.others.sel = self.others.sel.saturating_sub(1),
            KeyCode::Char('r') => {
                self.dirty = true;
                return self.read_contexts(|_| true);
            }
            KeyCode::Enter => {
                if let Some(name) = self
                    .others
                    .slots
                    .get(self.others.sel)
                    .map(|s| s.name.clone())
                {
                    return self.switch_context(&name);
                }
            }
            _ => {}
        }
        self.dirty = true;
        vec![]
    }
}
