//! One small seam over the two backends. Store code writes one SQL text with `$n` placeholders
//! and typed [`Val`] binds; this module binds them the way each backend stores them (Postgres:
//! native uuid/timestamptz/jsonb; SQLite: TEXT) and reads rows back into the same Rust types.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::config::DbTarget;

mod value;
pub use value::{DbRow, Val, sqlite_ts};

/// A pooled Postgres connection idle this long is pinged before use (see `Db::connect`). A
/// refresh under a stream of changes reuses its connections within this time and skips the
/// ping; after a database restart in such a stream at most one refresh fails (the console
/// shows "disconnected, retrying in 1s"), and the retry, a second later, pings and replaces
/// the dead connections.
pub const IDLE_PING: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A connection pool on either backend.
#[derive(Clone, Debug)]
pub enum Db {
    Pg(PgPool),
    Sqlite(SqlitePool),
}

/// An open transaction on either backend.
pub enum Tx {
    Pg(Transaction<'static, Postgres>),
    Sqlite(Transaction<'static, Sqlite>),
}

macro_rules! bind_pg {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Val::Null => q.bind(None::<String>),
                Val::I64(v) => q.bind(*v),
                Val::F64(v) => q.bind(*v),
                Val::Bool(v) => q.bind(*v),
                Val::Text(v) => q.bind(v.as_str()),
                Val::Ts(v) => q.bind(*v),
                Val::Date(v) => q.bind(*v),
                Val::Uuid(v) => q.bind(*v),
                Val::OptUuid(v) => q.bind(*v),
                Val::OptTs(v) => q.bind(*v),
                Val::OptText(v) => q.bind(v.as_deref()),
                Val::OptI64(v) => q.bind(*v),
                Val::Json(v) => q.bind(sqlx::types::Json(v)),
            };
        }
        q
    }};
}

macro_rules! bind_sqlite {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Val::Null => q.bind(None::<String>),
                Val::I64(v) => q.bind(*v),
                Val::F64(v) => q.bind(*v),
                Val::Bool(v) => q.bind(*v as i64),
                Val::Text(v) => q.bind(v.clone()),
                Val::Ts(v) => q.bind(sqlite_ts(v)),
                Val::Date(v) => q.bind(v.format("%Y-%m-%d").to_string()),
                Val::Uuid(v) => q.bind(v.to_string()),
                Val::OptUuid(v) => q.bind(v.map(|u| u.to_string())),
                Val::OptTs(v) => q.bind(v.as_ref().map(sqlite_ts)),
                Val::OptText(v) => q.bind(v.clone()),
                Val::OptI64(v) => q.bind(*v),
                Val::Json(v) => q.bind(v.to_string()),
            };
        }
        q
    }};
}

/// Rewrites the few dialect tokens store code may use.
fn dialect(backend: Backend, sql: &str) -> String {
    match backend {
        Backend::Postgres => sql
            .replace("{skip_locked}", "FOR UPDATE SKIP LOCKED")
            .replace("{json}", "::jsonb"),
        Backend::Sqlite => sql.replace("{skip_locked}", "").replace("{json}", ""),
    }
}

macro_rules! run_on {
    ($exec_pg:expr, $exec_sqlite:expr, $backend:expr, $sql:expr, $args:expr, $method:ident, $wrap:expr) => {{
        let sql = dialect($backend, $sql);
        match ($exec_pg, $exec_sqlite) {
            (Some(e), _) => {
                let q = bind_pg!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), $args);
                $wrap(q.$method(e).await, DbRow::Pg)
            }
            (_, Some(e)) => {
                let q = bind_sqlite!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), $args);
                $wrap(q.$method(e).await, DbRow::Sqlite)
            }
            _ => unreachable!(),
        }
    }};
}

