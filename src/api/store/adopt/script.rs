//! The SQL of an adoption: what `opsdeck migrate` runs on a database that already has the
//! platform's tables (and `migrate --plan --sql` prints). It does no IO: the same catalog and
//! options always give the same statements; the store (`super`) runs them.
//!
//! The shape of it:
//! - opsdeck's own things live in the schema `opsdeck`: its audit trail, its bookkeeping, one
//!   `<table>_extra` table per table it acts on for what that table has no column for (who
//!   paused a workflow and why, a run's `retried_as`), and the per-minute rollups.
//! - For every table of the contract, `opsdeck.<table>` is a view with exactly the contract's
//!   columns, read from the user's table through the seeds' mappings (`is_active` as status,
//!   `completed_at - started_at` as duration, `error_time` as created_at, n8n's words). A table
//!   the database does not have is an empty view, and the adoption records it as absent.
//! - opsdeck connects with `search_path = opsdeck, public`, so every read and action it already
//!   has runs on these views unchanged. Writers keep `public` and see nothing new but indexes and
//!   (optionally) triggers.
//! - Where opsdeck writes through a view that is not a plain column-for-column one, INSTEAD OF
//!   triggers write the user's columns and the extra table. They re-check the row as it was read
//!   (optimistic), so a conditional update that lost a race changes nothing and reports a
//!   conflict, as on opsdeck's own schema.
//! - Nothing of the user's is renamed, retyped, dropped or rewritten. Indexes are built
//!   `CONCURRENTLY` (outside a transaction; an interrupted build is dropped and built again).

use serde::Serialize;

use crate::domain::adopt::{
    ALIASES, Catalog, Column, ERROR_CLASSES, RENAMES, has_or_alias, known_words,
};

/// opsdeck's schema in an adopted database.
pub const SCHEMA: &str = "opsdeck";
/// The shape of the adoption this binary makes. A database adopted by a newer one is refused.
pub const VERSION: i32 = 1;
/// How far back the rollups reach when they are views (adoption without triggers) or when
/// triggers start (the backfill): the console's window is the last hour.
pub const ROLLUP_HOURS: i64 = 2;

/// How to adopt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Options {
    /// Rollup and NOTIFY triggers on the writers' tables; without them the console polls and
    /// the rollups are views over indexes.
    pub triggers: bool,
    /// The schema the platform's tables are in.
    pub user_schema: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            triggers: true,
            user_schema: "public".into(),
        }
    }
}

/// One statement of the adoption, with what a DBA needs to say yes to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stmt {
    pub subject: String,
    pub why: String,
    /// What it costs the writers (a lock, a trigger on a hot table), when anything.
    pub cost: Option<String>,
    pub sql: String,
    /// `CREATE INDEX CONCURRENTLY`: runs alone, outside a transaction.
    pub concurrently: bool,
    /// The index it builds, when it builds one (an interrupted build is dropped and redone).
    pub index: Option<String>,
}

fn stmt(subject: impl Into<String>, why: impl Into<String>, sql: impl Into<String>) -> Stmt {
    Stmt {
        subject: subject.into(),
        why: why.into(),
        cost: None,
        sql: sql.into(),
        concurrently: false,
        index: None,
    }
}

/// The contract's columns and their types, per table (migrations/postgres, as of 0009; the
/// rollups and opsdeck's own tables apart). `tests/adopt.rs` checks this against a database the
/// migrations made.
pub const CONTRACT: &[(&str, &[(&str, &str)])] = &[
    (
        "workflows",
        &[
            ("id", "uuid"),
            ("name", "text"),
            ("description", "text"),
            ("trigger_type", "text"),
            ("status", "text"),
            ("n8n_workflow_id", "text"),
            ("paused_by", "text"),
            ("paused_at", "timestamptz"),
            ("pause_reason", "text"),
            ("next_execution_at", "timestamptz"),
            ("created_at", "timestamptz"),
            ("updated_at", "timestamptz"),
        ],
    ),
    (
        "events",
        &[
            ("id", "uuid"),
            ("name", "text"),
            ("venue_name", "text"),
            ("city", "text"),
            ("start_at", "timestamptz"),
            ("end_at", "timestamptz"),
            ("capacity", "int4"),
            ("status", "text"),
            ("tickets_sold", "int4"),
            ("created_at", "timestamptz"),
            ("updated_at", "timestamptz"),
        ],
    ),
    (
        "workflow_executions",
        &[
            ("id", "uuid"),
            ("workflow_id", "uuid"),
            ("status", "text"),
            ("started_at", "timestamptz"),
            ("completed_at", "timestamptz"),
            ("duration_ms", "int8"),
            ("event_id", "uuid"),
            ("steps_total", "int4"),
            ("steps_completed", "int4"),
            ("current_step", "text"),
            ("error_message", "text"),
            ("context", "jsonb"),
            ("n8n_execution_id", "text"),
            ("updated_at", "timestamptz"),
            ("retried_as", "uuid"),
            ("retry_of", "uuid"),
        ],
    ),
    (
        "workflow_step_logs",
        &[
            ("id", "uuid"),
            ("execution_id", "uuid"),
            ("step_index", "int4"),
            ("step_name", "text"),
            ("status", "text"),
            ("input", "jsonb"),
            ("output", "jsonb"),
            ("error_message", "text"),
            ("duration_ms", "int8"),
            ("created_at", "timestamptz"),
        ],
    ),
    (
        "workflow_errors",
        &[
            ("id", "uuid"),
            ("workflow_id", "uuid"),
            ("execution_id", "uuid"),
            ("error_type", "text"),
            ("error_message", "text"),
            ("created_at", "timestamptz"),
        ],
    ),
    (
        "job_queue",
        &[
            ("id", "uuid"),
            ("job_type", "text"),
            ("payload", "jsonb"),
            ("status", "text"),
            ("priority", "int4"),
            ("attempts", "int4"),
            ("max_attempts", "int4"),
            ("scheduled_for", "timestamptz"),
            ("started_at", "timestamptz"),
            ("completed_at", "timestamptz"),
            ("error_message", "text"),
            ("workflow_id", "uuid"),
            ("locked_by", "text"),
            ("created_at", "timestamptz"),
            ("updated_at", "timestamptz"),
        ],
    ),
    (
        "tickets",
        &[
            ("id", "uuid"),
            ("event_id", "uuid"),
            ("tier", "text"),
            ("status", "text"),
            ("sold_at", "timestamptz"),
        ],
    ),
    (
        "capacity_alerts",
        &[
            ("id", "uuid"),
            ("event_id", "uuid"),
            ("threshold", "int4"),
            ("sold", "int4"),
            ("capacity", "int4"),
            ("created_at", "timestamptz"),
            ("acknowledged_by", "text"),
            ("acknowledged_at", "timestamptz"),
        ],
    ),
    (
        "approval_requests",
        &[
            ("id", "uuid"),
            ("type", "text"),
            ("data", "jsonb"),
            ("priority", "text"),
            ("requested_by", "text"),
            ("status", "text"),
            ("decided_by", "text"),
            ("decided_at", "timestamptz"),
            ("decision_note", "text"),
            ("resume_url", "text"),
            ("execution_id", "uuid"),
            ("created_at", "timestamptz"),
            ("expires_at", "timestamptz"),
            ("resume_status", "text"),
            ("resume_error", "text"),
            ("resumed_at", "timestamptz"),
            ("resume_attempt_at", "timestamptz"),
        ],
    ),
    (
        "rate_negotiations",
        &[
            ("id", "uuid"),
            ("approval_request_id", "uuid"),
            ("model_id", "text"),
            ("model_name", "text"),
            ("designer_id", "text"),
            ("designer_name", "text"),
            ("designer_tier", "text"),
            ("standard_rate", "int8"),
            ("proposed_rate", "int8"),
            ("show_count", "int4"),
            ("status", "text"),
            ("created_at", "timestamptz"),
        ],
    ),
    (
        "reconciliation_runs",
        &[
            ("id", "uuid"),
            ("reconciliation_date", "date"),
            ("stripe_count", "int4"),
            ("db_count", "int4"),
            ("discrepancy_count", "int4"),
            ("status", "text"),
            ("created_at", "timestamptz"),
        ],
    ),
    (
        "reconciliation_discrepancies",
        &[
            ("id", "uuid"),
            ("run_id", "uuid"),
            ("kind", "text"),
            ("stripe_id", "text"),
            ("db_id", "text"),
            ("stripe_amount", "int8"),
            ("db_amount", "int8"),
            ("status", "text"),
            ("resolved_by", "text"),
            ("resolved_at", "timestamptz"),
            ("note", "text"),
            ("created_at", "timestamptz"),
        ],
    ),
    (
        "people",
        &[
            ("id", "uuid"),
            ("name", "text"),
            ("phone", "text"),
            ("email", "text"),
            ("primary_channel", "text"),
            ("language", "text"),
            ("created_at", "timestamptz"),
        ],
    ),
    (
        "event_attendees",
        &[
            ("event_id", "uuid"),
            ("person_id", "uuid"),
            ("ticket_id", "uuid"),
        ],
    ),
    (
        "event_models",
        &[
            ("event_id", "uuid"),
            ("person_id", "uuid"),
            ("status", "text"),
        ],
    ),
    (
        "event_staff",
        &[
            ("event_id", "uuid"),
            ("person_id", "uuid"),
            ("role", "text"),
        ],
    ),
    (
        "emergency_broadcasts",
        &[
            ("id", "uuid"),
            ("idempotency_key", "text"),
            ("level", "text"),
            ("scope", "text"),
            ("event_id", "uuid"),
            ("venue_name", "text"),
            ("message", "text"),
            ("triggered_by", "text"),
            ("status", "text"),
            ("affected_count", "int4"),
            ("test", "bool"),
            ("created_at", "timestamptz"),
            ("completed_at", "timestamptz"),
            ("approved_by", "text"),
            ("approved_at", "timestamptz"),
            ("cancelled_by", "text"),
            ("cancelled_at", "timestamptz"),
            ("channels", "text"),
            ("follow_up_of", "uuid"),
            ("webhook_status", "text"),
            ("webhook_error", "text"),
            ("unreachable_count", "int4"),
            ("duplicate_count", "int4"),
        ],
    ),
    (
        "broadcast_deliveries",
        &[
            ("id", "uuid"),
            ("broadcast_id", "uuid"),
            ("person_id", "uuid"),
            ("channel", "text"),
            ("status", "text"),
            ("error", "text"),
            ("sent_at", "timestamptz"),
        ],
    ),
    (
        "system_metrics",
        &[
            ("id", "int8"),
            ("measured_at", "timestamptz"),
            ("cpu_usage", "float8"),
            ("memory_usage", "float8"),
            ("queue_depth", "int4"),
        ],
    ),
];

