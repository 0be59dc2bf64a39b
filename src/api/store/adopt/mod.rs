//! What an existing database holds, for adoption: its tables and columns, opsdeck's migrations
//! if it has them, and a bounded sample of the status words in the data. Reads only: the
//! catalog, and at most 100,000 rows of each status column.

use std::collections::BTreeMap;

use super::Store;
use crate::api::db::{Db, Val};
pub mod script;

use crate::domain::adopt::{Adoption, Catalog, Column, Group, Plan, Step, WORD_COLUMNS};
use script::{Options, SCHEMA, Stmt};

/// Rows of a status column read for its words (a sample: the plan says "found", not "all").
const WORD_SAMPLE: i64 = 100_000;

impl Store {
    /// Describes the user's schema (Postgres: `public`, the tables' schema whether or not
    /// opsdeck's views come first on the search path; SQLite: the file), and the adoption
    /// recorded in `opsdeck`, if any. Changes nothing.
    pub async fn inspect(&self) -> Result<Catalog, sqlx::Error> {
        let (sql, args) = match self.db {
            Db::Pg(..) => (
                "SELECT table_name AS t, column_name AS c, data_type AS ty, udt_name AS udt, \
                   (is_nullable = 'YES') AS nullable, column_default AS d \
                 FROM information_schema.columns WHERE table_schema = $1 \
                 ORDER BY table_name, ordinal_position",
                vec![Val::Text(Options::default().user_schema)],
            ),
            Db::Sqlite(_) => (
                "SELECT m.name AS t, p.name AS c, lower(p.type) AS ty, lower(p.type) AS udt, \
                   (p.\"notnull\" = 0) AS nullable, p.dflt_value AS d \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
                vec![],
            ),
        };
        let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
        for r in self.db.fetch_all(sql, &args).await? {
            tables.entry(r.s("t")).or_default().push(Column {
                name: r.s("c"),
                data_type: r.s("ty"),
                udt: r.s("udt"),
                nullable: r.bool("nullable").unwrap_or(true),
                default: r.text("d"),
            });
        }
        let adoption = self.adoption().await?;
        let migrations = if tables.contains_key("_sqlx_migrations") {
            let rows = self
                .db
                .fetch_all(
                    "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
                    &[],
                )
                .await?;
            Some(rows.iter().map(|r| r.n("version")).collect())
        } else {
            None
        };
        let mut c = Catalog {
            tables,
            migrations,
            words: BTreeMap::new(),
            adoption,
        };
        // the user's own words, not opsdeck's view of them
        let schema = match self.db {
            Db::Pg(..) => "public.",
            Db::Sqlite(_) => "",
        };
        for (table, column) in WORD_COLUMNS {
            if c.column(table, column).is_none() {
                continue;
            }
            let rows = self
                .db
                .fetch_all(
                    &format!(
                        "SELECT w, count(*) AS n FROM (SELECT CAST({column} AS TEXT) AS w \
                         FROM {schema}{table} LIMIT {WORD_SAMPLE}) s GROUP BY w ORDER BY count(*) DESC, w \
                         LIMIT 50"
                    ),
                    &[],
                )
                .await?;
            let found = rows
                .iter()
                .map(|r| (r.text("w").unwrap_or_else(|| "(null)".into()), r.n("n")))
                .collect();
            c.words.insert(format!("{table}.{column}"), found);
        }
        Ok(c)
    }
}

/// What opsdeck makes of this database ([`crate::domain::adopt::plan`]) with, under add, the
/// exact statements an adoption with these options runs.
pub fn plan(c: &Catalog, o: &Options) -> Plan {
    let mut p = crate::domain::adopt::plan(c);
    if matches!(
        p.kind,
        crate::domain::adopt::Kind::Existing | crate::domain::adopt::Kind::Adopted
    ) {
        for st in script::statements(c, o) {
            p.steps.push(Step {
                group: Group::Add,
                subject: st.subject,
                what: st.why,
                cost: st.cost,
                sql: Some(st.sql),
            });
        }
        p.steps.sort_by_key(|s| s.group);
    }
    p
}

/// What `migrate` did to an existing database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptReport {
    /// Statements run now (0: it was adopted like this already).
    pub ran: usize,
    pub total: usize,
    /// Where it started: a half-applied adoption resumes at its first statement not done.
    pub resumed_at: Option<usize>,
}

