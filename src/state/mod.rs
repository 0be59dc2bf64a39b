//! Pure application state. The event loop owns an [`App`] and changes it only through
//! [`App::update`], which returns the IO to do as [`Effect`]s. No IO, no terminal, no async.

mod act;
pub mod alerts;
pub mod awaiting;
pub mod broadcast;
pub mod capacity;
pub mod conn;
pub mod contexts;
pub mod dialog;
pub mod inflight;
mod keys;
pub mod list;
pub mod n8n;
pub mod n8n_queue;
pub mod overview;
pub mod palette;
pub mod queue;
pub mod recon;
pub mod room;
pub mod rows;
pub mod runs;
pub mod table;
mod update;

use std::time::Duration;

use crossterm::event::KeyEvent;
use uuid::Uuid;

pub use capacity::CapacityState;
pub use conn::Conn;
pub use inflight::{Busy, InFlight};
pub use list::{FilterLine, ListOps, ListView, Nav};
pub use n8n::N8nState;
pub use n8n_queue::N8nQueueState;
pub use overview::{OverviewState, TILES};
pub use palette::Palette;
pub use queue::QueueState;
pub use recon::ReconState;
pub use runs::{RunDetail, RunsState};

use crate::domain::idem::IdemKey;
use crate::domain::mode::Mode;
use crate::domain::model::*;
use crate::domain::refresh::{Listen, LoadKind, LoadReq, Loaded, MAX_ROWS, PAGE, Payload, ViewId};
use crate::keymap::{Keymap, Section};
use crate::theme::Theme;

impl ViewId {
    pub fn title(self) -> &'static str {
        match self {
            ViewId::Overview => "Overview",
            ViewId::Workflows => "Workflows",
            ViewId::Runs => "Runs",
            ViewId::Queue => "Queue",
            ViewId::Errors => "Errors",
            ViewId::Capacity => "Capacity",
            ViewId::Reconciliation => "Reconciliation",
            ViewId::Approvals => "Approvals",
            ViewId::Audit => "Audit",
        }
    }
    /// The tab label when the full titles do not fit.
    pub fn short(self) -> &'static str {
        match self {
            ViewId::Overview => "Ovw",
            ViewId::Workflows => "Flows",
            ViewId::Reconciliation => "Recon",
            v => v.title(),
        }
    }
    /// The palette / command name.
    pub fn command(self) -> &'static str {
        match self {
            ViewId::Overview => "overview",
            ViewId::Workflows => "workflows",
            ViewId::Runs => "runs",
            ViewId::Queue => "queue",
            ViewId::Errors => "errors",
            ViewId::Capacity => "capacity",
            ViewId::Reconciliation => "reconciliation",
            ViewId::Approvals => "approvals",
            ViewId::Audit => "audit",
        }
    }
    pub fn section(self) -> Section {
        match self {
            ViewId::Overview => Section::Overview,
            ViewId::Workflows => Section::Workflows,
            ViewId::Runs => Section::Runs,
            ViewId::Queue => Section::Queue,
            ViewId::Errors => Section::Errors,
            ViewId::Capacity => Section::Capacity,
            ViewId::Reconciliation => Section::Reconciliation,
            ViewId::Approvals => Section::Approvals,
            ViewId::Audit => Section::Audit,
        }
    }
}

/// With LISTEN up, a slow poll still runs as a heartbeat (catches a silently dead listener).
pub const HEARTBEAT_FACTOR: u32 = 5;

/// The status bar's live dot changes this often: a quiet sign the console is alive, at about
/// 60 bytes a change (3 bytes/s).
pub const PULSE_SECS: i64 = 20;