/// The tables opsdeck's actions update or insert into: each gets an extra table for the
/// columns it lacks, and INSTEAD OF triggers where its view is not a plain one.
pub const WRITTEN: &[&str] = &[
    "workflows",
    "workflow_executions",
    "job_queue",
    "approval_requests",
    "rate_negotiations",
    "capacity_alerts",
    "reconciliation_discrepancies",
    "emergency_broadcasts",
    "broadcast_deliveries",
];

/// The tables whose changes the console hears about (NOTIFY), as on opsdeck's own schema.
const NOTIFIED: &[&str] = &[
    "workflows",
    "workflow_executions",
    "workflow_errors",
    "job_queue",
    "events",
    "capacity_alerts",
    "approval_requests",
    "reconciliation_runs",
    "reconciliation_discrepancies",
    "emergency_broadcasts",
    "system_metrics",
];

/// The advisory-lock class of the NOTIFY gate (`'opsd'`), and its slots per second: an adopted
/// database notifies at most this often per table (the console's trailing refresh,
/// `app::TRAILING`, covers a slot).
const GATE_KEY: i32 = 0x6F70_7364;
const GATE_PER_S: i32 = 4;

/// What the triggers cost, as `opsdeck bench adopt` measured it (README, "What adoption costs
/// the writers"): the plan prints it beside the triggers.
const MEASURED: &str = "Measured with all of adoption's triggers on seed 004's queue loop at 1M \
    rows (insert, claim, complete; 4 writers): 0.90x the writers' throughput without adoption \
    (1.07x adopted without triggers); `opsdeck bench adopt` measures it on your machine";

/// The uuid of "no workflow" in the rollups (their key cannot be null).
pub const NIL_UUID: &str = "'00000000-0000-0000-0000-000000000000'::uuid";

/// What a contract column is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Src {
    /// The user's column (`col`), cast to the contract's type when `cast` names the user's
    /// type (written back with that cast).
    Direct { col: String, cast: Option<String> },
    /// An expression over the user's row (`{r}`); `write` is the
    /// user's column it writes back, and how (`NEW.<col>` is the new contract value).
    Expr {
        read: String,
        write: Option<(String, String)>,
    },
    /// Kept in opsdeck's extra table (the user's table has no such column, opsdeck writes it);
    /// read as the stand-in until opsdeck writes one. `over` is what it is read over instead
    /// of the stand-in (`updated_at`: the latest of the extra value and the row's own times).
    Extra { over: Option<String> },
    /// Absent: a constant.
    Standin,
}

/// What an absent column reads as (and defaults to), by the contract.
fn standin(col: &str, ty: &str) -> String {
    let v = match col {
        "steps_total" | "steps_completed" | "priority" | "attempts" | "stripe_count"
        | "db_count" | "discrepancy_count" | "affected_count" | "unreachable_count"
        | "duplicate_count" | "tickets_sold" | "capacity" | "step_index" => "0",
        "max_attempts" => "3",
        "context" | "payload" | "data" => "'{}'",
        "test" => "false",
        "language" => "'en'",
        "tier" => "'general'",
        "trigger_type" => "'webhook'",
        "error_type" => "'unknown'",
        _ => "NULL",
    };
    format!("{v}::{ty}")
}

/// A contract default for a column opsdeck inserts without (the view's default).
fn contract_default(col: &str, ty: &str) -> Option<String> {
    match (col, ty) {
        ("id", "uuid") => Some("gen_random_uuid()".into()),
        (_, "timestamptz") if matches!(col, "created_at" | "updated_at" | "at") => {
            Some("now()".into())
        }
        _ => {
            let s = standin(col, ty);
            (!s.starts_with("NULL")).then_some(s)
        }
    }
}

/// Whether the user's column can be read as the contract's type, and with which cast.
fn compatible(c: &Column, ty: &str) -> Option<Option<String>> {
    let u = c.udt.as_str();
    if u == ty {
        return Some(None);
    }
    let ok = match ty {
        // anything reads as text: a status of an unexpected type is shown raw (and counted as
        // other), never dropped
        "text" => true,
        "int4" | "int8" => matches!(u, "int2" | "int4" | "int8"),
        "float8" => matches!(u, "int2" | "int4" | "int8" | "float4" | "numeric"),
        "timestamptz" => u == "timestamp",
        "jsonb" => u == "json",
        "date" => matches!(u, "timestamp" | "timestamptz"),
        _ => false,
    };
    ok.then(|| Some(u.to_string()))
}

const UUID_RE: &str =
    "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'";

/// A text id read as a uuid where it is one, else null (never an error on a row).
fn uuid_of(e: &str) -> String {
    format!("CASE WHEN {e} ~ {UUID_RE} THEN CAST({e} AS uuid) END")
}

/// The seed 000 error classification as SQL over a message.
fn classify_sql(msg: &str) -> String {
    let mut s = "CASE".to_string();
    for (class, words) in ERROR_CLASSES {
        let likes: Vec<String> = words
            .iter()
            .map(|w| format!("strpos(lower({msg}), '{w}') > 0"))
            .collect();
        s.push_str(&format!(" WHEN {} THEN '{class}'", likes.join(" OR ")));
    }
    s.push_str(" ELSE 'unknown' END");
    s
}

/// A run's or a ticket's status word as the contract's.
/// Seed 001's instances: the workflow ("{event}:{workflow_type}") each belongs to.
const SEED_001_WORKFLOW: &str =
    "CAST(md5('seed001:' || CAST({r}.event_id AS text) || ':' || {r}.workflow_type) AS uuid)";

fn words_sql(table: &str, r: &str) -> String {
    let known = known_words(&format!("{table}.status"));
    let mut s = format!("CASE CAST({r}.status AS text)");
    for (w, means) in known.iter().filter(|(w, m)| w != m) {
        s.push_str(&format!(" WHEN '{w}' THEN '{means}'"));
    }
    s.push_str(&format!(" ELSE CAST({r}.status AS text) END"));
    s
}

struct Mapping<'a> {
    c: &'a Catalog,
    o: &'a Options,
}

impl Mapping<'_> {
    /// The user's table a contract table is read from: its own name, or the seed's name for
    /// the same thing ([`ALIASES`]) when the database has that instead.
    fn source_table<'t>(&self, t: &'t str) -> Option<&'t str> {
        if self.c.has(t) {
            return Some(t);
        }
        ALIASES
            .iter()
            .find(|(contract, seed)| *contract == t && self.c.has(seed))
            .map(|(_, seed)| *seed)
    }

    fn has(&self, t: &str) -> bool {
        self.source_table(t).is_some()
    }

    fn base(&self, t: &str, col: &str) -> Option<&Column> {
        self.c.column(self.source_table(t)?, col)
    }

    fn q(&self, t: &str) -> String {
        format!(
            "{}.{}",
            self.o.user_schema,
            self.source_table(t).unwrap_or(t)
        )
    }

    /// Where the contract's `t.col` comes from.
    fn source(&self, t: &str, col: &str, ty: &str) -> Src {
        let written = WRITTEN.contains(&t);
        let has = |c: &str| self.base(t, c).is_some();
        let from = self.source_table(t).unwrap_or(t);
        if let Some((_, _, seed_col)) = RENAMES
            .iter()
            .find(|(ct, cc, _)| *ct == t && *cc == col && from != t)
            && let Some(c) = self.c.column(from, seed_col)
            && let Some(cast) = compatible(c, ty)
        {
            return Src::Direct {
                col: seed_col.to_string(),
                cast,
            };
        }
        match (t, col) {
            ("workflow_executions", "workflow_id") if from == "automation_workflows" => {
                return Src::Expr {
                    read: SEED_001_WORKFLOW.into(),
                    write: None,
                };
            }
            ("workflow_executions", "started_at")
                if from == "automation_workflows" && has("started_at") && has("created_at") =>
            {
                // an instance that has not started yet is listed from its creation
                return Src::Expr {
                    read: "COALESCE({r}.started_at, {r}.created_at)".into(),
                    write: None,
                };
            }
            ("workflow_executions", "status") if from == "automation_workflows" => {
                // the seed's CHECK knows active, not running
                return Src::Expr {
                    read: words_sql(from, "{r}"),
                    write: Some((
                        "status".into(),
                        "CASE NEW.status WHEN 'running' THEN 'active' ELSE NEW.status END".into(),
                    )),
                };
            }
            ("workflows", "status")
                if !has("status") && self.base(t, "is_active").is_some_and(|c| c.udt == "bool") =>
            {
                return Src::Expr {
                    read: "CASE WHEN {r}.is_active IS FALSE THEN 'paused' ELSE 'active' END".into(),
                    write: Some(("is_active".into(), "NEW.status = 'active'".into())),
                };
            }
            ("workflow_executions" | "tickets", "status") if has("status") => {
                let c = self.base(t, "status").expect("has");
                if compatible(c, "text").is_some() {
                    return Src::Expr {
                        read: words_sql(t, "{r}"),
                        write: Some(("status".into(), format!("CAST(NEW.status AS {})", c.udt))),
                    };
                }
            }
            ("workflow_executions" | "workflow_step_logs", "duration_ms")
                if !has(col) && has("completed_at") && has("started_at") =>
            {
                return Src::Expr {
                    read: "CAST(EXTRACT(EPOCH FROM ({r}.completed_at - {r}.started_at)) * 1000 AS bigint)"
                        .into(),
                    write: None,
                };
            }
            (_, "updated_at") if !has(col) => {
                let times: Vec<String> = ["completed_at", "started_at", "created_at"]
                    .iter()
                    .filter(|c| self.base(t, c).is_some_and(|c| compatible(c, ty).is_some()))
                    .map(|c| format!("CAST({{r}}.{c} AS timestamptz)"))
                    .collect();
                let own = (!times.is_empty()).then(|| format!("COALESCE({})", times.join(", ")));
                if written {
                    return Src::Extra { over: own };
                }
                if let Some(own) = own {
                    return Src::Expr {
                        read: own,
                        write: None,
                    };
                }
            }
            ("workflow_errors", "error_type") if !has(col) && has("error_message") => {
                return Src::Expr {
                    read: classify_sql("{r}.error_message"),
                    write: None,
                };
            }
            ("workflow_errors", "created_at") if !has(col) && has("error_time") => {
                let c = self.base(t, "error_time").expect("has");
                if compatible(c, ty).is_some() {
                    return Src::Expr {
                        read: "CAST({r}.error_time AS timestamptz)".into(),
                        write: None,
                    };
                }
            }
            ("workflow_errors", "workflow_id") if has(col) && !self.is_uuid(t, col) => {
                // n8n's workflow id: the workflow that carries it, else the one of that name,
                // else a stable uuid of its own so that patterns still group per workflow
                let mut tries = vec![uuid_of("{r}.workflow_id")];
                if self.base("workflows", "n8n_workflow_id").is_some()
                    && self.is_uuid("workflows", "id")
                {
                    tries.push(format!(
                        "(SELECT w.id FROM {} w WHERE w.n8n_workflow_id = CAST({{r}}.workflow_id AS text) LIMIT 1)",
                        self.q("workflows")
                    ));
                }
                if has("workflow_name")
                    && self.base("workflows", "name").is_some()
                    && self.is_uuid("workflows", "id")
                {
                    tries.push(format!(
                        "(SELECT w.id FROM {} w WHERE w.name = {{r}}.workflow_name LIMIT 1)",
                        self.q("workflows")
                    ));
                }
                tries.push("CAST(md5('n8n:' || CAST({r}.workflow_id AS text)) AS uuid)".into());
                return Src::Expr {
                    read: format!("COALESCE({})", tries.join(", ")),
                    write: None,
                };
            }
            ("workflow_errors", "execution_id") if has(col) && !self.is_uuid(t, col) => {
                let mut tries = vec![uuid_of("CAST({r}.execution_id AS text)")];
                if self
                    .base("workflow_executions", "n8n_execution_id")
                    .is_some()
                    && self.is_uuid("workflow_executions", "id")
                {
                    tries.push(format!(
                        "(SELECT e.id FROM {} e WHERE e.n8n_execution_id = CAST({{r}}.execution_id AS text) LIMIT 1)",
                        self.q("workflow_executions")
                    ));
                }
                return Src::Expr {
                    read: format!("COALESCE({})", tries.join(", ")),
                    write: None,
                };
            }
            ("events", "tickets_sold") if !has(col) && self.has("tickets") => {
                return Src::Expr {
                    read: format!(
                        "(SELECT CAST(count(*) AS int) FROM {} t WHERE t.event_id = {{r}}.id \
                         AND CAST(t.status AS text) IN ('sold', 'paid'))",
                        self.q("tickets")
                    ),
                    write: None,
                };
            }
            (_, "id") if ty == "uuid" && has("id") && !self.is_uuid(t, "id") => {
                let c = self.base(t, "id").expect("has");
                if matches!(c.udt.as_str(), "int2" | "int4" | "int8") {
                    return Src::Expr {
                        read: "CAST('00000000-0000-0000-0000-' || lpad(to_hex({r}.id), 12, '0') AS uuid)"
                            .into(),
                        write: None,
                    };
                }
                return Src::Expr {
                    read: uuid_of("CAST({r}.id AS text)"),
                    write: None,
                };
            }
            _ => {}
        }
        match self.base(t, col) {
            Some(c) => match compatible(c, ty) {
                Some(cast) => Src::Direct {
                    col: col.to_string(),
                    cast,
                },
                None => Src::Standin,
            },
            None if written && col != "id" => Src::Extra { over: None },
            None => Src::Standin,
        }
    }

    fn is_uuid(&self, t: &str, col: &str) -> bool {
        self.base(t, col).is_some_and(|c| c.udt == "uuid")
    }
}