fn wrap_all<R>(
    r: Result<Vec<R>, sqlx::Error>,
    f: fn(R) -> DbRow,
) -> Result<Vec<DbRow>, sqlx::Error> {
    r.map(|v| v.into_iter().map(f).collect())
}
fn wrap_opt<R>(
    r: Result<Option<R>, sqlx::Error>,
    f: fn(R) -> DbRow,
) -> Result<Option<DbRow>, sqlx::Error> {
    r.map(|v| v.map(f))
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Pg(_) => Backend::Postgres,
            Db::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Connects without touching the schema. Errors name host:port (never the password).
    pub async fn connect(target: &DbTarget, max_conns: u32) -> Result<Db, ConnectError> {
        match target {
            DbTarget::Postgres(url) => {
                let opts = PgConnectOptions::from_str(url.expose())
                    .map_err(|e| ConnectError::new(target, e.to_string()))?
                    .application_name("opsdeck");
                // one direct connection first: the pool would hide the cause behind a timeout
                use sqlx::Connection;
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    sqlx::PgConnection::connect_with(&opts),
                )
                .await
                {
                    Err(_) => return Err(ConnectError::new(target, "timed out after 5 s".into())),
                    Ok(Err(e)) => return Err(ConnectError::new(target, describe_sqlx(&e))),
                    Ok(Ok(c)) => {
                        let _ = c.close().await;
                    }
                }
                let pool = PgPoolOptions::new()
                    .max_connections(max_conns)
                    .acquire_timeout(Duration::from_secs(5))
                    // sqlx pings every connection when it goes back to the pool; pinging it
                    // again on the way out (the default) costs one more round trip per query,
                    // eight per overview refresh. Ping only a connection that sat idle for
                    // IDLE_PING; a dead one is dropped and another taken.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= IDLE_PING {
                                use sqlx::Connection;
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(opts)
                    .await
                    .map_err(|e| ConnectError::new(target, describe_sqlx(&e)))?;
                Ok(Db::Pg(pool))
            }
            DbTarget::Sqlite(path) => {
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_conns)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(|e| ConnectError::new(target, describe_sqlx(&e)))?;
                Ok(Db::Sqlite(pool))
            }
        }
    }

    pub async fn fetch_all(&self, sql: &str, args: &[Val]) -> Result<Vec<DbRow>, sqlx::Error> {
        match self {
            Db::Pg(p) => run_on!(
                Some(p),
                None::<&SqlitePool>,
                Backend::Postgres,
                sql,
                args,
                fetch_all,
                wrap_all
            ),
            Db::Sqlite(p) => run_on!(
                None::<&PgPool>,
                Some(p),
                Backend::Sqlite,
                sql,
                args,
                fetch_all,
                wrap_all
            ),
        }
    }

    pub async fn fetch_optional(
        &self,
        sql: &str,
        args: &[Val],
    ) -> Result<Option<DbRow>, sqlx::Error> {
        match self {
            Db::Pg(p) => run_on!(
                Some(p),
                None::<&SqlitePool>,
                Backend::Postgres,
                sql,
                args,
                fetch_optional,
                wrap_opt
            ),
            Db::Sqlite(p) => run_on!(
                None::<&PgPool>,
                Some(p),
                Backend::Sqlite,
                sql,
                args,
                fetch_optional,
                wrap_opt
            ),
        }
    }

    pub async fn fetch_one(&self, sql: &str, args: &[Val]) -> Result<DbRow, sqlx::Error> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn execute(&self, sql: &str, args: &[Val]) -> Result<u64, sqlx::Error> {
        let sql = dialect(self.backend(), sql);
        match self {
            Db::Pg(p) => Ok(
                bind_pg!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), args)
                    .execute(p)
                    .await?
                    .rows_affected(),
            ),
            Db::Sqlite(p) => Ok(
                bind_sqlite!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), args)
                    .execute(p)
                    .await?
                    .rows_affected(),
            ),
        }
    }

    /// Runs a script of several statements (no binds).
    pub async fn execute_script(&self, sql: &str) -> Result<(), sqlx::Error> {
        use sqlx::Executor;
        match self {
            Db::Pg(p) => p
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())))
                .await
                .map(|_| ()),
            Db::Sqlite(p) => p
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())))
                .await
                .map(|_| ()),
        }
    }

    /// Begins a transaction. On SQLite it is `BEGIN IMMEDIATE`, so a transaction that reads before
    /// it writes cannot dead-lock on the lock upgrade.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Db::Pg(p) => {
                // the pool pings only connections idle for IDLE_PING or more; an action must not
                // fail on one that died sooner, so ping here (actions are rare), drop a dead
                // connection and take another
                use sqlx::Connection;
                let mut tries = 0;
                let conn = loop {
                    let mut c = p.acquire().await?;
                    match c.ping().await {
                        Ok(()) => break c,
                        Err(e) => {
                            c.close_on_drop();
                            tries += 1;
                            if tries > 4 {
                                return Err(e);
                            }
                        }
                    }
                };
                Ok(Tx::Pg(Transaction::begin(conn, None).await?))
            }
            Db::Sqlite(p) => Ok(Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?)),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Pg(p) => p.close().await,
            Db::Sqlite(p) => p.close().await,
        }
    }

    pub fn pg_pool(&self) -> Option<&PgPool> {
        match self {
            Db::Pg(p) => Some(p),
            Db::Sqlite(_) => None,
        }
    }
}

