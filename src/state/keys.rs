//! Key handling: overlays (palette, help), the filter line, then the keymap's actions.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::palette::Command;
use super::update::FILTER_DEBOUNCE;
use super::*;
use crate::keymap::KeyAction;

impl App {
    pub(super) fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.kind == KeyEventKind::Release {
            return vec![];
        }
        self.dirty = true;
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            return self.quit();
        }
        if matches!(self.overlay, Overlay::Dialog(_)) {
            return self.dialog_key(k);
        }
        if matches!(self.overlay, Overlay::Broadcast(_)) {
            return self.broadcast_key(k);
        }
        if matches!(self.overlay, Overlay::Awaiting(_)) {
            return self.awaiting_key(k);
        }
        if matches!(self.overlay, Overlay::Alerts) {
            return self.alerts_key(k);
        }
        if matches!(self.overlay, Overlay::Timeline(_)) {
            return self.timeline_key(k);
        }
        if matches!(self.overlay, Overlay::Contexts) {
            return self.contexts_key(k);
        }
        if let Overlay::Palette(p) = &mut self.overlay {
            match k.code {
                KeyCode::Esc => self.overlay = Overlay::None,
                KeyCode::Enter => {
                    let cmd = p.choose();
                    self.overlay = Overlay::None;
                    return match cmd {
                        Some(c) => self.run_command(c),
                        None => {
                            self.toast("no such command", true);
                            vec![]
                        }
                    };
                }
                KeyCode::Tab => p.complete(),
                KeyCode::Up | KeyCode::BackTab => p.move_sel(-1),
                KeyCode::Down => p.move_sel(1),
                KeyCode::Backspace => p.backspace(),
                KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => p.push(c),
                _ => {}
            }
            return vec![];
        }
        if let Overlay::Help { scroll } = &mut self.overlay {
            match k.code {
                KeyCode::Down | KeyCode::Char('j') => *scroll += 1,
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                _ => self.overlay = Overlay::None,
            }
            return vec![];
        }
        if self.editing_filter() {
            return self.filter_key(k);
        }
        // n: the n8n pane of Workflows/Runs takes (or gives back) the selection
        if self.n8n.configured
            && matches!(self.view, ViewId::Workflows | ViewId::Runs)
            && k.code == KeyCode::Char('n')
            && k.modifiers.is_empty()
        {
            self.n8n.focus = !self.n8n.focus;
            return vec![];
        }
        match self.keymap.lookup(self.view.section(), &k) {
            Some(a) => self.on_action(a),
            None => vec![],
        }
    }

    fn filter_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let v = self.view;
        let Some(l) = self.list_mut(v) else {
            return vec![];
        };
        let f = l.filter_mut();
        match k.code {
            KeyCode::Esc => {
                f.text.clear();
                f.editing = false;
            }
            KeyCode::Enter | KeyCode::Down | KeyCode::Up | KeyCode::Tab => f.editing = false,
            KeyCode::Backspace => {
                f.text.pop();
            }
            KeyCode::Char(c) if !c.is_control() && !k.modifiers.contains(KeyModifiers::CONTROL) => {
                f.text.push(c)
            }
            _ => return vec![],
        }
        self.filter_changed(v)
    }

    /// The filter text changed: narrow the loaded rows now, refetch after a pause.
    fn filter_changed(&mut self, v: ViewId) -> Vec<Effect> {
        let Some(l) = self.list_mut(v) else {
            return vec![];
        };
        l.apply_query();
        let f = l.filter_mut();
        f.seq += 1;
        let seq = f.seq;
        if v.filter_in_db() {
            vec![Effect::Later(
                FILTER_DEBOUNCE,
                LaterMsg::FilterSettled(v, seq),
            )]
        } else {
            vec![]
        }
    }

    fn run_command(&mut self, c: Command) -> Vec<Effect> {
        match c {
            Command::Go(v) => self.switch(v),
            Command::Quit => self.quit(),
            Command::Help => {
                self.overlay = Overlay::Help { scroll: 0 };
                vec![]
            }
            Command::Refresh => self.refresh_view(),
            Command::Broadcast => self.open_broadcast(),
            Command::Awaiting => self.open_awaiting(),
            Command::Alerts => self.open_alerts(),
            Command::Freeze => self.toggle_freeze(),
            Command::Timeline => self.open_timeline(),
            Command::Export(path) if path.is_empty() => {
                self.toast("export: type the file after it (:export jobs.csv)", true);
                vec![]
            }
            Command::Export(path) => self.export_list(&path),
            Command::Context(name) if name.is_empty() => self.open_contexts(),
            Command::Context(name) => self.switch_context(&name),
            Command::Theme(name) => {
                match crate::theme::Theme::builtin(&name) {
                    Some(t) => self.theme = t,
                    None => self.toast(format!("no theme '{name}'"), true),
                }
                vec![]
            }
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        vec![Effect::Quit]
    }

    /// Shows another view and reads it.
    pub fn switch(&mut self, v: ViewId) -> Vec<Effect> {
        self.overlay = Overlay::None;
        if v == self.view {
            return vec![];
        }
        self.view = v;
        self.refresh_view()
    }

    fn on_action(&mut self, a: KeyAction) -> Vec<Effect> {
        use KeyAction::*;
        let v = self.view;
        match a {
            Quit => self.quit(),
            Help => {
                self.overlay = Overlay::Help { scroll: 0 };
                vec![]
            }
            Palette => {
                self.overlay = Overlay::Palette(super::Palette::new());
                vec![]
            }
            Filter => {
                if let Some(l) = self.list_mut(v)
                    && !l.detail_open()
                {
                    l.filter_mut().editing = true;
                }
                vec![]
            }
            NextView => self.switch(ViewId::ALL[(v.index() + 1) % 9]),
            PrevView => self.switch(ViewId::ALL[(v.index() + 8) % 9]),
            GoOverview | GoWorkflows | GoRuns | GoQueue | GoErrors | GoCapacity
            | GoReconciliation | GoApprovals | GoAudit => {
                let i = [
                    GoOverview,
                    GoWorkflows,
                    GoRuns,
                    GoQueue,
                    GoErrors,
                    GoCapacity,
                    GoReconciliation,
                    GoApprovals,
                    GoAudit,
                ]
                .iter()
                .position(|x| *x == a)
                .unwrap_or(0);
                self.switch(ViewId::ALL[i])
            }
            FailedJobs => self.failed_jobs(),
            Back => self.back(),
            Open => self.open(),
            Up => self.nav(Nav::Up),
            Down => self.nav(Nav::Down),
            PageUp => self.nav(Nav::PageUp),
            PageDown => self.nav(Nav::PageDown),
            Top => self.nav(Nav::Top),
            Bottom => self.nav(Nav::Bottom),
            Sort => {
                if v == ViewId::Reconciliation && self.recon.list.detail.is_some() {
                    self.recon.discrepancies.cycle_sort();
                } else if let Some(l) = self.list_mut(v) {
                    l.cycle_sort();
                }
                vec![]
            }
            Refresh => self.refresh_view(),
            Broadcast => self.open_broadcast(),
            Awaiting => self.open_awaiting(),
            Alerts => self.open_alerts(),
            Freeze => self.toggle_freeze(),
            NextPending => self.step_pending(true),
            PrevPending => self.step_pending(false),
            Mark => {
                if let Some(l) = self.list_mut(v) {
                    l.toggle_mark();
                }
                vec![]
            }
            other if other.is_mutating() => self.on_mutating(other),
            other => {
                if self.mode == Mode::ReadOnly {
                    self.toast(
                        format!("read-only: {} is disabled", other.description()),
                        true,
                    );
                } else {
                    self.toast(format!("{}: not available yet", other.description()), true);
                }
                vec![]
            }
        }
    }

    /// The failed jobs, newest first: the Queue filtered on `status:failed` in its natural order
    /// with the top row selected — so the newest failed job is `f` then `R` from anywhere.
    fn failed_jobs(&mut self) -> Vec<Effect> {
        self.overlay = Overlay::None;
        let l = &mut self.queue.list;
        l.close();
        let f = l.filter_mut();
        f.text = "status:failed".into();
        f.editing = false;
        l.table.sort = 0;
        l.apply_query();
        l.table.top();
        self.view = ViewId::Queue;
        self.request(ViewId::Queue, LoadKind::Main)
    }

    fn back(&mut self) -> Vec<Effect> {
        let v = self.view;
        let Some(l) = self.list_mut(v) else {
            return vec![];
        };
        if l.close() {
            if v == ViewId::Runs {
                self.runs.detail = None;
            }
            return self.refresh_view();
        }
        if !l.filter().text.is_empty() {
            l.filter_mut().text.clear();
            let mut fx = self.filter_changed(v);
            if v.filter_in_db() {
                fx = self.request(v, LoadKind::Main);
            }
            return fx;
        }
        if v == ViewId::Runs && self.runs.workflow.take().is_some() {
            return self.request(v, LoadKind::Main);
        }
        vec![]
    }

    fn open(&mut self) -> Vec<Effect> {
        let v = self.view;
        match v {
            ViewId::Overview => {
                // broadcasts have no view of their own: their tile opens the Audit view on them
                if TILES[self.overview.tile.min(TILES.len() - 1)].0 == overview::BROADCASTS_TILE {
                    let f = self.audit.filter_mut();
                    f.text = "broadcast.".into();
                    self.audit.apply_query();
                }
                self.switch(self.overview.target())
            }
            ViewId::Workflows => {
                let Some(w) = self.workflows.table.selected() else {
                    return vec![];
                };
                let wf = (
                    w.workflow.id,
                    crate::domain::sanitize::clean(&w.workflow.name),
                );
                self.runs.workflow = Some(wf);
                self.runs.list.detail = None;
                self.runs.detail = None;
                if self.view == ViewId::Runs {
                    return self.request(ViewId::Runs, LoadKind::Main);
                }
                self.switch(ViewId::Runs)
            }
            ViewId::Runs => {
                if self.runs.list.open() {
                    self.runs.detail = None;
                    self.request(v, LoadKind::Detail)
                } else {
                    vec![]
                }
            }
            ViewId::Queue => {
                if self.queue.list.open() {
                    self.queue.full = None;
                    self.queue.full_at = None;
                    self.request(v, LoadKind::Detail)
                } else {
                    vec![]
                }
            }
            ViewId::Reconciliation => {
                if self.recon.list.open() {
                    self.recon.discrepancies = super::recon::ReconState::default().discrepancies;
                    self.request(v, LoadKind::Detail)
                } else {
                    vec![]
                }
            }
            _ => {
                if let Some(l) = self.list_mut(v) {
                    l.open();
                }
                vec![]
            }
        }
    }

    fn nav(&mut self, n: Nav) -> Vec<Effect> {
        let v = self.view;
        if self.n8n_focused() {
            let d = match n {
                Nav::Up => -1,
                Nav::Down => 1,
                Nav::PageUp => -10,
                Nav::PageDown => 10,
                Nav::Top => isize::MIN / 2,
                Nav::Bottom => isize::MAX / 2,
            };
            self.n8n.move_sel(v, d);
            return vec![];
        }
        if v == ViewId::Overview {
            match n {
                Nav::Up => self.overview.move_tile(-1),
                Nav::Down => self.overview.move_tile(1),
                Nav::Top => self.overview.tile = 0,
                Nav::Bottom => self.overview.tile = TILES.len() - 1,
                _ => {}
            }
            return vec![];
        }
        if v == ViewId::Reconciliation && self.recon.list.detail.is_some() {
            let t = &mut self.recon.discrepancies;
            match n {
                Nav::Up => t.move_by(-1),
                Nav::Down => t.move_by(1),
                Nav::PageUp => t.page(false),
                Nav::PageDown => t.page(true),
                Nav::Top => {
                    t.top();
                    false
                }
                Nav::Bottom => t.bottom(),
            };
            return vec![];
        }
        let more = self.list_mut(v).is_some_and(|l| l.nav(n));
        if more {
            self.request(v, LoadKind::More)
        } else {
            vec![]
        }
    }
}