/// Everything that can change the state.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// The wall clock (about once a second): ages, toasts, the reconnect countdown.
    Clock(Ts),
    /// The poll interval elapsed: refresh what is on screen.
    Poll,
    /// Coalesced NOTIFYs: the tables that changed.
    Changed(Vec<String>),
    /// The NOTIFY listener came up or went down.
    Listen(Listen),
    /// A background read finished.
    Loaded(Box<Loaded>),
    /// A debounced filter edit settled (refetch if `seq` is still the latest).
    FilterSettled(ViewId, u64),
    /// An operator action finished (ok, conflict or error).
    ActionDone(Box<crate::domain::action::ActionReport>),
    /// How many failed jobs a bulk retry's filter matches.
    /// The count for the bulk retry of this selection (a late answer for a dialog that is no
    /// longer open, or for another selection, is dropped).
    Counted(crate::domain::action::JobSelect, Result<i64, String>),
    /// The n8n poller's result (only when n8n is configured).
    N8n(Box<crate::domain::n8n::N8nPolled>),
    /// Which of n8n's recent executions the database's runs link (answers `Effect::LinkN8n`).
    N8nLinked(Vec<String>),
    /// What the alert rules need, read (answers `Effect::Watch`).
    Watched(Box<alerts::Watched>),
    /// The alerts read again after a raise or clear (answers `Effect::AlertSync`).
    AlertsRead(
        Result<Vec<crate::domain::alert::Alert>, alerts::Unread>,
        Option<(Ts, Ts)>,
    ),
    /// The incident timeline (entries, sources missing) or why it could not be read.
    Timeline(Result<(Vec<crate::domain::timeline::Entry>, Vec<String>), String>),
    /// One context's line (answers `Effect::ReadContext`).
    ContextRead(Box<crate::domain::context::ContextLine>),
    /// An export was written (the path and rows) or why not.
    Exported(Result<(String, usize), String>),
    /// The n8n queue poller's result (only when n8n's queue is configured).
    N8nQueue(Box<crate::domain::n8n_queue::QueuePolled>),
    /// Broadcast IO finished (compose choices, preview, send, progress).
    Broadcast(Box<broadcast::BcMsg>),
    /// A new idempotency key for the next submission that needs one (app.rs sends one
    /// whenever [`App::needs_key`]): the state makes no keys of its own.
    FreshKey(IdemKey),
}

/// IO for the event loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Read from the store in a background task; the result comes back as `Msg::Loaded`.
    Load(LoadReq),
    /// Send `msg` back after `after` (debounce).
    Later(Duration, LaterMsg),
    /// Apply a confirmed operator action; the result comes back as `Msg::ActionDone`.
    Act(crate::domain::action::Action),
    /// Count the failed jobs a bulk retry would touch; answers `Msg::Counted`.
    CountFailed(crate::domain::action::JobSelect),
    /// Broadcast IO (the result comes back as `Msg::Broadcast`).
    Broadcast(broadcast::BcEffect),
    /// Ask the database which of these n8n executions a run links; answers `Msg::N8nLinked`.
    LinkN8n(Vec<String>),
    /// Read what the alert rules need and the alerts; answers `Msg::Watched`.
    Watch,
    /// Raise and clear alerts (and record a database outage: from, to); answers
    /// `Msg::AlertsRead`.
    AlertSync(crate::domain::alert::Plan, Option<(Ts, Ts)>),
    /// Ring the terminal bell (an alert raised, or back from its silence).
    Bell,
    /// Read one context of the config on a connection of its own; answers
    /// `Msg::ContextRead`.
    ReadContext(String),
    /// Read the incident timeline from..to; answers `Msg::Timeline`.
    Timeline(Ts, Ts),
    /// Write an export to a new file (never over an existing one); answers `Msg::Exported`.
    Export {
        path: String,
        content: String,
        rows: usize,
    },
    Quit,
}

/// Messages that may be scheduled with [`Effect::Later`].
#[derive(Debug, Clone, PartialEq)]
pub enum LaterMsg {
    FilterSettled(ViewId, u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub warn: bool,
    pub until: Ts,
}

#[derive(Debug, Clone, Default)]
pub enum Overlay {
    #[default]
    None,
    Help {
        scroll: usize,
    },
    Palette(Palette),
    /// The confirm dialog of an operator action.
    Dialog(Box<dialog::Dialog>),
    /// The broadcast compose / progress screen.
    Broadcast(Box<broadcast::BroadcastUi>),
    /// Broadcasts awaiting a second operator's approval.
    Awaiting(Box<awaiting::AwaitUi>),
    /// The control room's alerts (`!`).
    Alerts,
    /// The incident timeline (`:timeline`).
    Timeline(Box<room::TimelineUi>),
    /// The all-contexts overview (`:ctx`).
    Contexts,
}

/// One line of the help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    /// The bound keys, `a / b`.
    pub keys: String,
    pub description: &'static str,
    /// The action changes something (read-only disables it).
    pub mutating: bool,
    /// The role the login lacks for it, where roles decide ("needs opsdeck_approver").
    pub needs: Option<String>,
}

