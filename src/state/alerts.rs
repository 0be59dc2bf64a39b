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
    pub overview: Result<Box<Overview>, crate::domain::refresh::ReadError>,
    pub patterns: Result<Vec<ErrorPattern>, String>,
    /// The alerts the database holds (open, and raised or cleared in the last day); Err when
    /// this database keeps none (`missing`: not migrated to 0015) or the read failed.
    pub alerts: Result<Vec<Alert>, Unread>,
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

/// Why the alerts were not read.
#[derive(Debug, Clone, PartialEq)]
pub struct Unread {
    /// The database keeps no alerts (not migrated to 0015): each console judges on its own.
    pub missing: bool,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct AlertsState {
    pub rules: AlertRules,
    /// The alerts as last read, newest first.
    pub list: Vec<Alert>,
    pub loaded_at: Option<Ts>,
    /// Why the alerts cannot be stored or read here (not migrated, read failed).
    pub error: Option<String>,
    /// The database keeps no alerts: the bar shows this console's own judgement.
    pub missing: bool,
    /// What fires now, by the last watch (shown even where the database keeps no alerts).
    pub firing: Vec<Firing>,
    false_since: HashMap<(AlertRule, String), Ts>,
    /// Each alert's standing as last shown: a new firing one, or one back from its silence,
    /// rings the bell once.
    shown: HashMap<Uuid, Standing>,
    /// The alerts have been read once: what was open then rang nobody's bell here.
    read_once: bool,
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
        let mut v: Vec<(Level, String, Option<Ts>)> = if self.missing {
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

    /// The new standings at `now`: whether one should ring the bell (an alert firing that was
    /// not, or was not known, at the last look — after the first read: a console opened in the
    /// middle of an incident does not ring for what is already open).
    fn restand(&mut self, now: Ts, fresh_read: bool) -> bool {
        if !self.read_once {
            if !fresh_read {
                return false;
            }
            self.read_once = true;
            for a in &self.list {
                self.shown.insert(a.id, a.standing(now));
            }
            return false;
        }
        let mut ring = false;
        for a in &self.list {
            let s = a.standing(now);
            // an alert missing from one read and back in the next is not new
            let before = self.shown.insert(a.id, s);
            if s == Standing::Firing && before != Some(Standing::Firing) {
                ring = true;
            }
        }
        if self.shown.len() > 5_000 {
            let keep: std::collections::HashSet<Uuid> = self.list.iter().map(|a| a.id).collect();
            self.shown.retain(|id, _| keep.contains(id));
        }
        ring
    }

    fn took(&mut self, r: Result<Vec<Alert>, Unread>, now: Ts) -> bool {
        match r {
            Ok(list) => {
                self.list = list;
                self.error = None;
                self.missing = false;
                self.loaded_at = Some(now);
                true
            }
            Err(u) => {
                self.missing = u.missing;
                self.error = Some(u.why);
                false
            }
        }
    }
}

impl App {
    /// Reads what the alert rules need (one read at a time; a change meanwhile reads again).
    pub fn watch(&mut self) -> Vec<Effect> {
        if self.conn.is_lost() {
            return vec![];
        }
        self.watch_now()
    }

    /// A watch even while the connection is lost (the frozen screen's way to find out that
    /// the database is back).
    pub(super) fn watch_now(&mut self) -> Vec<Effect> {
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

    /// Whether this console judges the open alert `(rule, key)` now: its own line, and for n8n
    /// only what it watches (the API, the queue) once it has heard from it. Only what it judges
    /// is its to clear.
    fn judged(&self, r: AlertRule, key: &str) -> bool {
        if !crate::domain::alert::own_line(r, key, &self.alerts.rules) {
            return false;
        }
        match (r, key) {
            (AlertRule::N8nDown, "n8n") => self.n8n.configured && self.n8n.up.is_some(),
            (AlertRule::N8nDown, "n8n_queue") => {
                self.n8n_queue.configured && self.n8n_queue.up.is_some()
            }
            (AlertRule::N8nDown, _) => false,
            _ => true,
        }
    }

    pub(super) fn on_watched(&mut self, w: Watched) -> Vec<Effect> {
        let again = self.inflight.finish(Busy::Watch);
        self.dirty = true;
        let mut fx = Vec::new();
        // the watch reads whatever the view: the connection is judged by it too (a frozen
        // screen reads no view, and must still see the database go and come back)
        match &w.overview {
            Err(e) if e.conn => fx.extend(self.conn_failed(e.msg.clone())),
            // the connection stands: the rules wait for a read that works
            Err(e) => tracing::warn!(error = %e, "the watch's overview read failed"),
            Ok(_) => {
                let was_lost = self.conn.is_lost();
                self.conn_back();
                // back through the watch (no view read was due): the view catches up now,
                // unless the screen is frozen
                if was_lost && self.frozen.is_none() && !self.inflight.reading(self.view) {
                    fx.extend(self.refresh_view());
                }
            }
        }
        let fresh = self.alerts.took(w.alerts, self.now);
        let (Ok(o), Ok(p)) = (&w.overview, &w.patterns) else {
            // no facts: judge nothing (the connection state says why)
            if self.alerts.restand(self.now, fresh) && self.alerts.rules.bell {
                fx.push(Effect::Bell);
            }
            if again && !self.conn.is_lost() {
                fx.extend(self.watch());
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
        if !self.alerts.missing && self.alerts.error.is_none() {
            let open: Vec<Alert> = self
                .alerts
                .list
                .iter()
                .filter(|a| a.cleared_at.is_none())
                .cloned()
                .collect();
            let judged: Vec<(AlertRule, String)> = open
                .iter()
                .filter(|a| self.judged(a.rule, &a.key))
                .map(|a| (a.rule, a.key.clone()))
                .collect();
            let p: Plan = plan(
                &self.alerts.firing,
                &open,
                &mut self.alerts.false_since,
                |r, k| judged.iter().any(|(jr, jk)| *jr == r && jk == k),
                self.now,
                self.alerts.rules.clear_after_s,
            );
            let outage = self.alerts.outage.take();
            if !p.is_empty() || outage.is_some() {
                fx.push(Effect::AlertSync(p, outage));
            }
        }
        if self.alerts.restand(self.now, fresh) && self.alerts.rules.bell {
            fx.push(Effect::Bell);
        }
        if again {
            fx.extend(self.watch());
        }
        fx
    }

    /// The alerts as read again after a sync; an outage that could not be recorded is kept for
    /// the next one.
    pub(super) fn on_alerts_read(
        &mut self,
        r: Result<Vec<Alert>, Unread>,
        outage_left: Option<(Ts, Ts)>,
    ) -> Vec<Effect> {
        self.dirty = true;
        if let Some((from, to)) = outage_left {
            let (f, t) = match self.alerts.outage {
                Some((f2, t2)) => (from.min(f2), to.max(t2)),
                None => (from, to),
            };
            self.alerts.outage = Some((f, t));
        }
        let fresh = self.alerts.took(r, self.now);
        if self.alerts.restand(self.now, fresh) && self.alerts.rules.bell {
            vec![Effect::Bell]
        } else {
            vec![]
        }
    }

    /// The clock moved: a silence that ended brings its alert back (and rings).
    pub(super) fn alerts_tick(&mut self) -> Vec<Effect> {
        let mut fx = if self.alerts.restand(self.now, false) && self.alerts.rules.bell {
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
            let from = self.alerts.outage.map_or(since, |(f, _)| f.min(since));
            self.alerts.outage = Some((from, self.now));
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
