//! The control room's alerts, pure: what the watch read says crosses a line (judged by
//! `domain::alert`), the raises and clears to make, the alert bar, the bell, and the Alerts
//! list (`!` or `:alerts`) with acknowledge (`A`) and silence (`X`), each through the confirm
//! dialog with a comment.
//!
//! The watch reads what the rules need whatever view is on screen (the overview's numbers and
//! the hour's error patterns, plus the alerts the database holds), on every poll and on every
//! change to the tables it covers; one read at a time.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent};
use uuid::Uuid;

use super::{App, Busy, Effect, Overlay};
use crate::domain::action::Action;
use crate::domain::alert::{
    Alert, AlertRule, AlertRules, Facts, Firing, Level, Plan, Standing, evaluate, plan,
};
use crate::domain::model::{ErrorPattern, Overview, Ts};
use crate::domain::n8n_queue::Level as Verdict;

/// What one watch read found (answers [`Effect::Watch`]).
#[derive(Debug, Clone)]
pub struct Watched {
    pub overview: Result<Box<Overview>, String>,
    pub patterns: Result<Vec<ErrorPattern>, String>,
    /// The alerts the database holds (open, and raised or cleared in the last day); Err when
    /// this database keeps none (not migrated to 0015) or the read failed.
    pub alerts: Result<Vec<Alert>, String>,
}

/// The fewest seconds between two watches driven by changes.
pub const WATCH_GAP_S: i64 = 2;

/// The tables whose changes the watch reads again for.
pub const WATCH_TABLES: [&str; 6] = [
    "job_queue",
    "events",
    "approval_requests",
    "workflow_errors",
    "workflow_executions",
    "opsdeck_alerts",
];

#[derive(Debug, Default)]
pub struct AlertsState {
    pub rules: AlertRules,
    /// The alerts as last read, newest first.
    pub list: Vec<Alert>,
    pub loaded_at: Option<Ts>,
    /// Why the alerts cannot be stored or read here (not migrated, read failed).
    pub error: Option<String>,
    /// What fires now, by the last watch (shown even where the database keeps no alerts).
    pub firing: Vec<Firing>,
    false_since: HashMap<(AlertRule, String), Ts>,
    /// Each alert's standing as last shown: a new firing one, or one back from its silence,
    /// rings the bell once.
    shown: HashMap<Uuid, Standing>,
    first_read: bool,
    /// When the last watch was asked for, and whether a change since waits for the next slot.
    last_watch: Option<Ts>,
    watch_due: bool,
    /// A database outage to record once it answers again: (from, to).
    outage: Option<(Ts, Ts)>,
    /// The highlighted row of the Alerts list.
    pub sel: usize,
}

impl AlertsState {
    /// The alerts in the bar: firing (not acked, not silenced), worst first. Where the database
    /// keeps no alerts, what fires now (this console's own judgement).
    pub fn in_bar(&self, now: Ts) -> Vec<(Level, String, Option<Ts>)> {
        let mut v: Vec<(Level, String, Option<Ts>)> = if self.error.is_some() {
            self.firing
                .iter()
                .map(|f| (f.level, f.message.clone(), None))
                .collect()
        } else {
            self.list
                .iter()
                .filter(|a| a.standing(now) == Standing::Firing)
                .map(|a| (a.level, a.message.clone(), Some(a.raised_at)))
                .collect()
        };
        v.sort_by_key(|(l, _, t)| (std::cmp::Reverse(*l), std::cmp::Reverse(*t)));
        v
    }

    /// The Alerts list's rows: open ones first (firing, then silenced, then acked), cleared after.
    pub fn rows(&self, now: Ts) -> Vec<&Alert> {
        let mut v: Vec<&Alert> = self.list.iter().collect();
        v.sort_by_key(|a| {
            (
                a.standing(now),
                std::cmp::Reverse(a.level),
                std::cmp::Reverse(a.raised_at),
            )
        });
        v
    }

