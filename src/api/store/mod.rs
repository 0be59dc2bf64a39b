//! The store: one interface over Postgres and SQLite with the bounded reads the console needs.
//! Every read is bounded (windowed over the per-minute rollups, or limited); open states are
//! counted exactly through partial indexes.

pub mod actions;
pub mod adopt;
pub mod alerts;
pub mod broadcast;
mod lists;
mod lookup;
mod overview;
mod replication;
pub mod roles;
mod rows;
mod timeline;
pub mod window;

use std::fmt::Write as _;

use sqlx::migrate::{MigrateError, Migrator};

pub use crate::api::db::{Backend, ConnectError, Db, DbRow, Pooling, Tx, Val};
use crate::config::DbTarget;
pub use adopt::{AdoptError, AdoptReport};
pub use lookup::{By, IdTable};
pub use rows::stale_resume_sql;

static PG_MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

#[derive(Clone, Debug)]
pub struct Store {
    pub db: Db,
    pub target: DbTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub applied_now: usize,
    pub total: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationRefused {
    #[error(
        "the database has migration {0} applied, which this opsdeck does not know: the database is newer than this binary. Upgrade opsdeck; nothing was changed."
    )]
    NewerDatabase(i64),
    #[error(
        "migration {0} was changed after it was applied (checksum mismatch); nothing was changed"
    )]
    Changed(i64),
    #[error("migration failed: {0}")]
    Other(String),
}

impl Store {
    pub async fn open(target: &DbTarget, max_conns: u32) -> Result<Store, ConnectError> {
        let db = Db::connect(target, max_conns).await?;
        Ok(Store {
            db,
            target: target.clone(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    fn migrator(&self) -> &'static Migrator {
        match self.db {
            Db::Pg(..) => &PG_MIGRATOR,
            Db::Sqlite(_) => &SQLITE_MIGRATOR,
        }
    }

    async fn applied_count(&self) -> usize {
        self.db
            .fetch_one(
                "SELECT count(*) AS n FROM _sqlx_migrations WHERE success",
                &[],
            )
            .await
            .map(|r| r.n("n") as usize)
            .unwrap_or(0)
    }

    /// Applies the embedded migrations. Re-running is a no-op; a database with a migration this
    /// binary does not know is refused before anything runs.
    pub async fn migrate(&self) -> Result<MigrateReport, MigrationRefused> {
        let before = self.applied_count().await;
        let m = self.migrator();
        let res = match &self.db {
            Db::Pg(p, Pooling::Transaction) => return self.migrate_pooled(p).await,
            Db::Pg(p, _) => m.run(p).await,
            Db::Sqlite(p) => m.run(p).await,
        };
        match res {
            Ok(()) => {}
            Err(MigrateError::VersionMissing(v)) => return Err(MigrationRefused::NewerDatabase(v)),
            Err(MigrateError::VersionMismatch(v)) => return Err(MigrationRefused::Changed(v)),
            Err(e) => {
                return Err(MigrationRefused::Other(crate::config::redact_in(
                    &e.to_string(),
                )));
            }
        }
        let after = self.applied_count().await;
        Ok(MigrateReport {
            applied_now: after.saturating_sub(before),
            total: m.iter().count(),
        })
    }

    /// The migrations through a transaction pooler: sqlx's migrator holds a session advisory
    /// lock and prepares named statements, neither of which survives a pooler. Here each
    /// migration and its `_sqlx_migrations` row (the same table and checksums sqlx keeps) go
    /// as one simple-protocol message, which Postgres runs as one transaction: one round trip,
    /// no statement left behind. Two `migrate` runs must not race through a pooler (there is no
    /// lock): run them one at a time.
    async fn migrate_pooled(&self, pool: &sqlx::PgPool) -> Result<MigrateReport, MigrationRefused> {
        use sqlx::Executor;
        let other =
            |e: sqlx::Error| MigrationRefused::Other(crate::config::redact_in(&e.to_string()));
        pool.execute(sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations ( \
               version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
               installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, \
               checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
        ))
        .await
        .map_err(other)?;
        let rows = self
            .db
            .fetch_all(
                "SELECT version, success, encode(checksum, 'hex') AS sum FROM _sqlx_migrations \
                 ORDER BY version",
                &[],
            )
            .await
            .map_err(other)?;
        let m = &PG_MIGRATOR;
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        for r in &rows {
            let v = r.n("version");
            if r.bool("success") != Some(true) {
                return Err(MigrationRefused::Other(format!(
                    "migration {v} is partially applied (a failed run): fix it before migrating"
                )));
            }
            match m.iter().find(|k| k.version == v) {
                None => return Err(MigrationRefused::NewerDatabase(v)),
                Some(k) if hex(&k.checksum) != r.s("sum") => {
                    return Err(MigrationRefused::Changed(v));
                }
                Some(_) => {}
            }
        }
        let applied: Vec<i64> = rows.iter().map(|r| r.n("version")).collect();
        let mut now = 0;
        for k in m.iter().filter(|k| !applied.contains(&k.version)) {
            let script = format!(
                "{}\n;\nINSERT INTO _sqlx_migrations (version, description, success, checksum, \
                 execution_time) VALUES ({}, '{}', TRUE, '\\x{}', 0);",
                k.sql.as_str(),
                k.version,
                k.description.replace('\'', "''"),
                hex(&k.checksum)
            );
            pool.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(script)))
                .await
                .map_err(|e| {
                    MigrationRefused::Other(format!(
                        "while executing migration {}: {}",
                        k.version,
                        crate::config::redact_in(&e.to_string())
                    ))
                })?;
            now += 1;
        }
        Ok(MigrateReport {
            applied_now: now,
            total: m.iter().count(),
        })
    }

    /// The LISTEN self-test's NOTIFY (`{"table": table, "id": token}` on `channel`).
    pub async fn notify_self_test(
        &self,
        channel: &str,
        table: &str,
        token: &str,
    ) -> Result<(), sqlx::Error> {
        let payload = serde_json::json!({"table": table, "id": token}).to_string();
        self.db
            .execute(
                "SELECT pg_notify($1, $2)",
                &[Val::Text(channel.into()), Val::Text(payload)],
            )
            .await
            .map(|_| ())
    }

    /// The embedded migrations not applied yet, as `0005 run_minutes`.
    pub async fn pending_migration_names(&self) -> Vec<String> {
        let applied: Vec<i64> = self
            .db
            .fetch_all("SELECT version FROM _sqlx_migrations WHERE success", &[])
            .await
            .map(|rows| rows.iter().map(|r| r.n("version")).collect())
            .unwrap_or_default();
        self.migrator()
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{:04} {}", m.version, m.description))
            .collect()
    }

    /// Whether the schema exists and is up to date (for start-up checks).
    /// An adopted database has no migrations: it is ready once its adoption finished (and
    /// was made by an opsdeck no newer than this one).
    pub async fn pending_migrations(&self) -> usize {
        let applied = self.applied_count().await;
        if applied == 0
            && let Ok(Some(a)) = self.adoption().await
        {
            let ready = a.finished && a.version <= crate::api::store::adopt::script::VERSION;
            return if ready {
                0
            } else {
                (a.total - a.done).max(1) as usize
            };
        }
        self.migrator().iter().count().saturating_sub(applied)
    }
}

/// A small builder for `WHERE … ORDER BY … LIMIT` with `$n` placeholders, so filters compose
/// without string soup. `?` in a condition becomes the next `$n`.
pub(crate) struct Query {
    pub sql: String,
    pub args: Vec<Val>,
    has_where: bool,
}

impl Query {
    pub fn new(select: &str) -> Self {
        Query {
            sql: select.to_string(),
            args: Vec::new(),
            has_where: false,
        }
    }

