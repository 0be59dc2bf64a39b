//! The broadcast's progress screen (pure): what it shows of the broadcast (its status as last
//! read, waiting for a second operator, whether a cancel can still stop something), its keys
//! (retry, follow-ups, cancel: each confirmed with `y`) and the re-read on poll / NOTIFY.

use crossterm::event::{KeyCode, KeyEvent};
use uuid::Uuid;

use super::{BcEffect, BroadcastUi, Stage, bc};
use crate::domain::broadcast::{FollowUp, expand_template};
use crate::state::{App, Effect, Overlay, Ts};

/// A confirmation on the progress screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    Retry,
    FollowUp(FollowUp),
    /// Cancel the broadcast (waiting for approval, or its deliveries still queued).
    Cancel,
}

impl BroadcastUi {
    /// The broadcast the progress view shows.
    pub fn broadcast_id(&self) -> Option<Uuid> {
        self.sent.as_ref().map(|s| s.broadcast_id).or(self.watch)
    }

    /// The broadcast's status as last read (the progress read, else the send's answer).
    fn status(&self) -> Option<&str> {
        match (&self.progress, &self.sent) {
            (Some(p), _) => Some(&p.status),
            (None, Some(s)) => Some(&s.status),
            _ => None,
        }
    }

    /// Waiting for a second operator (four-eyes rule), as last read.
    pub fn awaiting_approval(&self) -> bool {
        self.status() == Some("awaiting_approval")
    }

    /// Since when it waits (the stored time once read, else when this screen sent it).
    pub fn waiting_since(&self) -> Option<Ts> {
        self.progress
            .as_ref()
            .and_then(|p| p.created_at)
            .or(self.sent_at)
    }

    /// Whether a cancel can still stop something: waiting, or queued / sending.
    pub fn cancellable(&self) -> bool {
        matches!(
            self.status(),
            Some("awaiting_approval" | "queued" | "sending")
        )
    }
}

impl App {
    /// A key on the progress screen (and on its waiting-for-approval form).
    pub(super) fn progress_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let templates = self.broadcast_templates.clone();
        let Some(u) = self.ui() else { return vec![] };
        let Some(id) = u.broadcast_id() else {
            return vec![];
        };
        if let Some(p) = u.pending {
            u.pending = None;
            if !matches!(k.code, KeyCode::Char('y')) {
                return vec![];
            }
            let waiting = u.awaiting_approval();
            return match p {
                Pending::Retry => bc(BcEffect::Retry(id)),
                Pending::Cancel => {
                    u.decision = None;
                    // the waiting screen promised "nothing has been sent"
                    bc(if waiting {
                        BcEffect::CancelWaiting(id)
                    } else {
                        BcEffect::Cancel(id)
                    })
                }
                Pending::FollowUp(f) => {
                    let name = match f {
                        FollowUp::AllClear => "all_clear",
                        FollowUp::Correction => "correction",
                    };
                    let message = templates
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, t)| t.clone())
                        .unwrap_or_default();
                    let target = u
                        .progress
                        .as_ref()
                        .map(|p| p.target.clone())
                        .unwrap_or_default();
                    let message = expand_template(&message, Some(&target), &target, u.level)
                        .unwrap_or(message);
                    u.stage = Stage::Sending;
                    bc(BcEffect::FollowUp {
                        id,
                        message,
                        key: u.key.derived(name),
                    })
                }
            };
        }
        if u.awaiting_approval() {
            // waiting for a second operator: nothing went out, so no retry or follow-up; Esc
            // or c cancels it (after a y), q leaves it waiting (the status bar keeps count)
            match k.code {
                KeyCode::Esc | KeyCode::Char('c') | KeyCode::Char('x') => {
                    u.pending = Some(Pending::Cancel)
                }
                KeyCode::Char('q') => self.overlay = Overlay::None,
                _ => {}
            }
            return vec![];
        }
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => self.overlay = Overlay::None,
            KeyCode::Char('x') if u.cancellable() => u.pending = Some(Pending::Cancel),
            KeyCode::Char('r') => u.pending = Some(Pending::Retry),
            KeyCode::Char('a') => u.pending = Some(Pending::FollowUp(FollowUp::AllClear)),
            KeyCode::Char('c') => u.pending = Some(Pending::FollowUp(FollowUp::Correction)),
            _ => {}
        }
        vec![]
    }

    /// Poll / NOTIFY: the progress view reads again.
    pub(in crate::state) fn broadcast_refresh(&mut self) -> Vec<Effect> {
        match self.ui() {
            Some(u) if u.stage == Stage::Progress => match u.broadcast_id() {
                Some(id) => bc(BcEffect::Progress(id)),
                None => vec![],
            },
            _ => vec![],
        }
    }
}
