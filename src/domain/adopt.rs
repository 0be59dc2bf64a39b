//! Adopting an automation database that already exists: what opsdeck finds in it (a
//! [`Catalog`], read by the store) and what it makes of it (a [`Plan`]: what it adopts as it
//! is and how it reads it, what it would add, what it leaves, and what it warns about). Pure:
//! the same catalog always gives the same plan.
//!
//! The seeds' shapes and words (see README, "Adopting an existing database"):
//! - seed 004: `workflows.is_active` is active/paused; a run's duration is
//!   `completed_at - started_at`; `job_queue` has no `updated_at` nor `workflow_id`.
//! - seed 000: `workflow_errors` as its Global Error Handler writes it (`workflow_id` is n8n's
//!   id, text; `error_time`; no `error_type`: classified from the message, [`classify_error`]);
//!   run statuses `success` / `error`; tickets `paid`; `reconciliation_logs`.
//! - seed 001: `automation_workflows` (per-event workflow instances) and their
//!   `workflow_execution_logs`.

use std::collections::BTreeMap;

use serde::Serialize;

/// One column as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    /// The type's name as the catalog gives it (`uuid`, `text`, `character varying`, …).
    pub data_type: String,
    /// The type's own name (`varchar`, `int4`, an enum's name): what a cast names.
    pub udt: String,
    pub nullable: bool,
    /// The column's default, as the catalog prints it.
    pub default: Option<String>,
}

impl Column {
    /// A nullable column without a default, its `udt` guessed from the type's name (tests).
    pub fn new(name: &str, data_type: &str) -> Column {
        let udt = match data_type {
            "character varying" => "varchar",
            "character" => "bpchar",
            "integer" => "int4",
            "bigint" => "int8",
            "smallint" => "int2",
            "boolean" => "bool",
            "double precision" => "float8",
            "real" => "float4",
            "timestamp with time zone" => "timestamptz",
            "timestamp without time zone" => "timestamp",
            t => t,
        };
        Column {
            name: name.into(),
            data_type: data_type.into(),
            udt: udt.into(),
            nullable: true,
            default: None,
        }
    }
}

/// What the store found in the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// The tables of the schema opsdeck connects to, by name, with their columns.
    pub tables: BTreeMap<String, Vec<Column>>,
    /// The versions of opsdeck's migrations applied, when its bookkeeping table exists.
    pub migrations: Option<Vec<i64>>,
    /// Status words found in the data (a bounded sample), by `table.column`, with counts.
    pub words: BTreeMap<String, Vec<(String, i64)>>,
    /// The adoption recorded in the database (schema `opsdeck`), when it has one.
    pub adoption: Option<Adoption>,
}

/// An adoption as the database records it (`opsdeck.adoption`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adoption {
    /// The shape of adoption that made it (`api::store::adopt::script::VERSION`).
    pub version: i32,
    pub triggers: bool,
    /// The fingerprint of its statements (`api::store::adopt::script::fingerprint`).
    pub script: String,
    /// How many of its statements have run, of how many.
    pub done: i32,
    pub total: i32,
    pub finished: bool,
}