/// Why an adoption did not run, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error(
        "this login ({login}) may not {what}: nothing was changed. Ask a DBA to run the adoption: `opsdeck migrate --plan --sql > adopt.sql` writes it, and `psql -f adopt.sql` as the tables' owner runs it"
    )]
    NoRights { login: String, what: String },
    #[error(
        "this database was adopted by a newer opsdeck (adoption version {0}, this binary makes {v}): upgrade opsdeck; nothing was changed",
        v = script::VERSION
    )]
    Newer(i32),
    #[error(
        "statement {n} of {total} ({subject}) failed: {error}. The statements before it are applied and recorded; `opsdeck migrate` again resumes at this one"
    )]
    Step {
        n: usize,
        total: usize,
        subject: String,
        error: String,
    },
    #[error("{0}")]
    Db(String),
}

impl Store {
    /// The adoption recorded in the database (`opsdeck.adoption`), if any.
    pub(super) async fn adoption(&self) -> Result<Option<Adoption>, sqlx::Error> {
        if !matches!(self.db, Db::Pg(..)) {
            return Ok(None);
        }
        let has = self
            .db
            .fetch_one(
                &format!("SELECT to_regclass('{SCHEMA}.adoption') IS NOT NULL AS x"),
                &[],
            )
            .await?;
        if !has.bool("x").unwrap_or(false) {
            return Ok(None);
        }
        let r = self
            .db
            .fetch_optional(
                &format!(
                    "SELECT version, triggers, script, done, total, finished_at IS NOT NULL AS finished \
                     FROM {SCHEMA}.adoption"
                ),
                &[],
            )
            .await?;
        Ok(r.map(|r| Adoption {
            version: r.n("version") as i32,
            triggers: r.bool("triggers").unwrap_or(true),
            script: r.s("script"),
            done: r.n("done") as i32,
            total: r.n("total") as i32,
            finished: r.bool("finished").unwrap_or(false),
        }))
    }

    /// The contract's tables an adopted database does not have (their views are empty and
    /// their screens say so). Empty on any other database.
    pub async fn absent_tables(&self) -> Vec<String> {
        if !matches!(self.db, Db::Pg(..)) {
            return vec![];
        }
        self.db
            .fetch_all(
                &format!(
                    "SELECT name FROM {SCHEMA}.adopted_tables WHERE NOT present ORDER BY name"
                ),
                &[],
            )
            .await
            .map(|rows| rows.iter().map(|r| r.s("name")).collect())
            .unwrap_or_default()
    }

    /// What this login lacks to run the adoption: to create the schema `opsdeck` (or own it),
    /// and to own the tables it indexes or puts triggers on. None when it may.
    async fn adopt_rights(&self, stmts: &[Stmt]) -> Result<Option<(String, String)>, sqlx::Error> {
        let r = self
            .db
            .fetch_one(
                &format!(
                    "SELECT current_user AS login, \
                     COALESCE((SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = '{SCHEMA}'), \
                              has_database_privilege(current_database(), 'CREATE')) AS schema_ok"
                ),
                &[],
            )
            .await?;
        let login = r.s("login");
        if !r.bool("schema_ok").unwrap_or(false) {
            return Ok(Some((login, format!("create the schema {SCHEMA}"))));
        }
        // the tables whose indexes or triggers the statements add
        let mut touched: Vec<String> = Vec::new();
        for s in stmts {
            for word in ["ON public.", "TABLE public."] {
                for part in s.sql.split(word).skip(1) {
                    let t: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !t.is_empty() && !touched.contains(&t) {
                        touched.push(t);
                    }
                }
            }
        }
        let mut lacking = Vec::new();
        for t in &touched {
            let ok = self
                .db
                .fetch_one(
                    "SELECT pg_has_role(current_user, c.relowner, 'USAGE') AS ok FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = $1",
                    &[Val::Text(t.clone())],
                )
                .await?;
            if !ok.bool("ok").unwrap_or(false) {
                lacking.push(t.clone());
            }
        }
        if lacking.is_empty() {
            Ok(None)
        } else {
            Ok(Some((
                login,
                format!(
                    "index or put triggers on {} (only a table's owner may)",
                    lacking.join(", ")
                ),
            )))
        }
    }

