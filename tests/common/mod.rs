//! Test stores on real backends. Each test gets its own Postgres database (dropped afterwards)
//! or its own SQLite file, so the suite runs in parallel.
//!
//! Postgres: `OPSDECK_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`). Under
//! `CI=true` a missing server fails the test; elsewhere the Postgres half skips, loudly.
#![allow(dead_code)]

pub mod cli;
pub mod cluster;
pub mod http_fake;
pub mod pgbouncer;
pub mod tmux;

use std::ops::Deref;

use opsdeck::api::Store;
use opsdeck::config::{DbTarget, SecretUrl};

pub struct TestStore {
    pub store: Store,
    pg_admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestStore {
    /// The Postgres database's name (None on SQLite).
    pub fn pg_db_name(&self) -> Option<&str> {
        self.pg_admin.as_ref().map(|(_, n)| n.as_str())
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            let pool = self.store.db.clone();
            // drop the database from a helper thread: Drop cannot await
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    pool.close().await;
                    if let Ok(a) = Store::open(&DbTarget::Postgres(SecretUrl::new(admin)), 1).await
                    {
                        let _ =
                            a.db.execute(
                                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                                &[],
                            )
                            .await;
                        a.db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("OPSDECK_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// A fresh Postgres database with no schema.
pub async fn pg_store_unmigrated() -> Option<TestStore> {
    let admin = pg_admin_url();
    let a = match Store::open(&DbTarget::Postgres(SecretUrl::new(admin.clone())), 1).await {
        Ok(a) => a,
        Err(e) => {
            if ci() {
                panic!("CI=true but Postgres is not reachable: {e}");
            }
            eprintln!(
                "\n!!!!!!!! SKIPPING POSTGRES TEST: {e} (set OPSDECK_TEST_PG or start Postgres) !!!!!!!!\n"
            );
            return None;
        }
    };
    let name = format!("opsdeck_t_{}", uuid::Uuid::new_v4().simple());
    a.db.execute(&format!("CREATE DATABASE \"{name}\""), &[])
        .await
        .expect("create test database");
    a.db.close().await;
    let mut url = url::Url::parse(&admin).expect("admin url");
    url.set_path(&name);
    let store = Store::open(&DbTarget::Postgres(SecretUrl::new(url.to_string())), 5)
        .await
        .expect("connect test db");
    Some(TestStore {
        store,
        pg_admin: Some((admin, name)),
        _dir: None,
    })
}

/// A fresh SQLite file with no schema.
pub async fn sqlite_store_unmigrated() -> TestStore {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("test.db");
    let store = Store::open(&DbTarget::Sqlite(path), 4)
        .await
        .expect("open sqlite");
    TestStore {
        store,
        pg_admin: None,
        _dir: Some(dir),
    }
}

/// What the console's effects need, on `store` (no replica, no contexts), acting as
/// `operator` from origin "test".
pub fn io(store: &Store, operator: &str) -> opsdeck::app::effects::Io {
    let actor = opsdeck::domain::action::Actor {
        operator: operator.into(),
        origin: "test".into(),
    };
    opsdeck::app::effects::Io {
        store: store.clone(),
        reader: opsdeck::api::replica::Reader::new(store.clone(), None),
        actions: opsdeck::api::actions::ActionCtx::new(actor.clone()),
        broadcast: opsdeck::api::broadcast::BroadcastCtx::new(actor, Default::default()),
        contexts: Default::default(),
    }
}

pub async fn migrated(t: TestStore) -> TestStore {
    t.store.migrate().await.expect("migrate");
    t
}

/// Generates `NAME::postgres` and `NAME::sqlite` tests running the same async body
/// `fn(TestStore) -> impl Future`, on a fresh migrated store each.
#[macro_export]
macro_rules! store_test {
    ($name:ident, $body:ident) => {
        $crate::store_test!(@gen $name, super::$body);
    };
    ($name:ident, $body:path) => {
        $crate::store_test!(@gen $name, $body);
    };
    (@gen $name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(s) = super::common::pg_store_unmigrated().await {
                    $body(super::common::migrated(s).await).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let s = super::common::sqlite_store_unmigrated().await;
                $body(super::common::migrated(s).await).await;
            }
        }
    };
}