impl Catalog {
    pub fn has(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    pub fn column(&self, table: &str, column: &str) -> Option<&Column> {
        self.tables.get(table)?.iter().find(|c| c.name == column)
    }
}

/// The tables of opsdeck's own contract (`migrations/`), the user's data first.
pub const CONTRACT_TABLES: &[&str] = &[
    "workflows",
    "workflow_executions",
    "workflow_step_logs",
    "workflow_errors",
    "job_queue",
    "events",
    "tickets",
    "capacity_alerts",
    "approval_requests",
    "rate_negotiations",
    "reconciliation_runs",
    "reconciliation_discrepancies",
    "people",
    "event_attendees",
    "event_models",
    "event_staff",
    "emergency_broadcasts",
    "broadcast_deliveries",
    "system_metrics",
    "operator_actions",
];

/// Contract tables a seed keeps under another name, with the same columns: (contract, seed).
pub const ALIASES: &[(&str, &str)] = &[
    // seed 000's reconciliation workflow inserts reconciliation_date, stripe_count, db_count,
    // discrepancy_count, status and details into reconciliation_logs
    ("reconciliation_runs", "reconciliation_logs"),
    // seed 001's per-event workflow instances are opsdeck's runs, and their logs its step logs
    ("workflow_executions", "automation_workflows"),
    ("workflow_step_logs", "workflow_execution_logs"),
];

/// A contract column a seed's table keeps under another name: (contract table, contract
/// column, the seed's column).
pub const RENAMES: &[(&str, &str, &str)] = &[
    ("workflow_executions", "error_message", "last_error"),
    ("workflow_step_logs", "execution_id", "workflow_id"),
    ("workflow_step_logs", "output", "result"),
];

/// The contract table `t`, or the seed's table that stands for it (seed 001's instances also
/// stand for its workflows: one per event and workflow type).
pub fn has_or_alias(c: &Catalog, t: &str) -> bool {
    c.has(t)
        || ALIASES
            .iter()
            .any(|(contract, seed)| *contract == t && c.has(seed))
        || (t == "workflows"
            && (c.has("automation_workflows")
                || c.column("workflow_errors", "workflow_id")
                    .is_some_and(|w| w.udt != "uuid")))
        || (t == "reconciliation_discrepancies"
            && c.column("reconciliation_logs", "details")
                .is_some_and(|d| matches!(d.udt.as_str(), "json" | "jsonb")))
}

/// The seeds' tables that are not in the contract but that opsdeck reads.
pub const SEED_TABLES: &[&str] = &[
    "automation_workflows",
    "workflow_execution_logs",
    "reconciliation_logs",
];

/// What kind of database it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// None of the tables: `opsdeck migrate` creates the whole contract.
    Fresh,
    /// opsdeck's own schema (its migrations are recorded).
    Opsdeck,
    /// The platform's tables are there, written by others, without opsdeck's bookkeeping.
    Existing,
    /// The platform's tables, adopted: opsdeck reads them through its views in `opsdeck`.
    Adopted,
}

/// The groups of a plan, in the order a DBA reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Kept exactly as it is; opsdeck reads (and acts on) it through a mapping.
    Adopt,
    /// What opsdeck would add: its own schema and tables, indexes built concurrently.
    Add,
    /// Left alone: absent (its view says "not in this database") or not opsdeck's business.
    Skip,
    /// Needs a person's eyes: an unexpected type, a status word opsdeck does not know.
    Warn,
}

impl Group {
    pub fn label(self) -> &'static str {
        match self {
            Group::Adopt => "adopt",
            Group::Add => "add",
            Group::Skip => "skip",
            Group::Warn => "warning",
        }
    }
}

/// One line of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub group: Group,
    /// The table (or `table.column`, or `opsdeck.table`) it is about.
    pub subject: String,
    /// What opsdeck makes of it.
    pub what: String,
    /// What it costs the writers (a lock, a trigger on a hot table), when anything.
    pub cost: Option<String>,
    /// The exact SQL it runs (an `add` step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub kind: Kind,
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn group(&self, g: Group) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.group == g)
    }
}

/// The status words opsdeck knows per `table.column`, and what each one counts as.
pub fn known_words(column: &str) -> &'static [(&'static str, &'static str)] {
    match column {
        "workflow_executions.status" => &[
            ("pending", "pending"),
            ("running", "running"),
            ("waiting", "waiting"),
            ("completed", "completed"),
            ("failed", "failed"),
            ("cancelled", "cancelled"),
            // seed 000's n8n words
            ("success", "completed"),
            ("error", "failed"),
        ],
        "job_queue.status" => &[
            ("pending", "pending"),
            ("processing", "processing"),
            ("completed", "completed"),
            ("failed", "failed"),
            ("retrying", "retrying"),
            ("cancelled", "cancelled"),
        ],
        "workflows.status" => &[
            ("active", "active"),
            ("paused", "paused"),
            ("disabled", "disabled"),
        ],
        "automation_workflows.status" => &[
            ("pending", "pending"),
            ("active", "running"),
            ("paused", "paused"),
            ("completed", "completed"),
            ("failed", "failed"),
            ("cancelled", "cancelled"),
        ],
        "tickets.status" => &[
            ("reserved", "reserved"),
            ("sold", "sold"),
            // seed 000's Stripe hub
            ("paid", "sold"),
            ("refunded", "refunded"),
            ("partially_refunded", "refunded"),
            ("cancelled", "cancelled"),
        ],
        _ => &[],
    }
}

/// The status columns whose words the store samples.
pub const WORD_COLUMNS: &[(&str, &str)] = &[
    ("workflow_executions", "status"),
    ("job_queue", "status"),
    ("workflows", "status"),
    ("automation_workflows", "status"),
    ("tickets", "status"),
];