/// A column's value over the user's row `r`. An extra column is a scalar subquery on the extra
/// table's primary key, not a join: a read that does not use it never touches the extra table,
/// and the view's other columns keep their index-only scans (a join, even one the planner
/// removes, keeps the row's id needed).
fn read_expr(s: &Src, t: &str, col: &str, ty: &str, r: &str) -> String {
    let extra = || format!("(SELECT x.{col} FROM {SCHEMA}.{t}_extra x WHERE x.id = {r}.id)");
    match s {
        Src::Direct { col, cast: None } => format!("{r}.{col}"),
        // a bigint read as the contract's integer: a value that does not fit reads as absent
        // rather than failing every read of the view
        Src::Direct { col, cast: Some(u) } if ty == "int4" && u == "int8" => format!(
            "CASE WHEN {r}.{col} BETWEEN -2147483648 AND 2147483647 THEN CAST({r}.{col} AS int4) END"
        ),
        Src::Direct { col, cast: Some(_) } => format!("CAST({r}.{col} AS {ty})"),
        Src::Expr { read, .. } => read.replace("{r}", r),
        Src::Extra { over: Some(o) } => {
            format!("GREATEST({}, {})", extra(), o.replace("{r}", r))
        }
        Src::Extra { over: None } => format!("COALESCE({}, {})", extra(), standin(col, ty)),
        Src::Standin => standin(col, ty),
    }
}

/// One contract table's adoption: its view, and what writing through it takes.
struct TableSql {
    view: String,
    /// What the extra statement is called and why, when not `opsdeck.<table>_extra`.
    extra_about: Option<(String, String)>,
    /// The extra table, when the view reads one.
    extra: Option<String>,
    /// `ALTER VIEW … SET DEFAULT` for the columns opsdeck inserts without.
    defaults: Vec<String>,
    /// INSTEAD OF triggers (functions and triggers), when the view is not a plain one.
    triggers: Option<String>,
    notes: Vec<String>,
}