    pub fn and(&mut self, cond: &str, vals: impl IntoIterator<Item = Val>) -> &mut Self {
        let mut c = String::new();
        let mut vals = vals.into_iter();
        for ch in cond.chars() {
            if ch == '?' {
                let v = vals.next().expect("a value per placeholder");
                self.args.push(v);
                let _ = write!(c, "${}", self.args.len());
            } else {
                c.push(ch);
            }
        }
        self.sql
            .push_str(if self.has_where { " AND " } else { " WHERE " });
        self.has_where = true;
        self.sql.push_str(&c);
        self
    }

    pub fn and_opt(&mut self, cond: &str, val: Option<Val>) -> &mut Self {
        if let Some(v) = val {
            self.and(cond, [v]);
        }
        self
    }

    /// Case-insensitive substring over an SQL text expression.
    pub fn contains(&mut self, expr: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            let escaped = t
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            self.and(
                &format!("LOWER({expr}) LIKE ? ESCAPE '\\'"),
                [Val::Text(format!("%{escaped}%"))],
            );
        }
        self
    }

    /// Newest-first keyset: rows strictly older than the cursor, ties broken by id.
    pub fn older_than(
        &mut self,
        at_col: &str,
        id_col: &str,
        cursor: Option<crate::domain::model::Cursor>,
    ) -> &mut Self {
        if let Some(c) = cursor {
            self.and(
                &format!("({at_col}, {id_col}) < (?, ?)"),
                [Val::Ts(c.at), Val::Uuid(c.id)],
            );
        }
        self
    }

    pub fn tail(&mut self, s: &str) -> &mut Self {
        self.sql.push(' ');
        self.sql.push_str(s);
        self
    }

    pub fn limit(&mut self, n: u32) -> &mut Self {
        let n = n.clamp(1, 1000);
        let _ = write!(self.sql, " LIMIT {n}");
        self
    }
}
