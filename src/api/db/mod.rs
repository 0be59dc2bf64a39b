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

/// Where opsdeck looks for its tables: an adopted database's views first (see
/// `api::store::adopt::script`), then the user's schema.
const SET_SEARCH_PATH: &str = "SET search_path TO opsdeck, public";

/// A transaction through a transaction pooler: a pooler refuses the startup parameter that sets
/// the search path on a direct connection, and a server connection carries no session setting
/// from one transaction to the next, so each transaction sets its own, in the same message as
/// its BEGIN (no extra round trip).
const POOLED_BEGIN: &str = "BEGIN; SET LOCAL search_path TO opsdeck, public";
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

/// How Postgres is reached: directly (or through a session-mode pooler), or through a
/// transaction-mode pooler (PgBouncer `pool_mode = transaction`, Supabase's pooler on 6543),
/// which hands each transaction to any server connection.
///
/// Through a transaction pooler a statement must not outlive its transaction on the server:
/// every query runs inside an explicit transaction (a lone read too) with the unnamed
/// statement (`persistent(false)`: sqlx sends Parse and Bind in two round trips, safe only
/// while the transaction pins the server connection), and nothing named is ever prepared
/// (`statement_cache_capacity(0)`). The cost: two more round trips per lone statement, and a
/// parse per statement instead of a cached plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    Direct,
    Transaction,
}

/// A connection pool on either backend.
#[derive(Clone, Debug)]
pub enum Db {
    Pg(PgPool, Pooling),
    Sqlite(SqlitePool),
}

