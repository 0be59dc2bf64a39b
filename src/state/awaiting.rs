//! Broadcasts awaiting a second operator (four-eyes rule), pure: the status-bar count, the
//! approval screen (`B` or `:broadcasts`: the list, one broadcast opened with its level, scope,
//! message, audience and author; approve — typed name for critical — or cancel), and the
//! answers of approvals and cancels. The author's own approval is refused here with the reason
//! (the api refuses it too).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use uuid::Uuid;

use super::broadcast::{BcEffect, BroadcastUi};
use super::{App, Busy, Effect, Overlay};
use crate::domain::broadcast::Level;
use crate::domain::broadcast::{Decision, Waiting};
use crate::domain::mode::Mode;

/// A question on the approval screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// y / n (levels below critical).
    Approve,
    /// Critical: the event or venue name, as typed so far.
    TypeName(String),
    /// y / n.
    Cancel,
}

#[derive(Debug, Clone, Default)]
pub struct AwaitUi {
    /// The highlighted row of the list.
    pub sel: usize,
    /// The opened broadcast. A copy: it stays on screen when another console approves or
    /// cancels it meanwhile (the screen then says so, and an approval answers who was first).
    pub open: Option<Waiting>,
    pub confirm: Option<Confirm>,
    /// How the last approve / cancel went.
    pub result: Option<Result<Box<Decision>, String>>,
    /// Why a key did nothing (own broadcast, name mismatch, read-only).
    pub note: Option<String>,
}

impl AwaitUi {
    /// An approve / cancel of the opened broadcast is on its way.
    pub fn deciding(&self, inflight: &super::InFlight) -> bool {
        self.open
            .as_ref()
            .is_some_and(|o| inflight.busy(Busy::Decide(o.id)))
    }

    /// Whether the opened broadcast is still in the awaiting list `now_waiting`.
    pub fn still_waiting(&self, now_waiting: &[Waiting]) -> bool {
        self.open
            .as_ref()
            .is_some_and(|o| now_waiting.iter().any(|w| w.id == o.id))
    }
}

fn fx(e: BcEffect) -> Vec<Effect> {
    vec![Effect::Broadcast(e)]
}

impl App {
    /// Reads the broadcasts awaiting approval (one read at a time; a change meanwhile reads
    /// again when it lands).
    pub fn awaiting_refresh(&mut self) -> Vec<Effect> {
        if self.conn.is_lost() {
            return vec![];
        }
        match self.inflight.begin(Busy::Awaiting) {
            Some(_) => fx(BcEffect::Awaiting),
            None => vec![],
        }
    }

    /// `B` / `:broadcasts`: the approval screen.
    pub fn open_awaiting(&mut self) -> Vec<Effect> {
        self.overlay = Overlay::Awaiting(Box::default());
        self.awaiting_refresh()
    }

    pub(super) fn on_awaiting(&mut self, r: Result<Vec<Waiting>, String>) -> Vec<Effect> {
        let again = self.inflight.finish(Busy::Awaiting);
        match r {
            Ok(v) => {
                self.awaiting = v;
                self.awaiting_error = None;
            }
            // the last list stays; the screen says it could not be read
            Err(e) => self.awaiting_error = Some(e),
        }
        let n = self.awaiting.len();
        if let Overlay::Awaiting(u) = &mut self.overlay {
            u.sel = u.sel.min(n.saturating_sub(1));
        }
        if again {
            return self.awaiting_refresh();
        }
        vec![]
    }

    pub(super) fn on_decided(
        &mut self,
        id: Uuid,
        approve: bool,
        r: Result<Box<Decision>, String>,
    ) -> Vec<Effect> {
        self.inflight.finish(Busy::Decide(id));
        match &r {
            Ok(d) => self.toast(d.message.clone(), !d.is_ok()),
            Err(e) => self.toast(e.clone(), true),
        }
        let mut out = self.awaiting_refresh();
        match &mut self.overlay {
            Overlay::Broadcast(u) if u.broadcast_id() == Some(id) => {
                u.decision = Some(r);
                out.push(Effect::Broadcast(BcEffect::Progress(id)));
            }
            Overlay::Awaiting(u) if u.open.as_ref().is_some_and(|o| o.id == id) => {
                let approved = approve && matches!(&r, Ok(d) if d.is_ok());
                // follow it: the progress view of the broadcast just approved, with the spare
                // key for its follow-ups (app.rs hands a new one over after every message;
                // without one, the approval's answer stays on this screen)
                let key = approved.then(|| self.spare_key.take()).flatten();
                if let Some(key) = key {
                    let level = u
                        .open
                        .as_ref()
                        .and_then(|o| Level::parse(&o.level).ok())
                        .unwrap_or(Level::Critical);
                    let mut b = BroadcastUi::watching(id, level, key);
                    b.decision = Some(r);
                    self.overlay = Overlay::Broadcast(Box::new(b));
                    out.push(Effect::Broadcast(BcEffect::Progress(id)));
                } else {
                    u.result = Some(r);
                }
            }
            _ => {}
        }
        out
    }

