//! The broadcast screens (pure): compose (level, scope, event/venue, message in a textarea with
//! the SMS segment counter, templates, TEST/LIVE, preview), the live confirmation (typed name,
//! then a 5-second countdown Esc cancels), the IO results; the progress view (retry, follow-ups,
//! cancel) is in `progress`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;
use uuid::Uuid;

use super::{App, Effect, Msg, Overlay, Ts};
use crate::domain::broadcast::{
    Decision, Draft, EventChoice, Level, Preview, Progress, Segments, SendOutcome, SendReport,
    Target, Waiting, expand_template, segments,
};
use crate::domain::idem::IdemKey;

mod progress;
pub use progress::Pending;

/// Seconds between the confirmation and the send of a live broadcast.
pub const COUNTDOWN_S: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Level,
    Scope,
    Target,
    Message,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Compose,
    /// Live urgent/critical: the event or venue name, as typed so far.
    TypeName(String),
    /// Sends when the clock reaches this.
    Countdown(Ts),
    Sending,
    Progress,
}

/// Broadcast IO for the event loop.
#[derive(Debug, Clone, PartialEq)]
pub enum BcEffect {
    Choices,
    Preview(Draft),
    Send(Box<Preview>),
    Progress(Uuid),
    /// The broadcasts awaiting approval (the status-bar badge, the approval screen).
    Awaiting,
    Approve(Uuid),
    /// Cancel whatever has not gone out (queued deliveries' jobs, or a waiting broadcast).
    Cancel(Uuid),
    /// Cancel only while it awaits approval (approved meanwhile: a conflict saying by whom).
    CancelWaiting(Uuid),
    Retry(Uuid),
    FollowUp {
        id: Uuid,
        message: String,
        key: IdemKey,
    },
}

/// Broadcast IO results.
#[derive(Debug, Clone)]
pub enum BcMsg {
    Choices(Result<Vec<EventChoice>, String>),
    Previewed(Box<Draft>, Result<Box<Preview>, String>),
    Sent(Result<Box<SendReport>, String>),
    Progress(Result<Box<Progress>, String>),
    Done(Result<String, String>),
    Awaiting(Result<Vec<Waiting>, String>),
    /// An approval (true) or a cancel (false) of this broadcast came back.
    Decided(Uuid, bool, Result<Box<Decision>, String>),
}

#[derive(Debug, Clone)]
pub struct BroadcastUi {
    /// Made when the screen opens: a double submit sends once.
    pub key: IdemKey,
    pub level: Level,
    pub venue_scope: bool,
    pub choices: Vec<EventChoice>,
    pub pick: usize,
    pub test: bool,
    pub message: TextArea<'static>,
    pub template: Option<usize>,
    pub focus: Field,
    pub preview: Option<Result<Box<Preview>, String>>,
    /// The draft the preview was made for (stale when the draft changed since).
    pub preview_for: Option<Draft>,
    pub stage: Stage,
    pub sent: Option<Box<SendReport>>,
    pub progress: Option<Box<Progress>>,
    pub pending: Option<Pending>,
    pub error: Option<String>,
    /// The broadcast the progress view follows when it was not sent from this screen (the
    /// approval screen opens it after an approval).
    pub watch: Option<Uuid>,
    /// When this screen saw its broadcast written (the waiting timer's start until the first
    /// progress read brings the stored time).
    pub sent_at: Option<Ts>,
    /// The last cancel (or approval) of this broadcast and how it went.
    pub decision: Option<Result<Box<Decision>, String>>,
}

impl BroadcastUi {
    pub fn new(key: IdemKey) -> Self {
        let mut message = TextArea::default();
        message.set_placeholder_text("type the message, or Ctrl-N for a template");
        BroadcastUi {
            key,
            level: Level::Warning,
            venue_scope: false,
            choices: Vec::new(),
            pick: 0,
            test: true,
            message,
            template: None,
            focus: Field::Message,
            preview: None,
            preview_for: None,
            stage: Stage::Compose,
            sent: None,
            progress: None,
            pending: None,
            error: None,
            watch: None,
            sent_at: None,
            decision: None,
        }
    }