impl Mapping<'_> {
    fn table(&self, t: &str, cols: &[(&str, &str)]) -> TableSql {
        let v = format!("{SCHEMA}.{t}");
        if t == "workflows" && !self.c.has("workflows") && self.c.has("automation_workflows") {
            return self.seed_001_workflows();
        }
        if t == "workflows"
            && !self.c.has("workflows")
            && self
                .c
                .column("workflow_errors", "workflow_id")
                .is_some_and(|w| w.udt != "uuid")
        {
            return self.seed_000_workflows();
        }
        if t == "reconciliation_discrepancies"
            && !self.c.has(t)
            && self
                .c
                .column("reconciliation_logs", "details")
                .is_some_and(|d| matches!(d.udt.as_str(), "json" | "jsonb"))
        {
            return self.seed_000_discrepancies();
        }
        if !self.has(t) {
            let list: Vec<String> = cols
                .iter()
                .map(|(c, ty)| format!("CAST(NULL AS {ty}) AS {c}"))
                .collect();
            // opsdeck's statements that touch it must still plan: an UPDATE matches no row, an
            // INSERT says the table is not there
            let triggers = WRITTEN.contains(&t).then(|| {
                format!(
                    "DROP TRIGGER IF EXISTS opsdeck_absent ON {v};\n\
                     CREATE TRIGGER opsdeck_absent INSTEAD OF INSERT OR UPDATE OR DELETE ON {v} \
                     FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.absent()"
                )
            });
            return TableSql {
                extra_about: None,
                view: format!(
                    "CREATE OR REPLACE VIEW {v} AS SELECT {} WHERE false",
                    list.join(", ")
                ),
                extra: None,
                defaults: vec![],
                triggers,
                notes: vec![],
            };
        }
        let srcs: Vec<(&str, &str, Src)> = cols
            .iter()
            .map(|(c, ty)| (*c, *ty, self.source(t, c, ty)))
            .collect();
        let written = WRITTEN.contains(&t);
        let id_uuid = self.is_uuid(t, "id");
        let extras: Vec<(&str, &str)> = srcs
            .iter()
            .filter(|(_, _, s)| matches!(s, Src::Extra { .. }))
            .map(|(c, ty, _)| (*c, *ty))
            .collect();
        let has_extra = written && id_uuid && !extras.is_empty();
        let mut notes = Vec::new();
        for (c, ty, s) in &srcs {
            if *s == Src::Standin && self.base(t, c).is_some() {
                let k = self.base(t, c).expect("some");
                notes.push(format!(
                    "{t}.{c} is {}, not {ty}: read as absent",
                    k.data_type
                ));
            }
        }
        let list: Vec<String> = srcs
            .iter()
            .map(|(c, ty, s)| {
                let s = if !has_extra && matches!(s, Src::Extra { .. }) {
                    match s {
                        Src::Extra { over: Some(o) } => Src::Expr {
                            read: o.clone(),
                            write: None,
                        },
                        _ => Src::Standin,
                    }
                } else {
                    s.clone()
                };
                format!("{} AS {c}", read_expr(&s, t, c, ty, "b"))
            })
            .collect();
        let from = format!("{} b", self.q(t));
        let view = format!(
            "CREATE OR REPLACE VIEW {v} AS SELECT {} FROM {from}",
            list.join(", ")
        );
        let extra = has_extra.then(|| {
            let cols: Vec<String> = extras.iter().map(|(c, ty)| format!("{c} {ty}")).collect();
            format!(
                "CREATE TABLE IF NOT EXISTS {SCHEMA}.{t}_extra (id uuid PRIMARY KEY, {})",
                cols.join(", ")
            )
        });
        let plain = srcs
            .iter()
            .all(|(_, _, s)| matches!(s, Src::Direct { cast: None, .. } | Src::Standin))
            && !srcs.iter().any(|(_, _, s)| *s == Src::Standin);
        let mut defaults = Vec::new();
        let mut triggers = None;
        if written && !id_uuid {
            notes.push(format!(
                "{t}.id is not a uuid: opsdeck reads {t} but cannot act on it"
            ));
        }
        if written && id_uuid {
            for (c, ty, s) in &srcs {
                let d = match s {
                    Src::Direct { col, .. } if *c != "id" => {
                        self.base(t, col).and_then(|k| k.default.clone())
                    }
                    _ => contract_default(c, ty),
                };
                if let Some(d) = d {
                    defaults.push(format!("ALTER VIEW {v} ALTER COLUMN {c} SET DEFAULT {d}"));
                }
            }
            if !plain {
                triggers = Some(self.instead_of(t, &srcs, has_extra, &extras));
            }
        }
        TableSql {
            view,
            extra_about: None,
            extra,
            defaults,
            triggers,
            notes,
        }
    }

    /// INSTEAD OF UPDATE and INSERT on a view that is not column-for-column.
    fn instead_of(
        &self,
        t: &str,
        srcs: &[(&str, &str, Src)],
        has_extra: bool,
        extras: &[(&str, &str)],
    ) -> String {
        let base = self.q(t);
        let mut sets = Vec::new();
        let mut ins_cols = Vec::new();
        let mut ins_vals = Vec::new();
        let mut guard_b = Vec::new();
        let mut guard_old = Vec::new();
        for (c, ty, s) in srcs {
            match s {
                Src::Direct { col, cast } => {
                    let new = match cast {
                        Some(u) => format!("CAST(NEW.{c} AS {u})"),
                        None => format!("NEW.{c}"),
                    };
                    if *c != "id" {
                        sets.push(format!(
                            "{col} = CASE WHEN NEW.{c} IS DISTINCT FROM OLD.{c} THEN {new} ELSE b.{col} END"
                        ));
                    }
                    ins_cols.push(col.clone());
                    ins_vals.push(new);
                    guard_b.push(read_expr(s, t, c, ty, "b"));
                    guard_old.push(format!("OLD.{c}"));
                }
                Src::Expr { read, write } => {
                    if let Some((col, how)) = write {
                        sets.push(format!(
                            "{col} = CASE WHEN NEW.{c} IS DISTINCT FROM OLD.{c} THEN {how} ELSE b.{col} END"
                        ));
                        ins_cols.push(col.clone());
                        ins_vals.push(how.clone());
                    }
                    if !read.contains("SELECT") {
                        guard_b.push(read_expr(s, t, c, ty, "b"));
                        guard_old.push(format!("OLD.{c}"));
                    }
                }
                Src::Extra { .. } | Src::Standin => {}
            }
        }
        if sets.is_empty() {
            sets.push("id = b.id".into());
        }
        // what the view read from the extra table must still be so (a run's retried_as): with
        // the user's row locked first, two operators retrying one run cannot both pass
        let extra_check = if has_extra {
            // read as the view reads them
            let read: Vec<String> = srcs
                .iter()
                .filter(|(_, _, s)| matches!(s, Src::Extra { .. }))
                .map(|(c, ty, s)| read_expr(s, t, c, ty, "b"))
                .collect();
            let old: Vec<String> = srcs
                .iter()
                .filter(|(_, _, s)| matches!(s, Src::Extra { .. }))
                .map(|(c, _, _)| format!("OLD.{c}"))
                .collect();
            format!(
                "IF (SELECT ROW({}) FROM {base} b WHERE b.id = OLD.id) IS DISTINCT FROM ROW({}) THEN RETURN NULL; END IF;",
                read.join(", "),
                old.join(", ")
            )
        } else {
            String::new()
        };
        let upsert = if has_extra {
            let cols: Vec<&str> = extras.iter().map(|(c, _)| *c).collect();
            let news: Vec<String> = cols.iter().map(|c| format!("NEW.{c}")).collect();
            let ex: Vec<String> = cols.iter().map(|c| format!("{c} = EXCLUDED.{c}")).collect();
            format!(
                "INSERT INTO {SCHEMA}.{t}_extra (id, {}) VALUES (NEW.id, {}) \
                 ON CONFLICT (id) DO UPDATE SET {};",
                cols.join(", "),
                news.join(", "),
                ex.join(", ")
            )
        } else {
            String::new()
        };
        let insert = if self.source_table(t) == Some("automation_workflows") {
            // an instance needs its event, name, type and definition, which a retry does not
            // have; the seed retries an instance itself (retry_count, max_retries)
            "RAISE EXCEPTION 'seed 001 retries a workflow instance itself (retry_count, max_retries): opsdeck does not start one';".to_string()
        } else {
            format!(
                "INSERT INTO {base} ({}) VALUES ({});\n\x20   {upsert}\n\x20   RETURN NEW;",
                ins_cols.join(", "),
                ins_vals.join(", ")
            )
        };
        format!(
            "CREATE OR REPLACE FUNCTION {SCHEMA}.{t}_update() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
             BEGIN\n\
             \x20   PERFORM 1 FROM {base} b WHERE b.id = OLD.id FOR UPDATE;\n\
             \x20   IF NOT FOUND THEN RETURN NULL; END IF;\n\
             \x20   {extra_check}\n\
             \x20   UPDATE {base} b SET {sets}\n\
             \x20   WHERE b.id = OLD.id AND ROW({gb}) IS NOT DISTINCT FROM ROW({go});\n\
             \x20   IF NOT FOUND THEN RETURN NULL; END IF;\n\
             \x20   {upsert}\n\
             \x20   RETURN NEW;\n\
             END $f$;\n\
             CREATE OR REPLACE FUNCTION {SCHEMA}.{t}_insert() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
             BEGIN\n\
             \x20   {insert}\n\
             END $f$;\n\
             DROP TRIGGER IF EXISTS opsdeck_update ON {SCHEMA}.{t};\n\
             CREATE TRIGGER opsdeck_update INSTEAD OF UPDATE ON {SCHEMA}.{t} FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.{t}_update();\n\
             DROP TRIGGER IF EXISTS opsdeck_insert ON {SCHEMA}.{t};\n\
             CREATE TRIGGER opsdeck_insert INSTEAD OF INSERT ON {SCHEMA}.{t} FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.{t}_insert()",
            sets = sets.join(", "),
            gb = guard_b.join(", "),
            go = guard_old.join(", "),
        )
    }

    /// Seed 001 has no workflow definitions table: each (event, workflow_type) of its
    /// instances is a workflow, active unless its instances are paused and none active; pause
    /// and resume act on that pair's active / paused instances, as the seed's manageWorkflows.
    fn seed_001_workflows(&self) -> TableSql {
        let base = self.q("automation_workflows");
        let a = |c: &str| self.c.column("automation_workflows", c).is_some();
        let id = SEED_001_WORKFLOW.replace("{r}", "a");
        let ev_name = if self.c.column("events", "name").is_some() {
            "COALESCE(e.name, CAST(a.event_id AS text))"
        } else {
            "CAST(a.event_id AS text)"
        };
        let join = if self.c.column("events", "id").is_some() {
            format!("LEFT JOIN {} e ON e.id = a.event_id", self.q("events"))
        } else {
            String::new()
        };
        let group_name = if join.is_empty() { "" } else { ", e.name" };
        let when = |c: &str, agg: &str| {
            if a(c) {
                format!("{agg}(a.{c})")
            } else {
                "CAST(NULL AS timestamptz)".into()
            }
        };
        let next = if a("next_execution_at") {
            "min(a.next_execution_at) FILTER (WHERE a.status = 'active')".to_string()
        } else {
            "CAST(NULL AS timestamptz)".into()
        };
        let extra =
            |c: &str| format!("(SELECT x.{c} FROM {SCHEMA}.workflows_extra x WHERE x.id = w.id)");
        let view = format!(
            "CREATE OR REPLACE VIEW {SCHEMA}.workflows AS SELECT w.id, w.name, \
             CAST(NULL AS text) AS description, CAST('schedule' AS text) AS trigger_type, w.status, \
             CAST(NULL AS text) AS n8n_workflow_id, {pb} AS paused_by, {pa} AS paused_at, \
             {pr} AS pause_reason, w.next_execution_at, w.created_at, w.updated_at FROM ( \
             SELECT {id} AS id, {ev_name} || ' · ' || a.workflow_type AS name, \
             CASE WHEN count(*) FILTER (WHERE a.status = 'paused') > 0 \
             AND count(*) FILTER (WHERE a.status = 'active') = 0 THEN 'paused' ELSE 'active' END AS status, \
             {next} AS next_execution_at, {ca} AS created_at, {ua} AS updated_at \
             FROM {base} a {join} GROUP BY a.event_id{group_name}, a.workflow_type) w",
            pb = extra("paused_by"),
            pa = extra("paused_at"),
            pr = extra("pause_reason"),
            ca = when("created_at", "min"),
            ua = when("updated_at", "max"),
        );
        let touch = if a("updated_at") {
            ", updated_at = now()"
        } else {
            ""
        };
        let triggers = format!(
            "CREATE OR REPLACE FUNCTION {SCHEMA}.workflows_update() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
             BEGIN\n\
             \x20   IF NEW.status IS DISTINCT FROM OLD.status THEN\n\
             \x20       IF NEW.status = 'paused' THEN\n\
             \x20           UPDATE {base} a SET status = 'paused'{touch} WHERE {id} = OLD.id AND a.status = 'active';\n\
             \x20       ELSIF NEW.status = 'active' THEN\n\
             \x20           UPDATE {base} a SET status = 'active'{touch} WHERE {id} = OLD.id AND a.status = 'paused';\n\
             \x20       ELSE\n\
             \x20           RAISE EXCEPTION 'a seed 001 workflow is active or paused, not %', NEW.status;\n\
             \x20       END IF;\n\
             \x20       IF NOT FOUND THEN RETURN NULL; END IF;\n\
             \x20   END IF;\n\
             \x20   INSERT INTO {SCHEMA}.workflows_extra (id, paused_by, paused_at, pause_reason)\n\
             \x20       VALUES (OLD.id, NEW.paused_by, NEW.paused_at, NEW.pause_reason)\n\
             \x20       ON CONFLICT (id) DO UPDATE SET paused_by = EXCLUDED.paused_by,\n\
             \x20       paused_at = EXCLUDED.paused_at, pause_reason = EXCLUDED.pause_reason;\n\
             \x20   RETURN NEW;\n\
             END $f$;\n\
             DROP TRIGGER IF EXISTS opsdeck_update ON {SCHEMA}.workflows;\n\
             CREATE TRIGGER opsdeck_update INSTEAD OF UPDATE ON {SCHEMA}.workflows FOR EACH ROW \
             EXECUTE FUNCTION {SCHEMA}.workflows_update()"
        );
        TableSql {
            view,
            extra_about: None,
            extra: Some(format!(
                "CREATE TABLE IF NOT EXISTS {SCHEMA}.workflows_extra (id uuid PRIMARY KEY, \
                 paused_by text, paused_at timestamptz, pause_reason text)"
            )),
            defaults: vec![],
            triggers: Some(triggers),
            notes: vec![],
        }
    }

    /// Seed 000 has no workflows table: its workflows live in n8n, and the Global Error
    /// Handler names them by n8n's id (and name, where it writes one). opsdeck keeps the ones it
    /// has seen in `opsdeck.n8n_workflows` (filled at adoption, and by a trigger on new errors
    /// when adopted with triggers), so errors and patterns carry the workflow's name. They are
    /// paused in n8n, not here.
    fn seed_000_workflows(&self) -> TableSql {
        let errors = self.q("workflow_errors");
        let name = if self.c.column("workflow_errors", "workflow_name").is_some() {
            "max(CAST(e.workflow_name AS text))"
        } else {
            "CAST(NULL AS text)"
        };
        let new_name = if self.c.column("workflow_errors", "workflow_name").is_some() {
            "CAST(NEW.workflow_name AS text)"
        } else {
            "CAST(NULL AS text)"
        };
        let id = "CAST(md5('n8n:' || CAST({e}.workflow_id AS text)) AS uuid)";
        let extra = format!(
            "CREATE TABLE IF NOT EXISTS {SCHEMA}.n8n_workflows (id uuid PRIMARY KEY, n8n_id text NOT NULL UNIQUE, \
             name text, first_seen timestamptz NOT NULL DEFAULT now());\n\
             INSERT INTO {SCHEMA}.n8n_workflows (id, n8n_id, name) \
             SELECT {eid}, CAST(e.workflow_id AS text), {name} FROM {errors} e \
             WHERE e.workflow_id IS NOT NULL GROUP BY e.workflow_id ON CONFLICT (n8n_id) DO NOTHING",
            eid = id.replace("{e}", "e"),
        );
        // without the trigger, the workflows first seen after adoption come from the last
        // hours' errors (through the index on their time)
        let when = ["error_time", "created_at"]
            .into_iter()
            .find(|c| self.c.column("workflow_errors", c).is_some());
        let known = match when {
            Some(when) if !self.o.triggers => format!(
                "SELECT id, n8n_id, name, first_seen FROM {SCHEMA}.n8n_workflows UNION ALL \
                 SELECT {eid}, CAST(e.workflow_id AS text), {name}, min(CAST(e.{when} AS timestamptz)) \
                 FROM {errors} e WHERE e.{when} >= now() - interval '{h} hours' AND e.workflow_id IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.n8n_workflows k WHERE k.n8n_id = CAST(e.workflow_id AS text)) \
                 GROUP BY e.workflow_id",
                eid = id.replace("{e}", "e"),
                h = ROLLUP_HOURS,
            ),
            _ => format!("SELECT id, n8n_id, name, first_seen FROM {SCHEMA}.n8n_workflows"),
        };
        let view = format!(
            "CREATE OR REPLACE VIEW {SCHEMA}.workflows AS SELECT w.id, COALESCE(w.name, w.n8n_id) AS name, \
             CAST('an n8n workflow, seen in workflow_errors' AS text) AS description, \
             CAST('n8n' AS text) AS trigger_type, CAST('active' AS text) AS status, w.n8n_id AS n8n_workflow_id, \
             CAST(NULL AS text) AS paused_by, CAST(NULL AS timestamptz) AS paused_at, \
             CAST(NULL AS text) AS pause_reason, CAST(NULL AS timestamptz) AS next_execution_at, \
             w.first_seen AS created_at, w.first_seen AS updated_at FROM ({known}) w"
        );
        let mut triggers = format!(
            "CREATE OR REPLACE FUNCTION {SCHEMA}.n8n_workflow_paused() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
             BEGIN\n\
             \x20   RAISE EXCEPTION '% lives in n8n: pause it there (this database has no workflows table to pause it in)', OLD.name;\n\
             END $f$;\n\
             DROP TRIGGER IF EXISTS opsdeck_update ON {SCHEMA}.workflows;\n\
             CREATE TRIGGER opsdeck_update INSTEAD OF UPDATE ON {SCHEMA}.workflows FOR EACH ROW \
             EXECUTE FUNCTION {SCHEMA}.n8n_workflow_paused()"
        );
        if self.o.triggers {
            triggers.push_str(&format!(
                ";\nCREATE OR REPLACE FUNCTION {SCHEMA}.n8n_workflow_seen() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
                 BEGIN\n\
                 \x20   INSERT INTO {SCHEMA}.n8n_workflows (id, n8n_id, name)\n\
                 \x20       VALUES ({nid}, CAST(NEW.workflow_id AS text), {new_name}) ON CONFLICT (n8n_id) DO NOTHING;\n\
                 \x20   RETURN NULL;\n\
                 END $f$;\n\
                 DROP TRIGGER IF EXISTS opsdeck_n8n_workflow ON {errors};\n\
                 CREATE TRIGGER opsdeck_n8n_workflow AFTER INSERT ON {errors} FOR EACH ROW \
                 WHEN (NEW.workflow_id IS NOT NULL) EXECUTE FUNCTION {SCHEMA}.n8n_workflow_seen()",
                nid = id.replace("{e}", "NEW"),
            ));
        }
        TableSql {
            view,
            extra_about: Some((
                "opsdeck.n8n_workflows".into(),
                "the n8n workflows seen in workflow_errors (id and name), so that errors and their \
                 patterns carry a workflow's name; filled now with one read of workflow_errors"
                    .into(),
            )),
            extra: Some(extra),
            defaults: vec![],
            triggers: Some(triggers),
            notes: vec![],
        }
    }

    /// Seed 000 keeps a reconciliation's discrepancies as the `details` list of its log row
    /// (`{type, stripe_id, db_id}`, amounts when there): one discrepancy per element, open
    /// until an operator resolves or ignores it (kept in the extra table, the log row as it is).
    fn seed_000_discrepancies(&self) -> TableSql {
        let base = self.q("reconciliation_logs");
        let l = |c: &str| self.c.column("reconciliation_logs", c).is_some();
        let run_id = self
            .expr("reconciliation_runs", "id", "l")
            .unwrap_or_else(|| NIL_UUID.to_string());
        let created = if l("created_at") {
            "CAST(l.created_at AS timestamptz)"
        } else {
            "CAST(NULL AS timestamptz)"
        };
        let amount = |k: &str| {
            format!("CASE WHEN (e.v->>'{k}') ~ '^-?[0-9]+$' THEN CAST(e.v->>'{k}' AS bigint) END")
        };
        let extra = |c: &str| {
            format!(
                "(SELECT x.{c} FROM {SCHEMA}.reconciliation_discrepancies_extra x WHERE x.id = d.id)"
            )
        };
        let view = format!(
            "CREATE OR REPLACE VIEW {SCHEMA}.reconciliation_discrepancies AS SELECT d.id, d.run_id, \
             d.kind, d.stripe_id, d.db_id, d.stripe_amount, d.db_amount, \
             COALESCE({st}, 'open') AS status, {rb} AS resolved_by, {ra} AS resolved_at, {no} AS note, \
             d.created_at FROM ( \
             SELECT CAST(md5('seed000:' || CAST(l.id AS text) || ':' || e.n) AS uuid) AS id, \
             {run_id} AS run_id, e.v->>'type' AS kind, e.v->>'stripe_id' AS stripe_id, \
             e.v->>'db_id' AS db_id, {sa} AS stripe_amount, {da} AS db_amount, {created} AS created_at \
             FROM {base} l CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN \
             jsonb_typeof(CAST(l.details AS jsonb)) = 'array' THEN CAST(l.details AS jsonb) \
             ELSE CAST('[]' AS jsonb) END) WITH ORDINALITY AS e(v, n)) d",
            st = extra("status"),
            rb = extra("resolved_by"),
            ra = extra("resolved_at"),
            no = extra("note"),
            sa = amount("stripe_amount"),
            da = amount("db_amount"),
        );
        let triggers = format!(
            "CREATE OR REPLACE FUNCTION {SCHEMA}.reconciliation_discrepancies_update() RETURNS trigger \
             LANGUAGE plpgsql AS $f$\n\
             BEGIN\n\
             \x20   -- the row as read must still be the row: a second operator resolving the same\n\
             \x20   -- discrepancy waits for the first, then changes nothing\n\
             \x20   INSERT INTO {SCHEMA}.reconciliation_discrepancies_extra AS x (id, status, resolved_by, resolved_at, note)\n\
             \x20       VALUES (OLD.id, NEW.status, NEW.resolved_by, NEW.resolved_at, NEW.note)\n\
             \x20       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, resolved_by = EXCLUDED.resolved_by,\n\
             \x20       resolved_at = EXCLUDED.resolved_at, note = EXCLUDED.note\n\
             \x20       WHERE x.status IS NOT DISTINCT FROM OLD.status;\n\
             \x20   IF NOT FOUND THEN RETURN NULL; END IF;\n\
             \x20   RETURN NEW;\n\
             END $f$;\n\
             DROP TRIGGER IF EXISTS opsdeck_update ON {SCHEMA}.reconciliation_discrepancies;\n\
             CREATE TRIGGER opsdeck_update INSTEAD OF UPDATE ON {SCHEMA}.reconciliation_discrepancies \
             FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.reconciliation_discrepancies_update()"
        );
        TableSql {
            view,
            extra_about: None,
            extra: Some(format!(
                "CREATE TABLE IF NOT EXISTS {SCHEMA}.reconciliation_discrepancies_extra (id uuid PRIMARY KEY, \
                 status text, resolved_by text, resolved_at timestamptz, note text)"
            )),
            defaults: vec![],
            triggers: Some(triggers),
            notes: vec![],
        }
    }

    fn expr(&self, t: &str, col: &str, r: &str) -> Option<String> {
        let ty = CONTRACT
            .iter()
            .find(|(n, _)| *n == t)?
            .1
            .iter()
            .find(|(c, _)| *c == col)?
            .1;
        match self.source(t, col, ty) {
            s @ (Src::Direct { .. } | Src::Expr { .. }) => {
                let e = read_expr(&s, t, col, ty, r);
                (!e.contains("SELECT")).then_some(e)
            }
            _ => None,
        }
    }
}