    /// Whether the user's schema holds an invalid index of this name (a `CONCURRENTLY`
    /// build that was interrupted or failed).
    async fn invalid_index(&self, ix: &str) -> Result<bool, sqlx::Error> {
        Ok(self
            .db
            .fetch_optional(
                "SELECT 1 AS x FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relname = $1 AND NOT i.indisvalid",
                &[Val::Text(ix.to_string())],
            )
            .await?
            .is_some())
    }

    /// Adopts an existing database ([`script::statements`]), or finishes an adoption that
    /// stopped half-way. Each statement is a transaction of its own (with its bookkeeping
    /// row), except the `CONCURRENTLY` index builds, which cannot be: an interrupted one leaves
    /// an invalid index, dropped and built again here. The same adoption a second time runs
    /// nothing.
    pub async fn adopt(&self, c: &Catalog, o: &Options) -> Result<AdoptReport, AdoptError> {
        let db = |e: sqlx::Error| AdoptError::Db(crate::config::redact_in(&e.to_string()));
        let stmts = script::statements(c, o);
        let fp = script::fingerprint(&stmts);
        let total = stmts.len();
        let mut start = 0;
        let mut resumed_at = None;
        if let Some(a) = &c.adoption {
            if a.version > script::VERSION {
                return Err(AdoptError::Newer(a.version));
            }
            if a.script == fp {
                if a.finished {
                    return Ok(AdoptReport {
                        ran: 0,
                        total,
                        resumed_at: None,
                    });
                }
                start = (a.done.max(0) as usize).min(total);
                resumed_at = Some(start);
            }
        }
        if let Some((login, what)) = self.adopt_rights(&stmts).await.map_err(db)? {
            return Err(AdoptError::NoRights { login, what });
        }
        for (i, s) in stmts.iter().enumerate().skip(start) {
            let fail = |e: sqlx::Error| AdoptError::Step {
                n: i + 1,
                total,
                subject: s.subject.clone(),
                error: crate::config::redact_in(&crate::api::db::describe_sqlx(&e)),
            };
            if s.concurrently {
                if let Some(ix) = &s.index {
                    // a build that was interrupted leaves an invalid index of that name
                    if self.invalid_index(ix).await.map_err(fail)? {
                        self.db
                            .execute_script(&format!(
                                "DROP INDEX CONCURRENTLY IF EXISTS public.{ix}"
                            ))
                            .await
                            .map_err(fail)?;
                    }
                }
                self.db.execute_script(&s.sql).await.map_err(fail)?;
                if let Some(ix) = &s.index {
                    // a build that failed (or that another migrate was still running) leaves
                    // an invalid index: not done
                    if self.invalid_index(ix).await.map_err(fail)? {
                        return Err(fail(sqlx::Error::Protocol(format!(
                            "the index {ix} is not valid after its build (another migrate running at the same time?)"
                        ))));
                    }
                }
                self.db
                    .execute(
                        &format!("UPDATE {SCHEMA}.adoption SET done = $1"),
                        &[Val::I64(i as i64 + 1)],
                    )
                    .await
                    .map_err(fail)?;
            } else {
                let mut tx = self.db.begin().await.map_err(fail)?;
                // never queue the writers behind a lock this waits for: give up, and resume
                tx.execute_script(&format!("SET LOCAL lock_timeout = '5s';\n{}", s.sql))
                    .await
                    .map_err(fail)?;
                if i == 0 {
                    tx.execute(
                        &format!(
                            "INSERT INTO {SCHEMA}.adoption (version, triggers, script, done, total) \
                             VALUES ($1, $2, $3, 1, $4) ON CONFLICT (one) DO UPDATE SET version = $1, \
                             triggers = $2, script = $3, done = 1, total = $4, started_at = now(), \
                             finished_at = NULL"
                        ),
                        &[
                            Val::I64(i64::from(script::VERSION)),
                            Val::Bool(o.triggers),
                            Val::Text(fp.clone()),
                            Val::I64(total as i64),
                        ],
                    )
                    .await
                    .map_err(fail)?;
                } else {
                    tx.execute(
                        &format!("UPDATE {SCHEMA}.adoption SET done = $1"),
                        &[Val::I64(i as i64 + 1)],
                    )
                    .await
                    .map_err(fail)?;
                }
                tx.commit().await.map_err(fail)?;
            }
        }
        self.db
            .execute(
                &format!("UPDATE {SCHEMA}.adoption SET finished_at = now()"),
                &[],
            )
            .await
            .map_err(db)?;
        Ok(AdoptReport {
            ran: total - start,
            total,
            resumed_at,
        })
    }
}