    pub fn selected(&self, now: Ts) -> Option<&Alert> {
        let r = self.rows(now);
        r.get(self.sel.min(r.len().saturating_sub(1))).copied()
    }

    /// The new standings at `now`: whether one should ring the bell (a new firing alert after
    /// the first read, or one back from its silence).
    fn restand(&mut self, now: Ts) -> bool {
        let mut ring = false;
        let mut next = HashMap::new();
        for a in &self.list {
            let s = a.standing(now);
            let before = self.shown.get(&a.id).copied();
            if s == Standing::Firing
                && before != Some(Standing::Firing)
                && (before.is_some() || !self.first_read)
            {
                ring = true;
            }
            next.insert(a.id, s);
        }
        self.shown = next;
        self.first_read = false;
        ring
    }
}

impl App {
    /// Reads what the alert rules need (one read at a time; a change meanwhile reads again).
    pub fn watch(&mut self) -> Vec<Effect> {
        if self.conn.is_lost() {
            return vec![];
        }
        self.alerts.last_watch = Some(self.now);
        self.alerts.watch_due = false;
        match self.inflight.begin(Busy::Watch) {
            Some(_) => vec![Effect::Watch],
            None => vec![],
        }
    }

    /// A change to a watched table: read at most once per [`WATCH_GAP_S`] (a burst of changes
    /// on a busy day costs every console one watch every two seconds, not one per change); a
    /// change inside the gap is read when the clock passes it.
    pub fn watch_changed(&mut self) -> Vec<Effect> {
        let recent = self
            .alerts
            .last_watch
            .is_some_and(|t| (0..WATCH_GAP_S).contains(&(self.now - t).num_seconds()));
        if recent {
            self.alerts.watch_due = true;
            vec![]
        } else {
            self.watch()
        }
    }

    fn n8n_facts(&self) -> (Option<(Ts, String)>, Option<String>) {
        let api = (self.n8n.configured && self.n8n.up == Some(false)).then(|| {
            (
                self.n8n.down_since.unwrap_or(self.now),
                self.n8n
                    .error
                    .as_ref()
                    .map(|e| e.full.clone())
                    .unwrap_or_else(|| "no answer".into()),
            )
        });
        let queue = if self.n8n_queue.configured {
            self.n8n_queue
                .verdict(self.now)
                .filter(|v| v.level == Verdict::Critical)
                .and_then(|v| v.reasons.first().cloned())
        } else {
            None
        };
        (api, queue)
    }

    /// Which rules this console can judge now.
    fn judged(&self, r: AlertRule) -> bool {
        match r {
            AlertRule::N8nDown => {
                self.alerts.rules.n8n_down
                    && ((self.n8n.configured && self.n8n.up.is_some())
                        || (self.n8n_queue.configured && self.n8n_queue.up.is_some()))
            }
            AlertRule::CriticalErrors => self.alerts.rules.critical_errors,
            AlertRule::DatabaseDown => false,
            _ => true,
        }
    }