/// The statements that adopt this database, in order.
pub fn statements(c: &Catalog, o: &Options) -> Vec<Stmt> {
    let m = Mapping { c, o };
    let mut out = Vec::new();
    out.push(stmt(
        "opsdeck (schema)",
        "opsdeck's own tables and its views of yours live in a schema of their own; nothing of yours moves",
        format!(
            "CREATE SCHEMA IF NOT EXISTS {SCHEMA};\n\
             CREATE TABLE IF NOT EXISTS {SCHEMA}.adoption (\n\
             \x20   one boolean PRIMARY KEY DEFAULT true CHECK (one),\n\
             \x20   version integer NOT NULL,\n\
             \x20   triggers boolean NOT NULL,\n\
             \x20   script text NOT NULL,\n\
             \x20   done integer NOT NULL DEFAULT 0,\n\
             \x20   total integer NOT NULL,\n\
             \x20   started_at timestamptz NOT NULL DEFAULT now(),\n\
             \x20   finished_at timestamptz\n\
             );\n\
             CREATE TABLE IF NOT EXISTS {SCHEMA}.adopted_tables (name text PRIMARY KEY, present boolean NOT NULL);\n\
             CREATE OR REPLACE FUNCTION {SCHEMA}.absent() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
             BEGIN\n\
             \x20   RAISE EXCEPTION '% is not in this database (adopted without it)', TG_TABLE_NAME;\n\
             END $f$"
        ),
    ));
    out.push(stmt(
        "opsdeck.operator_actions",
        "the audit trail: one row per operator action, in the same transaction as its change",
        format!(
            "CREATE TABLE IF NOT EXISTS {SCHEMA}.operator_actions (\n\
             \x20   id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n\
             \x20   at timestamptz NOT NULL DEFAULT now(),\n\
             \x20   operator text NOT NULL,\n\
             \x20   origin text,\n\
             \x20   action text NOT NULL,\n\
             \x20   target_type text NOT NULL,\n\
             \x20   target_id text,\n\
             \x20   before jsonb,\n\
             \x20   after jsonb,\n\
             \x20   note text,\n\
             \x20   outcome text NOT NULL\n\
             );\n\
             CREATE INDEX IF NOT EXISTS opact_at_idx ON {SCHEMA}.operator_actions (at DESC, id DESC);\n\
             CREATE INDEX IF NOT EXISTS opact_target_idx ON {SCHEMA}.operator_actions (target_id, at DESC)"
        ),
    ));
    let tables: Vec<(&str, TableSql)> = CONTRACT
        .iter()
        .map(|(t, cols)| (*t, m.table(t, cols)))
        .collect();
    for (t, ts) in &tables {
        if let Some(e) = &ts.extra {
            if let Some((subject, what)) = &ts.extra_about {
                out.push(stmt(subject.clone(), what.clone(), e.clone()));
                continue;
            }
            let what = if *t == "workflows" {
                "who paused a workflow, when and why (and what else opsdeck writes that workflows has no column for)".to_string()
            } else {
                format!("what opsdeck writes that {t} has no column for")
            };
            out.push(stmt(format!("opsdeck.{t}_extra"), what, e.clone()));
        }
    }
    // indexes on the user's tables, built CONCURRENTLY
    out.extend(indexes(&m));
    for (t, ts) in &tables {
        let mut sql = ts.view.clone();
        for d in &ts.defaults {
            sql.push_str(";\n");
            sql.push_str(d);
        }
        if let Some(tr) = &ts.triggers {
            sql.push_str(";\n");
            sql.push_str(tr);
        }
        let why = if has_or_alias(c, t) {
            let mut w = format!("opsdeck's view of your {t}, read through the mappings above");
            if ts.triggers.is_some() {
                w.push_str("; opsdeck's actions write through it (INSTEAD OF triggers on the view, not on your table)");
            }
            w
        } else {
            format!("{t} is not in this database: an empty view, and its screen says so")
        };
        let mut s = stmt(format!("opsdeck.{t}"), why, sql);
        if !ts.notes.is_empty() {
            s.why
                .push_str(&format!(" (warning: {})", ts.notes.join("; ")));
        }
        out.push(s);
    }
    if !o.triggers {
        out.extend(untrigger(&m));
    }
    out.extend(rollups(&m));
    out.push(stmt(
        "opsdeck.opsdeck_open_jobs()",
        "exact counts of the open job states, read through the open-state index",
        format!(
            "CREATE OR REPLACE FUNCTION {SCHEMA}.opsdeck_open_jobs() RETURNS TABLE (status text, job_type text, n bigint)\n\
             LANGUAGE sql STABLE SET enable_bitmapscan = off SET enable_seqscan = off AS $f$\n\
             \x20   SELECT q.status, q.job_type, count(*) FROM {SCHEMA}.job_queue q\n\
             \x20   WHERE q.status IN ('pending', 'retrying', 'processing', 'failed')\n\
             \x20   GROUP BY q.status, q.job_type\n\
             $f$"
        ),
    ));
    if o.triggers {
        out.extend(notify(&m));
    }
    out.extend(act_functions());
    let present: Vec<String> = CONTRACT
        .iter()
        .map(|(t, _)| format!("('{t}', {})", has_or_alias(c, t)))
        .collect();
    out.push(stmt(
        "opsdeck.adopted_tables",
        "which of the contract's tables this database has (the console leaves the others out)",
        format!(
            "INSERT INTO {SCHEMA}.adopted_tables (name, present) VALUES {} \
             ON CONFLICT (name) DO UPDATE SET present = EXCLUDED.present",
            present.join(", ")
        ),
    ));
    out
}