impl Tx {
    fn backend(&self) -> Backend {
        match self {
            Tx::Pg(_) => Backend::Postgres,
            Tx::Sqlite(_) => Backend::Sqlite,
        }
    }

    pub async fn fetch_all(&mut self, sql: &str, args: &[Val]) -> Result<Vec<DbRow>, sqlx::Error> {
        match self {
            Tx::Pg(t) => run_on!(
                Some(&mut **t),
                None::<&mut sqlx::SqliteConnection>,
                Backend::Postgres,
                sql,
                args,
                fetch_all,
                wrap_all
            ),
            Tx::Sqlite(t) => run_on!(
                None::<&mut sqlx::PgConnection>,
                Some(&mut **t),
                Backend::Sqlite,
                sql,
                args,
                fetch_all,
                wrap_all
            ),
        }
    }

    pub async fn fetch_optional(
        &mut self,
        sql: &str,
        args: &[Val],
    ) -> Result<Option<DbRow>, sqlx::Error> {
        match self {
            Tx::Pg(t) => run_on!(
                Some(&mut **t),
                None::<&mut sqlx::SqliteConnection>,
                Backend::Postgres,
                sql,
                args,
                fetch_optional,
                wrap_opt
            ),
            Tx::Sqlite(t) => run_on!(
                None::<&mut sqlx::PgConnection>,
                Some(&mut **t),
                Backend::Sqlite,
                sql,
                args,
                fetch_optional,
                wrap_opt
            ),
        }
    }

    pub async fn fetch_one(&mut self, sql: &str, args: &[Val]) -> Result<DbRow, sqlx::Error> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn execute(&mut self, sql: &str, args: &[Val]) -> Result<u64, sqlx::Error> {
        let sql = dialect(self.backend(), sql);
        match self {
            Tx::Pg(t) => Ok(
                bind_pg!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), args)
                    .execute(&mut **t)
                    .await?
                    .rows_affected(),
            ),
            Tx::Sqlite(t) => Ok(
                bind_sqlite!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), args)
                    .execute(&mut **t)
                    .await?
                    .rows_affected(),
            ),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Pg(t) => t.commit().await,
            Tx::Sqlite(t) => t.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Pg(t) => t.rollback().await,
            Tx::Sqlite(t) => t.rollback().await,
        }
    }
}

/// A connection failure, described without the password.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {target}: {cause}")]
pub struct ConnectError {
    pub target: String,
    pub cause: String,
}

impl ConnectError {
    fn new(target: &DbTarget, cause: String) -> Self {
        ConnectError {
            target: target.display_addr(),
            cause: crate::config::redact_in(&cause),
        }
    }
}

/// A short human cause for a sqlx error (connection refused, auth failed, unknown database …).
pub fn describe_sqlx(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(d) => d.message().to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".into(),
        sqlx::Error::Tls(t) => format!("TLS: {t}"),
        other => other.to_string(),
    }
}