    /// The progress view of a broadcast sent elsewhere (`id`), e.g. just approved here.
    pub fn watching(id: Uuid, level: Level, key: IdemKey) -> Self {
        let mut u = BroadcastUi::new(key);
        u.watch = Some(id);
        u.level = level;
        u.test = false;
        u.stage = Stage::Progress;
        u
    }

    pub fn text(&self) -> String {
        self.message.lines().join("\n")
    }

    pub fn segments(&self) -> Segments {
        segments(self.text().trim())
    }

    /// Events (event scope) or venues with an event today (venue scope).
    pub fn targets(&self) -> Vec<String> {
        if self.venue_scope {
            let mut v: Vec<String> = self
                .choices
                .iter()
                .filter(|c| c.today)
                .map(|c| c.venue.clone())
                .collect();
            v.sort();
            v.dedup();
            v
        } else {
            self.choices.iter().map(|c| c.name.clone()).collect()
        }
    }

    pub fn target_label(&self) -> Option<String> {
        self.targets().get(self.pick).cloned()
    }

    pub fn draft(&self) -> Option<Draft> {
        let target = if self.venue_scope {
            Target::Venue(self.target_label()?)
        } else {
            Target::Event(self.choices.get(self.pick)?.id.to_string())
        };
        Some(Draft {
            level: self.level.as_str().into(),
            target,
            message: self.text(),
            channels: None,
            idempotency_key: self.key.clone(),
            test: self.test,
        })
    }

    /// The preview, when it is for the draft on screen.
    pub fn fresh_preview(&self) -> Option<&Preview> {
        match (&self.preview, &self.preview_for, self.draft()) {
            (Some(Ok(p)), Some(f), Some(d)) if *f == d => Some(p),
            _ => None,
        }
    }

    fn apply_template(&mut self, templates: &[(String, String)]) {
        if templates.is_empty() {
            return;
        }
        let i = self
            .template
            .map(|i| (i + 1) % templates.len())
            .unwrap_or(0);
        self.template = Some(i);
        let (event, venue) = match self.choices.get(self.pick) {
            Some(c) if !self.venue_scope => (Some(c.name.clone()), c.venue.clone()),
            _ => (None, self.target_label().unwrap_or_default()),
        };
        let text = expand_template(&templates[i].1, event.as_deref(), &venue, self.level)
            .unwrap_or_else(|e| e);
        let mut ta = TextArea::new(vec![text]);
        ta.set_placeholder_text("type the message, or Ctrl-N for a template");
        ta.move_cursor(ratatui_textarea::CursorMove::End);
        self.message = ta;
    }
}

fn bc(e: BcEffect) -> Vec<Effect> {
    vec![Effect::Broadcast(e)]
}

impl App {
    /// `b` / `:broadcast`: opens the compose screen with a fresh idempotency key.
    pub fn open_broadcast(&mut self) -> Vec<Effect> {
        if self.mode == crate::domain::mode::Mode::ReadOnly {
            self.toast("read-only: broadcasts are disabled", true);
            return vec![];
        }
        if let Err(why) = self.access.may("broadcast.test") {
            self.toast(format!("broadcasts: {why}"), true);
            return vec![];
        }
        let Some(key) = self.spare_key.take() else {
            // app.rs hands over a new key after every message: this is not reached there
            self.toast("no idempotency key yet: press b again", true);
            return vec![];
        };
        self.overlay = Overlay::Broadcast(Box::new(BroadcastUi::new(key)));
        bc(BcEffect::Choices)
    }

    fn ui(&mut self) -> Option<&mut BroadcastUi> {
        match &mut self.overlay {
            Overlay::Broadcast(u) => Some(u),
            _ => None,
        }
    }