/// The operator actions and broadcasts as database functions (issue 18): the same functions as
/// migrations 0011 to 0015 (with the alerts' table), in the schema `opsdeck`, working on its views (the INSTEAD OF triggers write the
/// user's tables). The roles (`opsdeck roles init`) then apply here as on opsdeck's own schema.
fn act_functions() -> Vec<Stmt> {
    const ACTIONS: &str = include_str!("../../../../migrations/postgres/0011_act_functions.sql");
    const BROADCASTS: &str =
        include_str!("../../../../migrations/postgres/0012_broadcast_functions.sql");
    const TEST_RECIPIENTS: &str =
        include_str!("../../../../migrations/postgres/0013_test_recipients.sql");
    const RECORD_N8N: &str = include_str!("../../../../migrations/postgres/0014_record_n8n.sql");
    const ALERTS: &str = include_str!("../../../../migrations/postgres/0015_alerts.sql");
    let body: String = ACTIONS
        .lines()
        .chain(BROADCASTS.lines())
        .chain(TEST_RECIPIENTS.lines())
        .chain(RECORD_N8N.lines())
        .chain(ALERTS.lines())
        .filter(|l| !l.starts_with("ALTER TABLE operator_actions"))
        .map(|l| {
            l.replace("public.opsdeck_", "opsdeck_")
                // the alerts' own table (0015): kept when adopting again
                .replace(
                    "CREATE TABLE opsdeck_",
                    &format!("CREATE TABLE IF NOT EXISTS {SCHEMA}.opsdeck_"),
                )
                .replace(
                    "CREATE UNIQUE INDEX opsdeck_alerts_open_idx ON opsdeck_",
                    &format!("CREATE UNIQUE INDEX IF NOT EXISTS opsdeck_alerts_open_idx ON {SCHEMA}.opsdeck_"),
                )
                .replace(
                    "CREATE INDEX opsdeck_alerts_raised_idx ON opsdeck_",
                    &format!("CREATE INDEX IF NOT EXISTS opsdeck_alerts_raised_idx ON {SCHEMA}.opsdeck_"),
                )
                .replace("CREATE OR REPLACE FUNCTION ", "CREATE FUNCTION ")
                .replace(
                    "CREATE FUNCTION ",
                    &format!("CREATE OR REPLACE FUNCTION {SCHEMA}."),
                )
                .replace(
                    "search_path = pg_catalog, public, pg_temp",
                    &format!("search_path = pg_catalog, {SCHEMA}, public, pg_temp"),
                )
                .replace("'public.", &format!("'{SCHEMA}."))
        })
        .collect::<Vec<_>>()
        .join("\n");
    vec![
        stmt(
            "opsdeck.operator_actions (login)",
            "the audit row names the database login, and a display name beside it",
            format!(
                "ALTER TABLE {SCHEMA}.operator_actions ADD COLUMN IF NOT EXISTS login text;\n\
                 ALTER TABLE {SCHEMA}.operator_actions ALTER COLUMN login SET DEFAULT session_user;\n\
                 ALTER TABLE {SCHEMA}.operator_actions ADD COLUMN IF NOT EXISTS display_name text"
            ),
        ),
        stmt(
            "opsdeck.opsdeck_act() and its helpers",
            "every operator action as one function that checks the login's opsdeck role, makes the \
             conditional change through opsdeck's views and writes the audit row",
            body,
        ),
    ]
}

fn index(subject: &str, why: &str, cost: &str, name: &str, sql: String) -> Stmt {
    Stmt {
        subject: subject.into(),
        why: why.into(),
        cost: Some(cost.into()),
        sql,
        concurrently: true,
        index: Some(name.into()),
    }
}

fn indexes(m: &Mapping) -> Vec<Stmt> {
    // an index expression must be immutable: a cast from an enum or from a timestamp without
    // time zone is not, so those columns get no index (the reads still work, unindexed)
    let text_like = |t: &str, c: &str| {
        m.base(t, c)
            .is_some_and(|k| matches!(k.udt.as_str(), "text" | "varchar" | "bpchar"))
    };
    let tstz = |t: &str, c: &str| m.base(t, c).is_some_and(|k| k.udt == "timestamptz");
    let mut out = Vec::new();
    let direct = |t: &str, col: &str| {
        m.base(t, col).is_some_and(|k| {
            compatible(k, "text").is_some()
                || compatible(k, "timestamptz").is_some()
                || k.udt == "timestamptz"
        })
    };
    if m.has("job_queue") && direct("job_queue", "status") && direct("job_queue", "created_at") {
        let jt = if m.base("job_queue", "job_type").is_some() {
            "status, job_type, created_at"
        } else {
            "status, created_at"
        };
        out.push(index(
            "job_queue: partial index on the open states",
            "exact queue depth and oldest pending without reading the finished jobs",
            "built CONCURRENTLY (no lock that stops the writers); one more index entry per insert and status change",
            "opsdeck_jq_open_idx",
            format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS opsdeck_jq_open_idx ON {} ({jt}) \
                 WHERE status IN ('pending', 'retrying', 'processing', 'failed')",
                m.q("job_queue")
            ),
        ));
        out.push(index(
            "job_queue: index on created_at",
            "the Queue list's newest page, bounded",
            "built CONCURRENTLY; one more index entry per insert",
            "opsdeck_jq_created_idx",
            format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS opsdeck_jq_created_idx ON {} (created_at DESC, id DESC)",
                m.q("job_queue")
            ),
        ));
    }
    if let Some(sa) = m
        .expr("workflow_executions", "started_at", "{r}")
        .filter(|_| tstz("workflow_executions", "started_at"))
    {
        let sa = sa.replace("{r}.", "");
        out.push(index(
            "workflow_executions: index on started_at",
            "the last hour's runs and the Runs list, bounded",
            "built CONCURRENTLY; one more index entry per insert",
            "opsdeck_wfx_started_idx",
            format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS opsdeck_wfx_started_idx ON {} (({sa}) DESC, id DESC)",
                m.q("workflow_executions")
            ),
        ));
    }
    if let Some(st) = m
        .expr("workflow_executions", "status", "{r}")
        .filter(|_| text_like("workflow_executions", "status"))
    {
        // the open runs counted exactly (the overview's waiting, the Workflows view's running),
        // whatever words the writers use: the index is on the expression the view reads
        let st = st.replace("{r}.", "");
        let wf = m
            .expr("workflow_executions", "workflow_id", "{r}")
            .map(|w| w.replace("{r}.", ""))
            .unwrap_or_else(|| NIL_UUID.to_string());
        out.push(index(
            "workflow_executions: partial index on the open states",
            "exact counts of pending, running and waiting runs without reading the finished ones",
            "built CONCURRENTLY; one more index entry per run started and per change between open states",
            "opsdeck_wfx_open_idx",
            format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS opsdeck_wfx_open_idx ON {} (({st}), ({wf})) \
                 WHERE ({st}) IN ('pending', 'running', 'waiting')",
                m.q("workflow_executions")
            ),
        ));
    }
    if m.has("workflow_executions") && m.base("workflow_executions", "completed_at").is_some() {
        out.push(index(
            "workflow_executions: index on completed_at",
            "the last hour's finished runs (the Workflows view's p95; without triggers, the overview's counts) read through this",
            "built CONCURRENTLY; one more index entry per finished run",
            "opsdeck_wfx_completed_idx",
            format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS opsdeck_wfx_completed_idx ON {} (completed_at) \
                 WHERE completed_at IS NOT NULL",
                m.q("workflow_executions")
            ),
        ));
    }
    if !m.o.triggers
        && m.has("job_queue")
        && m.base("job_queue", "completed_at").is_some()
        && direct("job_queue", "status")
    {
        out.push(index(
                "job_queue: index on completed jobs",
                "without triggers, the last hour's completed jobs are counted from the table through this",
                "built CONCURRENTLY; one more index entry per completed job",
                "opsdeck_jq_completed_idx",
                format!(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS opsdeck_jq_completed_idx ON {} (completed_at) \
                     WHERE status = 'completed'",
                    m.q("job_queue")
                ),
            ));
    }
    if m.has("workflow_errors") {
        let when = ["created_at", "error_time"]
            .into_iter()
            .find(|col| m.base("workflow_errors", col).is_some());
        if let Some(when) = when {
            out.push(index(
                "workflow_errors: index on when",
                "the last hour's errors and the Errors list, bounded",
                "built CONCURRENTLY; one more index entry per error",
                "opsdeck_wferr_when_idx",
                format!(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS opsdeck_wferr_when_idx ON {} ({when} DESC)",
                    m.q("workflow_errors")
                ),
            ));
        }
    }
    out
}