/// An open transaction on either backend.
pub enum Tx {
    Pg(Transaction<'static, Postgres>, Pooling),
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
        run_on!(
            $exec_pg,
            $exec_sqlite,
            $backend,
            $sql,
            $args,
            $method,
            $wrap,
            true
        )
    }};
    ($exec_pg:expr, $exec_sqlite:expr, $backend:expr, $sql:expr, $args:expr, $method:ident, $wrap:expr, $persistent:expr) => {{
        let sql = dialect($backend, $sql);
        match ($exec_pg, $exec_sqlite) {
            (Some(e), _) => {
                let q = bind_pg!(
                    sqlx::query(sqlx::AssertSqlSafe(sql.clone())).persistent($persistent),
                    $args
                );
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

/// The pooling a URL asks for, and the URL without opsdeck's own parameter: `?pooler=transaction`
/// (or `session` / `none`) says it; without it, port 6543 (Supabase's transaction pooler) means
/// a transaction pooler.
pub fn pooling_of(url: &str) -> (String, Pooling) {
    let Ok(mut u) = url::Url::parse(url) else {
        return (url.to_string(), Pooling::Direct);
    };
    let asked = u
        .query_pairs()
        .find(|(k, _)| k == "pooler")
        .map(|(_, v)| v.to_string());
    if asked.is_some() {
        let rest: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| k != "pooler")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        u.set_query(None);
        if !rest.is_empty() {
            u.query_pairs_mut().extend_pairs(rest);
        }
    }
    let pooling = match asked.as_deref() {
        Some("transaction") => Pooling::Transaction,
        Some(_) => Pooling::Direct,
        None if u.port() == Some(6543) => Pooling::Transaction,
        None => Pooling::Direct,
    };
    (u.to_string(), pooling)
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Pg(..) => Backend::Postgres,
            Db::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Connects without touching the schema. Errors name host:port (never the password).
    pub async fn connect(target: &DbTarget, max_conns: u32) -> Result<Db, ConnectError> {
        match target {
            DbTarget::Postgres(url) => {
                let (url, pooling) = pooling_of(url.expose());
                let mut opts = PgConnectOptions::from_str(&url)
                    .map_err(|e| ConnectError::new(target, e.to_string()))?;
                // `?application_name=…` on the URL names the connections (e.g. one per
                // control-room screen, or a benchmark's parties); else "opsdeck"
                if !url.contains("application_name=") {
                    opts = opts.application_name("opsdeck");
                }
                if pooling == Pooling::Transaction {
                    // nothing named on the server (see `Pooling`), and no startup parameter a
                    // pooler may refuse
                    opts = opts.statement_cache_capacity(0).extra_float_digits(None);
                }
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
                    // a connection a burst opened goes after a minute unused: a console holds
                    // what it needs, not what its start-up needed (sqlx's default is 10 min)
                    .idle_timeout(Duration::from_secs(60))
                    // sqlx pings every connection when it goes back to the pool; pinging it
                    // again on the way out (the default) costs one more round trip per query,
                    // eight per overview refresh. Ping only a connection that sat idle for
                    // IDLE_PING; a dead one is dropped and another taken.
                    .test_before_acquire(false)
                    // an adopted database: opsdeck's views (schema `opsdeck`) before the user's
                    // tables; a schema that does not exist is skipped, so opsdeck's own schema
                    // (in `public`) reads as before. A SET once per connection, not the
                    // `options` startup parameter, which PgBouncer refuses in every pool mode.
                    // Through a transaction pooler a session setting does not hold: see
                    // POOLED_BEGIN.
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            if pooling == Pooling::Direct {
                                use sqlx::Executor;
                                conn.execute(SET_SEARCH_PATH).await?;
                            }
                            Ok(())
                        })
                    })
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
                Ok(Db::Pg(pool, pooling))
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
            Db::Pg(p, Pooling::Direct) => run_on!(
                Some(p),
                None::<&SqlitePool>,
                Backend::Postgres,
                sql,
                args,
                fetch_all,
                wrap_all
            ),
            Db::Pg(p, Pooling::Transaction) => {
                let mut tx = Tx::Pg(p.begin_with(POOLED_BEGIN).await?, Pooling::Transaction);
                let r = tx.fetch_all(sql, args).await?;
                tx.commit().await?;
                Ok(r)
            }
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
            Db::Pg(p, Pooling::Direct) => run_on!(
                Some(p),
                None::<&SqlitePool>,
                Backend::Postgres,
                sql,
                args,
                fetch_optional,
                wrap_opt
            ),
            Db::Pg(p, Pooling::Transaction) => {
                let mut tx = Tx::Pg(p.begin_with(POOLED_BEGIN).await?, Pooling::Transaction);
                let r = tx.fetch_optional(sql, args).await?;
                tx.commit().await?;
                Ok(r)
            }
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
            Db::Pg(p, Pooling::Direct) => Ok(bind_pg!(
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())),
                args
            )
            .execute(p)
            .await?
            .rows_affected()),
            Db::Pg(p, Pooling::Transaction) => {
                // through a transaction pooler: see `Pooling`
                let mut tx = Tx::Pg(p.begin_with(POOLED_BEGIN).await?, Pooling::Transaction);
                let n = tx.execute(&sql, args).await?;
                tx.commit().await?;
                Ok(n)
            }
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
            Db::Pg(p, _) => p
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
            Db::Pg(p, pooling) => {
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
                let begin = match pooling {
                    Pooling::Direct => None,
                    Pooling::Transaction => Some(sqlx::SqlSafeStr::into_sql_str(POOLED_BEGIN)),
                };
                Ok(Tx::Pg(Transaction::begin(conn, begin).await?, *pooling))
            }
            Db::Sqlite(p) => Ok(Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?)),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Pg(p, _) => p.close().await,
            Db::Sqlite(p) => p.close().await,
        }
    }

    pub fn pg_pool(&self) -> Option<&PgPool> {
        match self {
            Db::Pg(p, _) => Some(p),
            Db::Sqlite(_) => None,
        }
    }

    /// How Postgres is reached (SQLite: directly).
    pub fn pooling(&self) -> Pooling {
        match self {
            Db::Pg(_, p) => *p,
            Db::Sqlite(_) => Pooling::Direct,
        }
    }
}

impl Tx {
    fn backend(&self) -> Backend {
        match self {
            Tx::Pg(..) => Backend::Postgres,
            Tx::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Runs a script of several statements (no binds) inside this transaction.
    pub async fn execute_script(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        use sqlx::Executor;
        let q = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()));
        match self {
            Tx::Pg(t, _) => (&mut **t).execute(q).await.map(|_| ()),
            Tx::Sqlite(t) => (&mut **t).execute(q).await.map(|_| ()),
        }
    }