/// Seed 000's Error Analysis categories, in the order they are tried, with the words of a
/// message that put it in each: the first match wins, and nothing is `unknown` ("other").
/// [`classify_error`] applies them in Rust, and adoption's SQL (`api::store::adopt::script`)
/// the same list.
pub const ERROR_CLASSES: &[(&str, &[&str])] = &[
    (
        "timeout",
        &["timeout", "timed out", "etimedout", "esockettimedout"],
    ),
    (
        "authentication_failed",
        &[
            "401",
            "403",
            "unauthorized",
            "unauthorised",
            "forbidden",
            "authentication",
            "invalid api key",
            "invalid token",
            "expired token",
            "token expired",
            "credentials",
        ],
    ),
    (
        "rate_limit",
        &[
            "429",
            "rate limit",
            "rate-limit",
            "too many requests",
            "quota",
        ],
    ),
    (
        "network",
        &[
            "econnrefused",
            "econnreset",
            "enotfound",
            "eai_again",
            "ehostunreach",
            "socket hang up",
            "network",
            "getaddrinfo",
            "connection refused",
            "connection reset",
        ],
    ),
];

/// An error row without an `error_type`: its category from the message ([`ERROR_CLASSES`]).
pub fn classify_error(message: &str) -> &'static str {
    let m = message.to_lowercase();
    ERROR_CLASSES
        .iter()
        .find(|(_, words)| words.iter().any(|w| m.contains(w)))
        .map(|(class, _)| *class)
        .unwrap_or("unknown")
}

fn step(group: Group, subject: impl Into<String>, what: impl Into<String>) -> Step {
    Step {
        group,
        subject: subject.into(),
        what: what.into(),
        cost: None,
        sql: None,
    }
}

fn is_text(c: &Column) -> bool {
    matches!(
        c.data_type.as_str(),
        "text" | "character varying" | "character" | "varchar"
    )
}

fn is_time(c: &Column) -> bool {
    c.data_type.starts_with("timestamp")
}

/// The kind of database this catalog describes.
pub fn kind(c: &Catalog) -> Kind {
    if c.adoption.is_some() {
        Kind::Adopted
    } else if c.migrations.as_ref().is_some_and(|m| !m.is_empty()) {
        Kind::Opsdeck
    } else if CONTRACT_TABLES.iter().chain(SEED_TABLES).any(|t| c.has(t)) {
        Kind::Existing
    } else {
        Kind::Fresh
    }
}

/// What opsdeck makes of this database: what it adopts and how it reads it, what it skips,
/// what it warns about. What an adoption adds (its exact SQL) is the store's to say
/// (`api::store::adopt::plan`).
pub fn plan(c: &Catalog) -> Plan {
    let kind = kind(c);
    let mut steps = Vec::new();
    if matches!(kind, Kind::Existing | Kind::Adopted) {
        adopt_tables(c, &mut steps);
        for t in CONTRACT_TABLES.iter().filter(|t| !has_or_alias(c, t)) {
            if *t == "operator_actions" {
                continue; // opsdeck's own: under add
            }
            steps.push(step(
                Group::Skip,
                *t,
                "not in this database: once adopted, its view says so and `status --json` \
                 leaves it out",
            ));
        }
        words(c, &mut steps);
    }
    steps.sort_by_key(|s| s.group);
    Plan { kind, steps }
}

/// Tables whose reading does not depend on their columns.
const FIXED_READINGS: &[(&str, &str)] = &[
    ("workflow_step_logs", "a run's step logs, as they are"),
    ("tickets", "status paid counts as sold (seed 000)"),
    (
        "reconciliation_logs",
        "seed 000's reconciliation runs: read as the Reconciliation view's runs, and each element \
         of their details ({type, stripe_id, db_id}) as a discrepancy, open until an operator \
         resolves or ignores it (kept in opsdeck.reconciliation_discrepancies_extra)",
    ),
    (
        "automation_workflows",
        "seed 001's per-event workflow instances are the runs (status active = running, paused \
         shown as itself; steps_completed / steps_total, current_step, last_error), and each \
         (event, workflow_type) is a workflow: pause and resume act on its active / paused \
         instances, as the seed's manageWorkflows does; a run is retried by the seed itself \
         (retry_count), not by opsdeck",
    ),
    (
        "workflow_execution_logs",
        "seed 001's step logs of automation_workflows, as the runs' step logs",
    ),
];