    pub(super) fn on_watched(&mut self, w: Watched) -> Vec<Effect> {
        let again = self.inflight.finish(Busy::Watch);
        self.dirty = true;
        let mut fx = Vec::new();
        match w.alerts {
            Ok(list) => {
                self.alerts.list = list;
                self.alerts.error = None;
                self.alerts.loaded_at = Some(self.now);
            }
            Err(e) => self.alerts.error = Some(e),
        }
        let (Ok(o), Ok(p)) = (&w.overview, &w.patterns) else {
            // no facts: judge nothing (the connection state says why)
            if self.alerts.restand(self.now) && self.alerts.rules.bell {
                fx.push(Effect::Bell);
            }
            return fx;
        };
        let (n8n_down, n8n_queue_critical) = self.n8n_facts();
        let facts = Facts {
            overview: Some(o),
            patterns: p,
            n8n_down,
            n8n_queue_critical,
            now: Some(self.now),
        };
        self.alerts.firing = evaluate(&facts, &self.alerts.rules);
        if self.alerts.error.is_none() {
            let open: Vec<Alert> = self
                .alerts
                .list
                .iter()
                .filter(|a| a.cleared_at.is_none())
                .cloned()
                .collect();
            let judged: Vec<AlertRule> = AlertRule::ALL
                .into_iter()
                .filter(|r| self.judged(*r))
                .collect();
            let p: Plan = plan(
                &self.alerts.firing,
                &open,
                &mut self.alerts.false_since,
                |r| judged.contains(&r),
                self.now,
                self.alerts.rules.clear_after_s,
            );
            let outage = self.alerts.outage.take();
            if !p.is_empty() || outage.is_some() {
                fx.push(Effect::AlertSync(p, outage));
            }
        }
        if self.alerts.restand(self.now) && self.alerts.rules.bell {
            fx.push(Effect::Bell);
        }
        if again {
            fx.extend(self.watch());
        }
        fx
    }

    /// The alerts as read again after a sync.
    pub(super) fn on_alerts_read(&mut self, r: Result<Vec<Alert>, String>) -> Vec<Effect> {
        self.dirty = true;
        match r {
            Ok(list) => {
                self.alerts.list = list;
                self.alerts.error = None;
                self.alerts.loaded_at = Some(self.now);
            }
            Err(e) => self.alerts.error = Some(e),
        }
        if self.alerts.restand(self.now) && self.alerts.rules.bell {
            vec![Effect::Bell]
        } else {
            vec![]
        }
    }

    /// The clock moved: a silence that ended brings its alert back (and rings).
    pub(super) fn alerts_tick(&mut self) -> Vec<Effect> {
        let mut fx = if self.alerts.restand(self.now) && self.alerts.rules.bell {
            vec![Effect::Bell]
        } else {
            vec![]
        };
        if self.alerts.watch_due {
            fx.extend(self.watch_changed());
        }
        fx
    }

    /// The database answered again after being unreachable since `since`: the outage is
    /// recorded with the next sync.
    pub(super) fn alerts_reconnected(&mut self, since: Ts) {
        if self.alerts.rules.database_down {
            self.alerts.outage = Some((since, self.now));
        }
    }

    /// `!` / `:alerts`: the Alerts list.
    pub fn open_alerts(&mut self) -> Vec<Effect> {
        self.overlay = Overlay::Alerts;
        self.alerts.sel = 0;
        self.dirty = true;
        self.watch()
    }

    pub(super) fn alerts_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let n = self.alerts.rows(self.now).len();
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('!') => self.overlay = Overlay::None,
            KeyCode::Down | KeyCode::Char('j') => {
                self.alerts.sel = (self.alerts.sel + 1).min(n.saturating_sub(1))
            }
            KeyCode::Up | KeyCode::Char('k') => self.alerts.sel = self.alerts.sel.saturating_sub(1),
            KeyCode::Char('A') | KeyCode::Char('X') => {
                let silence = k.code == KeyCode::Char('X');
                let Some(a) = self.alerts.selected(self.now).cloned() else {
                    self.toast("no alert selected", true);
                    return vec![];
                };
                if a.cleared_at.is_some() {
                    self.toast("this alert has cleared: nothing to acknowledge", true);
                    return vec![];
                }
                let action = Action::AlertAct {
                    alert: a.id,
                    label: a.label(),
                    minutes: silence.then_some(self.alerts.rules.silence_min),
                    comment: None,
                };
                if self.mode == crate::domain::mode::Mode::ReadOnly {
                    self.toast("read-only: acknowledging and silencing are disabled", true);
                    return vec![];
                }
                if let Err(why) = self.access.may(action.name()) {
                    self.toast(format!("{}: {why}", action.summary()), true);
                    return vec![];
                }
                return self.open_dialog(action);
            }
            _ => {}
        }
        self.dirty = true;
        vec![]
    }
}