    pub async fn fetch_all(&mut self, sql: &str, args: &[Val]) -> Result<Vec<DbRow>, sqlx::Error> {
        match self {
            Tx::Pg(t, pooling) => run_on!(
                Some(&mut **t),
                None::<&mut sqlx::SqliteConnection>,
                Backend::Postgres,
                sql,
                args,
                fetch_all,
                wrap_all,
                *pooling == Pooling::Direct
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
            Tx::Pg(t, pooling) => run_on!(
                Some(&mut **t),
                None::<&mut sqlx::SqliteConnection>,
                Backend::Postgres,
                sql,
                args,
                fetch_optional,
                wrap_opt,
                *pooling == Pooling::Direct
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
            Tx::Pg(t, pooling) => Ok(bind_pg!(
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .persistent(*pooling == Pooling::Direct),
                args
            )
            .execute(&mut **t)
            .await?
            .rows_affected()),
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
            Tx::Pg(t, _) => t.commit().await,
            Tx::Sqlite(t) => t.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Pg(t, _) => t.rollback().await,
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
    let msg = match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(d) => d.message().to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".into(),
        sqlx::Error::Tls(t) => format!("TLS: {t}"),
        other => other.to_string(),
    };
    match tls_hint(&msg) {
        Some(h) => format!("{msg} — {h}"),
        None => msg,
    }
}

/// Whether a sqlx error is the connection failing (the database unreachable), not the
/// statement: I/O, TLS, the pool waiting in vain or closed, the protocol broken; Postgres's
/// connection exceptions (class 08), shutdowns and "cannot connect now" (57P01–57P03), too many
/// connections (53300), a database that does not exist, is dropped or takes no connections
/// (3D000, 57P04, 55000), a login refused (28xxx): nothing can be read until it does. SQLite's file that cannot be opened or read (CANTOPEN, IOERR,
/// NOTADB).
pub fn is_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.to_string()).unwrap_or_default();
            if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // primary result codes (the low byte of an extended one)
                return code
                    .parse::<i64>()
                    .is_ok_and(|c| matches!(c & 0xff, 10 | 14 | 26));
            }
            code.starts_with("08")
                || matches!(
                    code.as_str(),
                    "57P01" | "57P02" | "57P03" | "57P04" | "53300" | "3D000" | "55000"
                )
                || code.starts_with("28")
        }
        _ => false,
    }
}

/// A failed read as the state sees it: the connection or the read (see [`is_connection`]),
/// in words, passwords redacted. An error without a sqlx error in its chain (a row that does
/// not decode) is the read's.
pub fn read_error(e: &anyhow::Error) -> crate::domain::refresh::ReadError {
    let mut words = Vec::new();
    let mut conn = false;
    for c in e.chain() {
        if let Some(x) = c.downcast_ref::<sqlx::Error>() {
            // its own words (without sqlx's "error returned from database:"), and its causes
            // are in them
            words.push(describe_sqlx(x));
            conn = is_connection(x);
            break;
        }
        words.push(c.to_string());
    }
    crate::domain::refresh::ReadError {
        msg: crate::config::redact_in(&words.join(": ")),
        conn,
    }
}

/// What to do about a TLS failure, in the operator's words.
fn tls_hint(msg: &str) -> Option<&'static str> {
    if msg.contains("UnknownIssuer") {
        Some("the server's certificate is not signed by the CA in sslrootcert (nor by a system CA)")
    } else if msg.contains("not valid for name") {
        Some(
            "the certificate does not name this host: connect by a name it holds, or use sslmode=verify-ca",
        )
    } else if msg.contains("Expired") {
        Some("the server's certificate has expired")
    } else if msg.contains("no encryption") {
        Some("the server accepts only TLS: add sslmode=require, or verify-full with sslrootcert")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{Pooling, pooling_of};

    #[test]
    fn the_url_says_the_pooling() {
        let (u, p) = pooling_of("postgres://ops@pool.internal:6432/auto?pooler=transaction");
        assert_eq!(
            (u.as_str(), p),
            (
                "postgres://ops@pool.internal:6432/auto",
                Pooling::Transaction
            )
        );
        // Supabase's transaction pooler port, with other parameters kept
        let (u, p) = pooling_of("postgres://ops@db.example.com:6543/postgres?sslmode=require");
        assert_eq!(p, Pooling::Transaction);
        assert!(u.ends_with("?sslmode=require"), "{u}");
        // said otherwise, or a session pooler
        let (u, p) = pooling_of("postgres://ops@h:6543/db?sslmode=require&pooler=session");
        assert_eq!(
            (u.as_str(), p),
            ("postgres://ops@h:6543/db?sslmode=require", Pooling::Direct)
        );
        assert_eq!(pooling_of("postgres://ops@h:5432/db").1, Pooling::Direct);
    }
}