/// The whole console state.
pub struct App {
    pub mode: Mode,
    pub theme: Theme,
    pub keymap: Keymap,
    pub operator: String,
    /// Who the database says the login is and what it may do (the demo: everything).
    pub access: crate::domain::role::Access,
    pub db_label: String,
    pub poll_every: Duration,
    /// The currency amounts are shown in (the config's `currency`).
    pub currency: crate::domain::money::Currency,
    /// The contract's tables an adopted database does not have: their lists say so.
    pub absent: Vec<String>,
    /// Where the last read came from, with a read replica configured.
    pub read_from: Option<crate::domain::refresh::ReadFrom>,
    pub now: Ts,
    pub size: (u16, u16),
    pub view: ViewId,
    pub conn: Conn,
    pub listen: Listen,
    /// The IO in flight: reads, the awaiting list, the action, broadcast decisions.
    pub inflight: InFlight,
    pub overlay: Overlay,
    pub toast: Option<Toast>,
    pub quit: bool,
    /// Something visible changed since the last draw.
    pub dirty: bool,
    pub overview: OverviewState,
    pub workflows: ListView<WorkflowStats>,
    pub runs: RunsState,
    pub queue: QueueState,
    pub errors: ListView<ErrorPattern>,
    pub capacity: CapacityState,
    pub recon: ReconState,
    pub approvals: ListView<Approval>,
    pub audit: ListView<OperatorAction>,
    /// The control room's alerts.
    pub alerts: alerts::AlertsState,
    /// `Z`: the screen is frozen since then (refreshes do not move it).
    pub frozen: Option<Ts>,
    /// The config's context in use (`--context`): its name and whether it is production.
    pub context: Option<(String, bool)>,
    /// The contexts the config names (`:ctx NAME` switches to one).
    pub contexts: Vec<String>,
    /// The contexts as last read (the all-contexts overview, and the status bar's word on
    /// the others).
    pub others: contexts::ContextsState,
    /// The last read of a view that failed while the connection stood (a permission, a
    /// timeout): which view, why, when. Cleared by that view's next good read.
    pub read_failed: Option<(ViewId, String, Ts)>,
    /// `:ctx NAME` asked for: the console closes and opens again on that context.
    pub switch_to: Option<String>,
    /// n8n beside the database (`configured` false: nothing n8n shows).
    pub n8n: N8nState,
    /// n8n's queue in Redis (`configured` false: nothing of it shows).
    pub n8n_queue: N8nQueueState,
    /// Broadcast message templates (built-in + config), by name.
    pub broadcast_templates: Vec<(String, String)>,
    /// Broadcasts awaiting a second operator (four-eyes rule), as last read.
    pub awaiting: Vec<crate::domain::broadcast::Waiting>,
    /// Why the last read of them failed (the last list stays).
    pub awaiting_error: Option<String>,
    /// The idempotency key the next compose screen takes (see [`Msg::FreshKey`]).
    spare_key: Option<IdemKey>,
}

