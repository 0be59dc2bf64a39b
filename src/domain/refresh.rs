//! What a refresh asks for and what it returns: the nine data sets (one per view), a read
//! request, its result, the list limits the store and the state share, and the state of the
//! NOTIFY listener.

use uuid::Uuid;

use crate::domain::model::*;

/// The nine views, in key order (1–9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewId {
    Overview,
    Workflows,
    Runs,
    Queue,
    Errors,
    Capacity,
    Reconciliation,
    Approvals,
    Audit,
}

impl ViewId {
    pub const ALL: [ViewId; 9] = [
        ViewId::Overview,
        ViewId::Workflows,
        ViewId::Runs,
        ViewId::Queue,
        ViewId::Errors,
        ViewId::Capacity,
        ViewId::Reconciliation,
        ViewId::Approvals,
        ViewId::Audit,
    ];

    pub fn index(self) -> usize {
        ViewId::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
    /// The tables whose NOTIFYs change what this view shows.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            ViewId::Overview => &[
                "workflows",
                "workflow_executions",
                "job_queue",
                "events",
                "capacity_alerts",
                "approval_requests",
                "reconciliation_discrepancies",
                "emergency_broadcasts",
                "system_metrics",
            ],
            ViewId::Workflows => &["workflows", "workflow_executions", "workflow_errors"],
            ViewId::Runs => &["workflow_executions", "workflows"],
            ViewId::Queue => &["job_queue"],
            ViewId::Errors => &["workflow_errors"],
            ViewId::Capacity => &["events", "capacity_alerts"],
            ViewId::Reconciliation => &["reconciliation_runs", "reconciliation_discrepancies"],
            ViewId::Approvals => &["approval_requests"],
            ViewId::Audit => &["operator_actions"],
        }
    }
    /// Whether the `/` filter refetches from the database (paged lists) or only narrows the
    /// loaded rows (complete lists).
    pub fn filter_in_db(self) -> bool {
        matches!(
            self,
            ViewId::Runs
                | ViewId::Queue
                | ViewId::Reconciliation
                | ViewId::Approvals
                | ViewId::Audit
        )
    }
}

/// Rows per page of a list.
pub const PAGE: u32 = 100;
/// Most rows a refresh reloads (the store clamps to this too).
pub const MAX_ROWS: u32 = 1000;
/// The window of the windowed numbers (workflow stats, error patterns).
pub const WINDOW_HOURS: i64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadKind {
    /// What the view shows first: the overview, or the first page of a list (+ its aggregates).
    Main,
    /// The next (older) page of a list.
    More,
    /// The open detail (a run with its step logs, a reconciliation run's discrepancies).
    Detail,
}

/// One read for a view.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReq {
    pub view: ViewId,
    pub kind: LoadKind,
    pub filter: ListFilter,
    /// The detail row (Detail).
    pub id: Option<Uuid>,
    /// "now" for windowed reads (last hour).
    pub now: Ts,
    pub seq: u64,
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub req: LoadReq,
    pub result: Result<Payload, ReadError>,
    /// Where it was read (None: no replica configured, or not known).
    pub from: Option<ReadFrom>,
}

/// Where the views read, with a read replica (`read_url`) configured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadFrom {
    /// The replica, this far behind the primary (seconds; 0 when it has replayed all it has
    /// received).
    Replica { lag_s: f64 },
    /// The primary, until the replica has replayed an operator's action (its commit's LSN),
    /// so that the acted rows never show in their old state.
    CatchingUp,
    /// The primary: the replica did not answer (tried again every few seconds).
    ReplicaDown,
}

/// What a read returns.
#[derive(Debug, Clone)]
pub enum Payload {
    Overview(Box<Overview>),
    Workflows(Vec<WorkflowStats>),
    Runs(Vec<Run>),
    RunDetail(Option<Box<Run>>, Vec<StepLog>),
    /// A job read again for its detail (the whole payload, the error up to 64 KiB).
    JobDetail(Option<Box<Job>>),
    /// Queue: depth matrix (first page only) and jobs.
    Queue(Option<Box<QueueDepth>>, Vec<Job>),
    Errors(Vec<ErrorPattern>),
    Capacity(Vec<EventCapacity>, Vec<CapacityAlert>),
    Recon(Vec<ReconRun>),
    Discrepancies(Vec<Discrepancy>),
    Approvals(Vec<Approval>),
    Audit(Vec<OperatorAction>),
}

/// The NOTIFY listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Not available (SQLite) or not started: the console polls.
    Off,
    /// LISTEN is active: changes arrive within 250 ms.
    Up,
    /// The listener lost its connection and is reconnecting: the console polls meanwhile.
    Down,
    /// Through a transaction pooler LISTEN cannot work (each transaction may land on another
    /// server connection): the console polls.
    Pooled,
    /// LISTEN was accepted but the start-up self-test's NOTIFY never came back: the console
    /// polls.
    Unheard,
}

/// Why a read failed. Only a failure of the connection itself (refused, reset, TLS, the pool
/// waiting in vain, the server shutting down) means the database is unreachable: the console
/// says "disconnected, retrying" and the room's `database_down` alert counts it. Any other
/// failure (a permission on one table, a statement timeout, a row that does not decode) leaves
/// the connection standing, and the view says why its read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub msg: String,
    /// The connection failed (not the read).
    pub conn: bool,
}

impl ReadError {
    /// The connection failed.
    pub fn conn(msg: impl Into<String>) -> ReadError {
        ReadError {
            msg: msg.into(),
            conn: true,
        }
    }

    /// The read failed; the connection stands.
    pub fn read(msg: impl Into<String>) -> ReadError {
        ReadError {
            msg: msg.into(),
            conn: false,
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}