    pub(super) fn awaiting_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        // where roles decide, the four-eyes rule compares logins (the database does)
        let me = match (&self.access.login, self.access.by_roles()) {
            (Some(l), true) => l.clone(),
            _ => self.operator.clone(),
        };
        let read_only = self.mode == Mode::ReadOnly;
        let approve_denied = self.access.may("broadcast.approve").err();
        let cancel_denied = self.access.may("broadcast.cancel").err();
        let list = self.awaiting.clone();
        let Overlay::Awaiting(u) = &mut self.overlay else {
            return vec![];
        };
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(c) = u.confirm.clone() {
            let Some(open) = u.open.clone() else {
                u.confirm = None;
                return vec![];
            };
            match c {
                Confirm::TypeName(mut typed) => match k.code {
                    KeyCode::Esc => u.confirm = None,
                    KeyCode::Enter => {
                        u.confirm = None;
                        if typed.trim() == open.target.trim() {
                            if self.inflight.begin_once(Busy::Decide(open.id)).is_none() {
                                return vec![];
                            }
                            u.result = None;
                            return fx(BcEffect::Approve(open.id));
                        }
                        u.note = Some("the name does not match: not approved".into());
                    }
                    KeyCode::Backspace => {
                        typed.pop();
                        u.confirm = Some(Confirm::TypeName(typed));
                    }
                    KeyCode::Char(ch) if !ctrl => {
                        typed.push(ch);
                        u.confirm = Some(Confirm::TypeName(typed));
                    }
                    _ => {}
                },
                Confirm::Approve | Confirm::Cancel => {
                    u.confirm = None;
                    if k.code == KeyCode::Char('y') {
                        if self.inflight.begin_once(Busy::Decide(open.id)).is_none() {
                            return vec![];
                        }
                        u.result = None;
                        return fx(if c == Confirm::Approve {
                            BcEffect::Approve(open.id)
                        } else {
                            BcEffect::CancelWaiting(open.id)
                        });
                    }
                }
            }
            return vec![];
        }
        u.note = None;
        if let Some(open) = u.open.clone() {
            match k.code {
                KeyCode::Esc => {
                    u.open = None;
                    u.result = None;
                }
                KeyCode::Char('q') => self.overlay = Overlay::None,
                _ if self.inflight.busy(Busy::Decide(open.id)) => {}
                KeyCode::Char('a') => {
                    if read_only {
                        u.note = Some("read-only: approving is disabled".into());
                    } else if let Some(why) = &approve_denied {
                        u.note = Some(format!("approving is disabled: {why}"));
                    } else if open.is_own(&me) {
                        u.note = Some(
                            "you triggered this broadcast: the four-eyes rule needs a different \
                             operator to approve it (x cancels it)"
                                .into(),
                        );
                    } else if Level::parse(&open.level).is_ok_and(|l| l == Level::Critical) {
                        u.confirm = Some(Confirm::TypeName(String::new()));
                    } else {
                        u.confirm = Some(Confirm::Approve);
                    }
                }
                KeyCode::Char('x') | KeyCode::Char('c') => {
                    if read_only {
                        u.note = Some("read-only: cancelling is disabled".into());
                    } else if let Some(why) = &cancel_denied {
                        u.note = Some(format!("cancelling is disabled: {why}"));
                    } else {
                        u.confirm = Some(Confirm::Cancel);
                    }
                }
                _ => {}
            }
            return vec![];
        }
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => self.overlay = Overlay::None,
            KeyCode::Up | KeyCode::Char('k') => u.sel = u.sel.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                u.sel = (u.sel + 1).min(list.len().saturating_sub(1))
            }
            KeyCode::Enter => {
                if let Some(w) = list.get(u.sel) {
                    u.open = Some(w.clone());
                    u.result = None;
                }
            }
            _ => {}
        }
        vec![]
    }
}