    fn ask_preview(&mut self) -> Vec<Effect> {
        let Some(u) = self.ui() else { return vec![] };
        match u.draft() {
            Some(d) if !u.text().trim().is_empty() => {
                u.preview_for = Some(d.clone());
                bc(BcEffect::Preview(d))
            }
            _ => vec![],
        }
    }

    pub(super) fn broadcast_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let templates = self.broadcast_templates.clone();
        let now = self.now;
        let Some(u) = self.ui() else { return vec![] };
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        u.error = None;
        match u.stage.clone() {
            Stage::TypeName(mut typed) => {
                match k.code {
                    KeyCode::Esc => u.stage = Stage::Compose,
                    KeyCode::Enter => {
                        let want = u.fresh_preview().map(|p| p.scope.label().to_string());
                        if want.as_deref() == Some(typed.trim()) {
                            u.stage =
                                Stage::Countdown(now + chrono::Duration::seconds(COUNTDOWN_S));
                        } else {
                            u.error = Some("the name does not match: nothing sent".into());
                        }
                        return vec![];
                    }
                    KeyCode::Backspace => {
                        typed.pop();
                        u.stage = Stage::TypeName(typed);
                    }
                    KeyCode::Char(c) if !ctrl => {
                        typed.push(c);
                        u.stage = Stage::TypeName(typed);
                    }
                    _ => {}
                }
                return vec![];
            }
            Stage::Countdown(_) => {
                if k.code == KeyCode::Esc {
                    u.stage = Stage::Compose;
                    u.error = Some("cancelled: nothing sent".into());
                }
                return vec![];
            }
            Stage::Sending => return vec![],
            Stage::Progress => return self.progress_key(k),
            Stage::Compose => {}
        }
        match (k.code, ctrl) {
            (KeyCode::Esc, _) => {
                self.overlay = Overlay::None;
                return vec![];
            }
            (KeyCode::Tab, _) => {
                u.focus = match u.focus {
                    Field::Level => Field::Scope,
                    Field::Scope => Field::Target,
                    Field::Target => Field::Message,
                    Field::Message => Field::Level,
                }
            }
            (KeyCode::BackTab, _) => {
                u.focus = match u.focus {
                    Field::Level => Field::Message,
                    Field::Scope => Field::Level,
                    Field::Target => Field::Scope,
                    Field::Message => Field::Target,
                }
            }
            (KeyCode::Char('t'), true) => {
                u.test = !u.test;
                return self.ask_preview();
            }
            (KeyCode::Char('n'), true) => {
                u.apply_template(&templates);
                return self.ask_preview();
            }
            (KeyCode::Char('p'), true) => return self.ask_preview(),
            (KeyCode::Char('s'), true) => return self.confirm_send(),
            (KeyCode::Left | KeyCode::Right, _) if u.focus != Field::Message => {
                let d: i64 = if k.code == KeyCode::Left { -1 } else { 1 };
                match u.focus {
                    Field::Level => {
                        let i = Level::ALL.iter().position(|l| *l == u.level).unwrap_or(0) as i64;
                        u.level = Level::ALL[(i + d).rem_euclid(4) as usize];
                    }
                    Field::Scope => {
                        u.venue_scope = !u.venue_scope;
                        u.pick = 0;
                    }
                    Field::Target => {
                        let n = u.targets().len() as i64;
                        if n > 0 {
                            u.pick = (u.pick as i64 + d).rem_euclid(n) as usize;
                        }
                    }
                    Field::Message => {}
                }
                return self.ask_preview();
            }
            (KeyCode::Enter, _) if u.focus != Field::Message => return self.ask_preview(),
            _ if u.focus == Field::Message => {
                u.message.input(k);
            }
            _ => {}
        }
        vec![]
    }

    fn confirm_send(&mut self) -> Vec<Effect> {
        let now = self.now;
        // where roles decide: a live broadcast needs opsdeck_broadcaster (the database would
        // refuse it; say so before the countdown)
        let live_denied = self.access.may("broadcast.live").err();
        let Some(u) = self.ui() else { return vec![] };
        let Some(p) = u.fresh_preview().cloned() else {
            u.error =
                Some("preview first (Ctrl-P): the draft changed since the last preview".into());
            return self.ask_preview();
        };
        if p.plan.deliveries.is_empty() {
            u.error = Some("nobody can be reached: nothing to send".into());
            return vec![];
        }
        if p.test {
            u.stage = Stage::Sending;
            return bc(BcEffect::Send(Box::new(p)));
        }
        if let Some(why) = live_denied {
            u.error = Some(format!(
                "a live broadcast is disabled: {why} (a test is not)"
            ));
            return vec![];
        }
        if p.level.needs_typed_confirmation() {
            u.stage = Stage::TypeName(String::new());
        } else {
            u.stage = Stage::Countdown(now + chrono::Duration::seconds(COUNTDOWN_S));
        }
        vec![]
    }

    /// The clock: a finished countdown sends.
    pub(super) fn broadcast_tick(&mut self) -> Vec<Effect> {
        let now = self.now;
        let Some(u) = self.ui() else { return vec![] };
        match u.stage {
            Stage::Countdown(at) if at <= now => match u.fresh_preview().cloned() {
                Some(p) => {
                    u.stage = Stage::Sending;
                    bc(BcEffect::Send(Box::new(p)))
                }
                None => {
                    u.stage = Stage::Compose;
                    vec![]
                }
            },
            _ => vec![],
        }
    }

    pub(super) fn on_broadcast(&mut self, m: BcMsg) -> Vec<Effect> {
        self.dirty = true;
        let now = self.now;
        let m = match m {
            BcMsg::Awaiting(r) => return self.on_awaiting(r),
            BcMsg::Decided(id, approve, r) => return self.on_decided(id, approve, r),
            m => m,
        };
        if let BcMsg::Done(r) = &m {
            match r {
                Ok(t) => self.toast(t.clone(), false),
                Err(e) => self.toast(e.clone(), true),
            }
        }
        let Some(u) = self.ui() else { return vec![] };
        match m {
            BcMsg::Choices(Ok(c)) => {
                u.pick = c.iter().position(|e| e.today).unwrap_or(0);
                u.choices = c;
                vec![]
            }
            BcMsg::Choices(Err(e)) => {
                u.error = Some(e);
                vec![]
            }
            BcMsg::Previewed(d, r) => {
                if u.preview_for.as_ref() == Some(&*d) {
                    u.preview = Some(r);
                }
                vec![]
            }
            BcMsg::Sent(Ok(r)) => {
                let id = r.broadcast_id;
                if r.outcome == SendOutcome::AwaitingApproval {
                    u.sent_at = Some(now);
                }
                u.sent = Some(r);
                u.stage = Stage::Progress;
                bc(BcEffect::Progress(id))
            }
            BcMsg::Sent(Err(e)) => {
                u.stage = if u.sent.is_some() {
                    Stage::Progress
                } else {
                    Stage::Compose
                };
                u.error = Some(e);
                vec![]
            }
            BcMsg::Progress(Ok(p)) => {
                u.progress = Some(p);
                vec![]
            }
            BcMsg::Progress(Err(e)) => {
                u.error = Some(e);
                vec![]
            }
            BcMsg::Done(_) => match u.broadcast_id() {
                Some(id) => bc(BcEffect::Progress(id)),
                None => vec![],
            },
            // handled above
            BcMsg::Awaiting(_) | BcMsg::Decided(..) => vec![],
        }
    }
}

impl From<BcMsg> for Msg {
    fn from(m: BcMsg) -> Msg {
        Msg::Broadcast(Box::new(m))
    }
}