fn adopt_tables(c: &Catalog, out: &mut Vec<Step>) {
    if c.has("workflows") {
        let s = match (
            c.column("workflows", "status"),
            c.column("workflows", "is_active"),
        ) {
            (Some(_), _) => step(Group::Adopt, "workflows", "status read as it is"),
            (None, Some(a)) if a.data_type == "boolean" => step(
                Group::Adopt,
                "workflows",
                "seed 004: is_active true = active, false = paused; pause and resume write \
                 is_active, who paused it and why go to opsdeck.workflows_extra",
            ),
            _ => step(
                Group::Warn,
                "workflows",
                "neither status nor a boolean is_active: every workflow shows as active and \
                 pause / resume are unavailable",
            ),
        };
        out.push(s);
    }
    if c.has("workflow_executions") {
        let mut notes = vec!["statuses success / error count as completed / failed".to_string()];
        if c.column("workflow_executions", "duration_ms").is_none() {
            notes.push("duration = completed_at - started_at".into());
        }
        for (col, meaning) in [
            ("steps_total", "progress"),
            ("current_step", "the current step"),
            ("event_id", "the event"),
        ] {
            if c.column("workflow_executions", col).is_none() {
                notes.push(format!("no {col}: {meaning} not shown"));
            }
        }
        if c.column("workflow_executions", "updated_at").is_none() {
            notes.push("no updated_at: the last change is completed_at, else started_at".into());
        }
        out.push(step(Group::Adopt, "workflow_executions", notes.join("; ")));
    }
    if c.has("job_queue") {
        let mut notes = vec!["depth, oldest pending, retry and cancel".to_string()];
        if c.column("job_queue", "updated_at").is_none() {
            notes.push(
                "no updated_at: the last change is completed_at, else started_at, else \
                 created_at"
                    .into(),
            );
        }
        if c.column("job_queue", "workflow_id").is_none() {
            notes.push(
                "no workflow_id: jobs belong to no workflow (pausing one holds none of its \
                 jobs; retry by workflow is unavailable)"
                    .into(),
            );
        }
        out.push(step(Group::Adopt, "job_queue", notes.join("; ")));
    }
    if c.has("workflow_errors") {
        let mut notes = Vec::new();
        match c.column("workflow_errors", "workflow_id") {
            Some(w) if is_text(w) => {
                notes.push("seed 000: workflow_id is n8n's workflow id (text)".to_string())
            }
            _ => {}
        }
        if c.column("workflow_errors", "error_type").is_none() {
            notes.push(
                "no error_type: classified from the message (timeout, authentication, rate \
                 limit, network, other), so criticality works on real rows"
                    .into(),
            );
        }
        if c.column("workflow_errors", "error_time")
            .is_some_and(is_time)
            && c.column("workflow_errors", "created_at").is_none()
        {
            notes.push("error_time is when".into());
        }
        if notes.is_empty() {
            notes.push("read as it is".into());
        }
        out.push(step(Group::Adopt, "workflow_errors", notes.join("; ")));
    }
    for (t, what) in FIXED_READINGS {
        if c.has(t) {
            out.push(step(Group::Adopt, *t, *what));
        }
    }
    // the rest of the contract's tables that are there (the first five have their own lines)
    for t in CONTRACT_TABLES.iter().skip(5).filter(|t| c.has(t)) {
        let fixed = FIXED_READINGS.iter().any(|(f, _)| f == t);
        if *t != "operator_actions" && !fixed {
            out.push(step(Group::Adopt, *t, "read as it is"));
        }
    }
}

fn words(c: &Catalog, out: &mut Vec<Step>) {
    for (col, found) in &c.words {
        let known = known_words(col);
        for (w, n) in found {
            if !known.iter().any(|(k, _)| k == w) {
                out.push(step(
                    Group::Warn,
                    col.clone(),
                    format!("status '{w}' ({n} rows) is unknown to opsdeck: shown as itself, counted as other"),
                ));
            }
        }
    }
    for (t, col, want) in [
        ("job_queue", "status", "text"),
        ("workflow_executions", "status", "text"),
        ("job_queue", "priority", "integer"),
        ("job_queue", "created_at", "timestamp"),
        ("workflow_executions", "started_at", "timestamp"),
    ] {
        if let Some(k) = c.column(t, col) {
            let ok = match want {
                "text" => is_text(k),
                "integer" => matches!(k.data_type.as_str(), "integer" | "bigint" | "smallint"),
                _ => is_time(k),
            };
            if !ok {
                out.push(step(
                    Group::Warn,
                    format!("{t}.{col}"),
                    format!(
                        "is {}, not {want}: shown raw, and rows opsdeck cannot read count as other",
                        k.data_type
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