/// Drops a rollup relation of opsdeck's of the other kind (a table when a view is wanted, or
/// the other way round): switching adoption with and without triggers. Rollups are derived
/// data, rebuilt from the user's rows.
fn drop_other(name: &str, want_view: bool) -> String {
    let (kind, what) = if want_view {
        ("r", "TABLE")
    } else {
        ("v", "VIEW")
    };
    format!(
        "DO $d$ BEGIN IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = '{SCHEMA}' AND c.relname = '{name}' AND c.relkind = '{kind}') \
         THEN DROP {what} {SCHEMA}.{name} CASCADE; END IF; END $d$"
    )
}

/// Adopting without triggers a database adopted with them: opsdeck's triggers come off the
/// user's tables first (their functions would write rollup tables that become views).
fn untrigger(m: &Mapping) -> Vec<Stmt> {
    const OURS: &[&str] = &[
        "opsdeck_run_minutes",
        "opsdeck_run_minutes_upd",
        "opsdeck_job_minutes",
        "opsdeck_job_minutes_ins",
        "opsdeck_job_minutes_del",
        "opsdeck_job_minutes_upd",
        "opsdeck_notify",
        "opsdeck_notify_ins",
        "opsdeck_n8n_workflow",
    ];
    let mut tables: Vec<String> = ["workflow_executions", "job_queue", "workflow_errors"]
        .iter()
        .chain(NOTIFIED)
        .filter(|t| m.has(t))
        .map(|t| m.q(t))
        .collect();
    tables.sort();
    tables.dedup();
    let mut sql = Vec::new();
    for t in &tables {
        for tr in OURS {
            sql.push(format!("DROP TRIGGER IF EXISTS {tr} ON {t}"));
        }
    }
    if sql.is_empty() {
        return vec![];
    }
    vec![stmt(
        "opsdeck's triggers (none)",
        "adopted without triggers: any of opsdeck's triggers on your tables come off (from an earlier adoption with them)",
        sql.join(";\n"),
    )]
}

fn rollups(m: &Mapping) -> Vec<Stmt> {
    let mut out = Vec::new();
    let h = ROLLUP_HOURS;
    let runs = ["status", "started_at"]
        .iter()
        .all(|c| m.expr("workflow_executions", c, "b").is_some());
    let jobs = ["status", "completed_at"]
        .iter()
        .all(|c| m.expr("job_queue", c, "b").is_some());
    let wf = |r: &str| {
        m.expr("workflow_executions", "workflow_id", r)
            .map(|e| format!("COALESCE({e}, {NIL_UUID})"))
            .unwrap_or_else(|| NIL_UUID.to_string())
    };
    if !m.o.triggers || !runs {
        // views over opsdeck's view of the runs, bounded by the started_at/completed_at indexes
        let sql = format!(
            "{};\n{};\n\
             CREATE OR REPLACE VIEW {SCHEMA}.run_minutes AS\n\
             \x20 SELECT CAST('started' AS text) AS kind, date_trunc('minute', started_at) AS minute,\n\
             \x20        COALESCE(workflow_id, {NIL_UUID}) AS workflow_id, status, count(*) AS n\n\
             \x20 FROM {SCHEMA}.workflow_executions WHERE started_at >= now() - interval '{h} hours' GROUP BY 2, 3, 4\n\
             \x20 UNION ALL\n\
             \x20 SELECT CAST('finished' AS text), date_trunc('minute', completed_at),\n\
             \x20        COALESCE(workflow_id, {NIL_UUID}), status, count(*)\n\
             \x20 FROM {SCHEMA}.workflow_executions WHERE completed_at >= now() - interval '{h} hours' GROUP BY 2, 3, 4;\n\
             CREATE OR REPLACE VIEW {SCHEMA}.run_totals AS\n\
             \x20 SELECT kind, minute, status, CAST(0 AS smallint) AS slot, CAST(sum(n) AS bigint) AS n\n\
             \x20 FROM {SCHEMA}.run_minutes GROUP BY kind, minute, status",
            drop_other("run_minutes", true),
            drop_other("run_totals", true),
        );
        out.push(stmt(
            "opsdeck.run_minutes, run_totals (views)",
            format!("runs per minute, counted from your table at each refresh (the last {h} hours, through the indexes)"),
            sql,
        ));
    } else {
        let st = |r: &str| m.expr("workflow_executions", "status", r).expect("runs");
        let sa = |r: &str| {
            m.expr("workflow_executions", "started_at", r)
                .expect("runs")
        };
        let ca = |r: &str| {
            m.expr("workflow_executions", "completed_at", r)
                .unwrap_or_else(|| "CAST(NULL AS timestamptz)".into())
        };
        let base = m.q("workflow_executions");
        let cols: Vec<&str> = ["workflow_id", "status", "started_at", "completed_at"]
            .into_iter()
            .filter(|c| m.base("workflow_executions", c).is_some())
            .collect();
        let when: Vec<String> = cols
            .iter()
            .map(|c| format!("OLD.{c} IS DISTINCT FROM NEW.{c}"))
            .collect();
        let sql = format!(
            "{d1};\n{d2};\n\
             CREATE TABLE IF NOT EXISTS {SCHEMA}.run_minutes (\n\
             \x20   kind text NOT NULL, minute timestamptz NOT NULL, workflow_id uuid NOT NULL,\n\
             \x20   status text NOT NULL, n bigint NOT NULL,\n\
             \x20   PRIMARY KEY (kind, minute, workflow_id, status));\n\
             CREATE INDEX IF NOT EXISTS run_minutes_failed_idx ON {SCHEMA}.run_minutes (minute, workflow_id)\n\
             \x20   WHERE kind = 'finished' AND status = 'failed';\n\
             CREATE TABLE IF NOT EXISTS {SCHEMA}.run_totals (\n\
             \x20   kind text NOT NULL, minute timestamptz NOT NULL, status text NOT NULL,\n\
             \x20   slot smallint NOT NULL, n bigint NOT NULL,\n\
             \x20   PRIMARY KEY (kind, minute, status, slot));\n\
             CREATE OR REPLACE FUNCTION {SCHEMA}.run_minutes_trg() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
             DECLARE\n\
             \x20   s smallint := pg_backend_pid() % 8;\n\
             \x20   b record;\n\
             BEGIN\n\
             \x20   FOR b IN\n\
             \x20       WITH c AS (\n\
             \x20           SELECT 'started' AS k, date_trunc('minute', {sa_old}) AS m, {wf_old} AS wf, {st_old} AS st, -1 AS d\n\
             \x20               WHERE TG_OP IN ('UPDATE', 'DELETE') AND {sa_old} IS NOT NULL\n\
             \x20           UNION ALL\n\
             \x20           SELECT 'finished', date_trunc('minute', {ca_old}), {wf_old}, {st_old}, -1\n\
             \x20               WHERE TG_OP IN ('UPDATE', 'DELETE') AND {ca_old} IS NOT NULL\n\
             \x20           UNION ALL\n\
             \x20           SELECT 'started', date_trunc('minute', {sa_new}), {wf_new}, {st_new}, 1\n\
             \x20               WHERE TG_OP IN ('INSERT', 'UPDATE') AND {sa_new} IS NOT NULL\n\
             \x20           UNION ALL\n\
             \x20           SELECT 'finished', date_trunc('minute', {ca_new}), {wf_new}, {st_new}, 1\n\
             \x20               WHERE TG_OP IN ('INSERT', 'UPDATE') AND {ca_new} IS NOT NULL\n\
             \x20       )\n\
             \x20       SELECT 1 AS t, k, m, wf, st, sum(d) AS d FROM c GROUP BY k, m, wf, st HAVING sum(d) <> 0\n\
             \x20       UNION ALL\n\
             \x20       SELECT 2, k, m, NULL, st, sum(d) FROM c GROUP BY k, m, st HAVING sum(d) <> 0\n\
             \x20       ORDER BY t, k DESC, m, st, wf\n\
             \x20   LOOP\n\
             \x20       IF b.t = 1 THEN\n\
             \x20           INSERT INTO {SCHEMA}.run_minutes VALUES (b.k, b.m, b.wf, b.st, b.d)\n\
             \x20               ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;\n\
             \x20       ELSE\n\
             \x20           INSERT INTO {SCHEMA}.run_totals VALUES (b.k, b.m, b.st, s, b.d)\n\
             \x20               ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = run_totals.n + EXCLUDED.n;\n\
             \x20       END IF;\n\
             \x20   END LOOP;\n\
             \x20   RETURN NULL;\n\
             END $f$;\n\
             LOCK TABLE {base} IN SHARE ROW EXCLUSIVE MODE;\n\
             DROP TRIGGER IF EXISTS opsdeck_run_minutes ON {base};\n\
             CREATE TRIGGER opsdeck_run_minutes AFTER INSERT OR DELETE ON {base}\n\
             \x20   FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.run_minutes_trg();\n\
             DROP TRIGGER IF EXISTS opsdeck_run_minutes_upd ON {base};\n\
             CREATE TRIGGER opsdeck_run_minutes_upd AFTER UPDATE OF {cols} ON {base} FOR EACH ROW\n\
             \x20   WHEN ({when}) EXECUTE FUNCTION {SCHEMA}.run_minutes_trg();\n\
             DELETE FROM {SCHEMA}.run_minutes;\n\
             DELETE FROM {SCHEMA}.run_totals;\n\
             INSERT INTO {SCHEMA}.run_minutes\n\
             \x20   SELECT 'started', date_trunc('minute', {sa_b}), {wf_b}, {st_b}, count(*) FROM {base} b\n\
             \x20   WHERE {sa_b} >= now() - interval '{h} hours' GROUP BY 2, 3, 4;\n\
             INSERT INTO {SCHEMA}.run_minutes\n\
             \x20   SELECT 'finished', date_trunc('minute', {ca_b}), {wf_b}, {st_b}, count(*) FROM {base} b\n\
             \x20   WHERE {ca_b} >= now() - interval '{h} hours' GROUP BY 2, 3, 4;\n\
             INSERT INTO {SCHEMA}.run_totals\n\
             \x20   SELECT kind, minute, status, 0, sum(n) FROM {SCHEMA}.run_minutes GROUP BY kind, minute, status",
            d1 = drop_other("run_minutes", false),
            d2 = drop_other("run_totals", false),
            sa_old = sa("OLD"),
            sa_new = sa("NEW"),
            sa_b = sa("b"),
            ca_old = ca("OLD"),
            ca_new = ca("NEW"),
            ca_b = ca("b"),
            st_old = st("OLD"),
            st_new = st("NEW"),
            st_b = st("b"),
            wf_old = wf("OLD"),
            wf_new = wf("NEW"),
            wf_b = wf("b"),
            cols = cols.join(", "),
            when = when.join(" OR "),
        );
        out.push(Stmt {
            cost: Some(format!(
                "a trigger on every insert, delete and status change of workflow_executions (one or two \
                 small upserts per row; see the measured cost under NOTIFY triggers); writers wait while it counts \
                 the last {h} hours once (SHARE ROW EXCLUSIVE, one read of the table)"
            )),
            ..stmt(
                "opsdeck.run_minutes, run_totals (triggers)",
                "runs per minute, kept by a trigger on workflow_executions: the overview reads 61 buckets, not the hour's runs",
                sql,
            )
        });
    }
    if !m.o.triggers || !jobs {
        let done = if jobs {
            format!(
                "SELECT date_trunc('minute', completed_at) AS minute, CAST(0 AS smallint) AS slot, count(*) AS n \
                 FROM {SCHEMA}.job_queue WHERE status = 'completed' AND completed_at >= now() - interval '{h} hours' GROUP BY 1"
            )
        } else {
            "SELECT CAST(NULL AS timestamptz) AS minute, CAST(0 AS smallint) AS slot, CAST(0 AS bigint) AS n WHERE false".into()
        };
        out.push(stmt(
            "opsdeck.job_minutes (view)",
            format!("completed jobs per minute, counted from your table at each refresh (the last {h} hours)"),
            format!(
                "{};\nCREATE OR REPLACE VIEW {SCHEMA}.job_minutes AS {done}",
                drop_other("job_minutes", true)
            ),
        ));
    } else {
        let st = |r: &str| m.expr("job_queue", "status", r).expect("jobs");
        let ca = |r: &str| m.expr("job_queue", "completed_at", r).expect("jobs");
        let base = m.q("job_queue");
        let sql = format!(
            "{d};\n\
             CREATE TABLE IF NOT EXISTS {SCHEMA}.job_minutes (\n\
             \x20   minute timestamptz NOT NULL, slot smallint NOT NULL, n bigint NOT NULL,\n\
             \x20   PRIMARY KEY (minute, slot));\n\
             CREATE OR REPLACE FUNCTION {SCHEMA}.job_minutes_trg() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
             DECLARE\n\
             \x20   s smallint := pg_backend_pid() % 8;\n\
             \x20   was timestamptz;\n\
             \x20   now_in timestamptz;\n\
             BEGIN\n\
             \x20   IF TG_OP IN ('UPDATE', 'DELETE') AND {st_old} = 'completed' AND {ca_old} IS NOT NULL THEN\n\
             \x20       was := date_trunc('minute', {ca_old});\n\
             \x20   END IF;\n\
             \x20   IF TG_OP IN ('INSERT', 'UPDATE') AND {st_new} = 'completed' AND {ca_new} IS NOT NULL THEN\n\
             \x20       now_in := date_trunc('minute', {ca_new});\n\
             \x20   END IF;\n\
             \x20   IF was IS NOT NULL AND now_in IS NOT NULL AND was = now_in THEN\n\
             \x20       RETURN NULL;\n\
             \x20   END IF;\n\
             \x20   IF was IS NOT NULL AND (now_in IS NULL OR was < now_in) THEN\n\
             \x20       INSERT INTO {SCHEMA}.job_minutes VALUES (was, s, -1)\n\
             \x20           ON CONFLICT (minute, slot) DO UPDATE SET n = job_minutes.n + EXCLUDED.n;\n\
             \x20       was := NULL;\n\
             \x20   END IF;\n\
             \x20   IF now_in IS NOT NULL THEN\n\
             \x20       INSERT INTO {SCHEMA}.job_minutes VALUES (now_in, s, 1)\n\
             \x20           ON CONFLICT (minute, slot) DO UPDATE SET n = job_minutes.n + EXCLUDED.n;\n\
             \x20   END IF;\n\
             \x20   IF was IS NOT NULL THEN\n\
             \x20       INSERT INTO {SCHEMA}.job_minutes VALUES (was, s, -1)\n\
             \x20           ON CONFLICT (minute, slot) DO UPDATE SET n = job_minutes.n + EXCLUDED.n;\n\
             \x20   END IF;\n\
             \x20   RETURN NULL;\n\
             END $f$;\n\
             LOCK TABLE {base} IN SHARE ROW EXCLUSIVE MODE;\n\
             DROP TRIGGER IF EXISTS opsdeck_job_minutes ON {base};\n\
             DROP TRIGGER IF EXISTS opsdeck_job_minutes_ins ON {base};\n\
             DROP TRIGGER IF EXISTS opsdeck_job_minutes_del ON {base};\n\
             DROP TRIGGER IF EXISTS opsdeck_job_minutes_upd ON {base};\n\
             CREATE TRIGGER opsdeck_job_minutes_ins AFTER INSERT ON {base} FOR EACH ROW\n\
             \x20   WHEN ({st_new} = 'completed' AND {ca_new} IS NOT NULL) EXECUTE FUNCTION {SCHEMA}.job_minutes_trg();\n\
             CREATE TRIGGER opsdeck_job_minutes_del AFTER DELETE ON {base} FOR EACH ROW\n\
             \x20   WHEN ({st_old} = 'completed' AND {ca_old} IS NOT NULL) EXECUTE FUNCTION {SCHEMA}.job_minutes_trg();\n\
             CREATE TRIGGER opsdeck_job_minutes_upd AFTER UPDATE OF {upd_cols} ON {base} FOR EACH ROW\n\
             \x20   WHEN (({st_old} = 'completed' OR {st_new} = 'completed')\n\
             \x20         AND ({st_old} IS DISTINCT FROM {st_new} OR {ca_old} IS DISTINCT FROM {ca_new}))\n\
             \x20   EXECUTE FUNCTION {SCHEMA}.job_minutes_trg();\n\
             DELETE FROM {SCHEMA}.job_minutes;\n\
             INSERT INTO {SCHEMA}.job_minutes\n\
             \x20   SELECT date_trunc('minute', {ca_b}), 0, count(*) FROM {base} b\n\
             \x20   WHERE {st_b} = 'completed' AND {ca_b} >= now() - interval '{h} hours' GROUP BY 1",
            d = drop_other("job_minutes", false),
            upd_cols = ["status", "completed_at"]
                .iter()
                .filter(|c| m.base("job_queue", c).is_some())
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
            st_old = st("OLD"),
            st_new = st("NEW"),
            st_b = st("b"),
            ca_old = ca("OLD"),
            ca_new = ca("NEW"),
            ca_b = ca("b"),
        );
        out.push(Stmt {
            cost: Some(format!(
                "a trigger on job_queue that runs when a job becomes completed (or stops being): one \
                 upsert per completed job (see the measured cost under NOTIFY triggers); writers wait while it \
                 counts the last {h} hours once, which reads the whole of job_queue (no index on completed_at \
                 with triggers)"
            )),
            ..stmt(
                "opsdeck.job_minutes (trigger)",
                "completed jobs per minute, kept by a trigger on job_queue",
                sql,
            )
        });
    }
    out
}