impl App {
    /// What an empty list over `table` says: that the table is not in this (adopted)
    /// database, or `empty`.
    pub fn empty_text<'a>(&self, table: &str, empty: &'a str) -> std::borrow::Cow<'a, str> {
        if self.absent.iter().any(|t| t == table) {
            format!("not in this database (it has no {table} table)").into()
        } else {
            empty.into()
        }
    }

    pub fn new(
        mode: Mode,
        theme: Theme,
        keymap: Keymap,
        operator: String,
        db_label: String,
        now: Ts,
    ) -> App {
        App {
            mode,
            theme,
            keymap,
            operator,
            access: crate::domain::role::Access::demo(),
            db_label,
            poll_every: Duration::from_secs(2),
            currency: Default::default(),
            absent: Vec::new(),
            read_from: None,
            now,
            size: (80, 24),
            view: ViewId::Overview,
            conn: Conn::Connecting,
            listen: Listen::Off,
            inflight: InFlight::default(),
            overlay: Overlay::None,
            toast: None,
            quit: false,
            dirty: true,
            overview: OverviewState::default(),
            workflows: ListView::new(table::Table::new(&rows::WORKFLOW_COLUMNS)),
            runs: RunsState::default(),
            queue: QueueState::default(),
            errors: ListView::new(table::Table::new(&rows::PATTERN_COLUMNS)),
            capacity: CapacityState::default(),
            recon: ReconState::default(),
            approvals: ListView::new(table::Table::new(&rows::APPROVAL_COLUMNS)),
            audit: ListView::new(table::Table::new(&rows::AUDIT_COLUMNS)),
            alerts: alerts::AlertsState::default(),
            frozen: None,
            context: None,
            contexts: Vec::new(),
            others: Default::default(),
            read_failed: None,
            switch_to: None,
            n8n: N8nState::default(),
            n8n_queue: N8nQueueState::default(),
            broadcast_templates: crate::domain::broadcast::DEFAULT_TEMPLATES
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            awaiting: Vec::new(),
            awaiting_error: None,
            spare_key: None,
        }
    }

    /// The requests to make at start-up: the first view's data.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut fx = self.refresh_view();
        fx.extend(self.awaiting_refresh());
        fx.extend(self.watch());
        fx
    }

    /// The active view's list operations (None for the overview).
    pub fn list_mut(&mut self, v: ViewId) -> Option<&mut dyn ListOps> {
        Some(match v {
            ViewId::Overview => return None,
            ViewId::Workflows => &mut self.workflows,
            ViewId::Runs => &mut self.runs.list,
            ViewId::Queue => &mut self.queue.list,
            ViewId::Errors => &mut self.errors,
            ViewId::Capacity => &mut self.capacity.list,
            ViewId::Reconciliation => &mut self.recon.list,
            ViewId::Approvals => &mut self.approvals,
            ViewId::Audit => &mut self.audit,
        })
    }
    pub fn list(&self, v: ViewId) -> Option<&dyn ListOps> {
        Some(match v {
            ViewId::Overview => return None,
            ViewId::Workflows => &self.workflows,
            ViewId::Runs => &self.runs.list,
            ViewId::Queue => &self.queue.list,
            ViewId::Errors => &self.errors,
            ViewId::Capacity => &self.capacity.list,
            ViewId::Reconciliation => &self.recon.list,
            ViewId::Approvals => &self.approvals,
            ViewId::Audit => &self.audit,
        })
    }

    /// When the data on screen was read.
    /// How often the view is read when nothing changes: the poll interval, or with LISTEN up
    /// the heartbeat poll's.
    pub fn expected_every(&self) -> Duration {
        if self.listen == Listen::Up {
            self.poll_every * HEARTBEAT_FACTOR
        } else {
            self.poll_every
        }
    }

    /// The age of the view's data once it is older than expected (twice the interval it is
    /// read at, plus 2 s for a slow read): None while it is fresh, or before the first read.
    /// The status bar shows no ticking age while data is fresh (as quiet as `watch` over SSH).
    pub fn stale_for(&self, v: ViewId) -> Option<i64> {
        let age = (self.now - self.loaded_at(v)?).num_seconds();
        let fresh = 2 * self.expected_every().as_secs() as i64 + 2;
        (age > fresh).then_some(age)
    }

    pub fn loaded_at(&self, v: ViewId) -> Option<Ts> {
        match v {
            ViewId::Overview => self.overview.loaded_at,
            ViewId::Workflows => self.workflows.table.loaded_at,
            ViewId::Runs => match &self.runs.detail {
                Some(d) if self.runs.list.detail.is_some() => d.loaded_at,
                _ => self.runs.list.table.loaded_at,
            },
            // an open job is read on its own: its age is that read's
            ViewId::Queue => match self.queue.list.detail {
                Some(_) => self.queue.full_at.or(self.queue.list.table.loaded_at),
                None => self.queue.list.table.loaded_at,
            },
            ViewId::Errors => self.errors.table.loaded_at,
            ViewId::Capacity => self.capacity.list.table.loaded_at,
            ViewId::Reconciliation => {
                if self.recon.list.detail.is_some() {
                    self.recon.discrepancies.loaded_at
                } else {
                    self.recon.list.table.loaded_at
                }
            }
            ViewId::Approvals => self.approvals.table.loaded_at,
            ViewId::Audit => self.audit.table.loaded_at,
        }
    }

    /// Whether the filter line is being edited.
    pub fn editing_filter(&self) -> bool {
        self.list(self.view).is_some_and(|l| l.filter().editing)
    }

    pub fn toast(&mut self, text: impl Into<String>, warn: bool) {
        self.toast_for(text, warn, 4);
    }

    pub fn toast_for(&mut self, text: impl Into<String>, warn: bool, secs: i64) {
        self.toast = Some(Toast {
            text: text.into(),
            warn,
            until: self.now + chrono::Duration::seconds(secs),
        });
        self.dirty = true;
    }

    /// The state has no spare idempotency key: send it one ([`Msg::FreshKey`]).
    pub fn needs_key(&self) -> bool {
        self.spare_key.is_none()
    }

    /// The help overlay's rows: the active view's keys (with the global ones it does not
    /// rebind), or with `everywhere` the global keys alone, from the active keymap.
    pub fn help(&self, everywhere: bool) -> Vec<HelpRow> {
        let scope = if everywhere {
            Section::Global
        } else {
            self.view.section()
        };
        // the view's own keys: the global ones are listed once, under "Everywhere" (unless the
        // view binds them to other keys)
        let global = if everywhere {
            Vec::new()
        } else {
            self.keymap.help(Section::Global)
        };
        self.keymap
            .help(scope)
            .into_iter()
            .filter(|row| !global.contains(row))
            .map(|(keys, a)| HelpRow {
                keys,
                description: a.description(),
                mutating: a.is_mutating(),
                needs: self.key_needs(a).err(),
            })
            .collect()
    }

    /// Whether the terminal is big enough to draw the console.
    pub fn fits(&self) -> bool {
        self.size.0 >= 80 && self.size.1 >= 24
    }
}