fn notify(m: &Mapping) -> Vec<Stmt> {
    let mut sql = format!(
        "CREATE OR REPLACE FUNCTION {SCHEMA}.notify() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
         BEGIN\n\
         \x20   -- one notification per table per quarter second, whatever the writers' rate: the\n\
         \x20   -- first writer of each slot notifies, the others skip (a try-lock: nobody waits).\n\
         \x20   -- A notifying commit is serialised with every other one in the cluster; one per\n\
         \x20   -- job step cost the writers a fifth of their throughput. The console refreshes\n\
         \x20   -- once more a slot after a notification, for the writers that skipped.\n\
         \x20   IF pg_try_advisory_xact_lock({GATE_KEY}, hashtext(TG_ARGV[0]) # CAST(CAST(floor(extract(epoch FROM clock_timestamp()) * {GATE_PER_S}) AS bigint) % 1000000007 AS integer)) THEN\n\
         \x20       PERFORM pg_notify('opsdeck', json_build_object('table', TG_ARGV[0], 'op', TG_OP)::text);\n\
         \x20   END IF;\n\
         \x20   RETURN NULL;\n\
         END $f$;\n\
         CREATE OR REPLACE FUNCTION {SCHEMA}.notify_statement() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
         BEGIN\n\
         \x20   PERFORM pg_notify('opsdeck', json_build_object('table', TG_ARGV[0], 'op', TG_OP)::text);\n\
         \x20   RETURN NULL;\n\
         END $f$;\n\
         DROP TRIGGER IF EXISTS opsdeck_notify ON {SCHEMA}.operator_actions;\n\
         CREATE TRIGGER opsdeck_notify AFTER INSERT ON {SCHEMA}.operator_actions FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.notify('operator_actions')"
    );
    let mut hot = Vec::new();
    for t in NOTIFIED
        .iter()
        .filter(|t| m.has(t) && m.base(t, "id").is_some())
    {
        let base = m.q(t);
        sql.push_str(&format!(
            ";\nDROP TRIGGER IF EXISTS opsdeck_notify ON {base}"
        ));
        sql.push_str(&format!(
            ";\nDROP TRIGGER IF EXISTS opsdeck_notify_ins ON {base}"
        ));
        if *t == "job_queue" && m.base(t, "job_type").is_some() {
            // a broadcast's thousands of delivery jobs: one notification per statement
            sql.push_str(&format!(
                ";\nCREATE TRIGGER opsdeck_notify AFTER UPDATE ON {base} FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.notify('{t}')\
                 ;\nCREATE TRIGGER opsdeck_notify_ins AFTER INSERT ON {base} FOR EACH ROW \
                 WHEN (NEW.job_type NOT LIKE 'broadcast.%') EXECUTE FUNCTION {SCHEMA}.notify('{t}')"
            ));
        } else {
            sql.push_str(&format!(
                ";\nCREATE TRIGGER opsdeck_notify AFTER INSERT OR UPDATE ON {base} FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.notify('{t}')"
            ));
        }
        hot.push(*t);
    }
    vec![Stmt {
        cost: Some(format!(
            "a trigger on every insert and update of {}: a try-lock, and a pg_notify for the first write of each quarter second per table. {MEASURED}",
            hot.join(", ")
        )),
        ..stmt(
            "NOTIFY triggers",
            "live updates: the console hears a change instead of polling for it",
            sql,
        )
    }]
}

/// The whole adoption as one text, for a DBA to read or run (`migrate --plan --sql`): each
/// statement with its why and cost as comments. `CONCURRENTLY` statements cannot run inside a
/// transaction block; run the file with psql's autocommit (the default).
pub fn script_text(stmts: &[Stmt]) -> String {
    // opsdeck's own objects first on the path, as `opsdeck migrate` runs it
    let mut o = format!("SET search_path = {SCHEMA}, public;\n\n");
    for s in stmts {
        o.push_str(&format!("-- {}: {}\n", s.subject, s.why));
        if let Some(c) = &s.cost {
            o.push_str(&format!("-- cost: {c}\n"));
        }
        if s.concurrently {
            o.push_str(&format!("{};\n\n", s.sql));
        } else {
            o.push_str(&format!("BEGIN;\n{};\nCOMMIT;\n\n", s.sql));
        }
    }
    o
}

/// A short fingerprint of the statements: the adoption recorded in the database is this one
/// when the fingerprints match (then a second `migrate` does nothing).
pub fn fingerprint(stmts: &[Stmt]) -> String {
    // FNV-1a, 64 bits: stable across builds and platforms (std's hasher is not)
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for s in stmts {
        for b in s.sql.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("v{VERSION}-{h:016x}")
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
