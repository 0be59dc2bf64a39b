//! Which failed reads mean "the database is unreachable" (review finding 5 of issue 19): only a
//! failing connection marks the console disconnected and counts toward the `database_down`
//! alert. A permission missing on one table, a statement timeout or a division by zero leave
//! the connection standing, and the view says why its read failed. Judged on real errors from
//! real Postgres and SQLite, and through the console's own read path.

mod common;

use chrono::Utc;
use opsdeck::api::db::is_connection;
use opsdeck::domain::mode::Mode;
use opsdeck::domain::refresh::ViewId;
use opsdeck::keymap::Keymap;
use opsdeck::state::{App, Effect, Msg};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sqlx::Connection;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_errors_are_told_apart() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let url = common::cli::url_of(&s);
    // nobody listens on port 1
    let refused = sqlx::PgConnection::connect("postgres://ops@127.0.0.1:1/automation")
        .await
        .unwrap_err();
    assert!(is_connection(&refused), "{refused:?}");
    // a database that does not exist: nothing can be read until it does
    let mut u = url::Url::parse(&url).unwrap();
    u.set_path("no_such_db_t19");
    let gone = sqlx::PgConnection::connect(u.as_str()).await.unwrap_err();
    assert!(is_connection(&gone), "{gone:?}");

    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    let div = sqlx::query("SELECT 1/0").execute(&mut c).await.unwrap_err();
    assert!(!is_connection(&div), "{div:?}");
    sqlx::query("SET statement_timeout = '10ms'")
        .execute(&mut c)
        .await
        .unwrap();
    let slow = sqlx::query("SELECT pg_sleep(1)")
        .execute(&mut c)
        .await
        .unwrap_err();
    assert!(!is_connection(&slow), "a statement timeout: {slow:?}");
    sqlx::query("RESET statement_timeout")
        .execute(&mut c)
        .await
        .unwrap();
    // the server ends the session (an administrator's pg_terminate_backend, a restart)
    let ended = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
        .execute(&mut c)
        .await
        .unwrap_err();
    assert!(is_connection(&ended), "{ended:?}");
}

#[tokio::test]
async fn sqlite_errors_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    // a file that is not a database
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", junk.display()))
        .await
        .unwrap();
    let notadb = sqlx::query("SELECT * FROM sqlite_master")
        .execute(&mut c)
        .await
        .unwrap_err();
    assert!(is_connection(&notadb), "{notadb:?}");
    // a file that cannot be opened
    let missing = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}/no/such/dir/x.db?mode=rw",
        dir.path().display()
    ))
    .await
    .unwrap_err();
    assert!(is_connection(&missing), "{missing:?}");
    let good = dir.path().join("good.db");
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", good.display()))
        .await
        .unwrap();
    let no_table = sqlx::query("SELECT * FROM nowhere")
        .execute(&mut c)
        .await
        .unwrap_err();
    assert!(!is_connection(&no_table), "{no_table:?}");
}

/// A login that may read everything but the operators' audit: the Audit view's read fails
/// with the permission, the console stays connected and says so in the status bar, and the
/// watch (the overview) keeps working without a `database_down` alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_error_is_not_a_lost_connection() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let login = format!("t19_ro_{tag}");
    s.db.execute_script(&format!(
        "CREATE ROLE {login} LOGIN; GRANT USAGE ON SCHEMA public TO {login}; \
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {login}; \
         REVOKE SELECT ON operator_actions FROM {login};"
    ))
    .await
    .unwrap();
    let mut u = url::Url::parse(&common::cli::url_of(&s)).unwrap();
    u.set_username(&login).unwrap();
    let ro = opsdeck::api::Store::open(
        &opsdeck::config::DbTarget::Postgres(opsdeck::config::SecretUrl::new(u.to_string())),
        2,
    )
    .await
    .unwrap();
    let reader = opsdeck::api::replica::Reader::new(ro.clone(), None);

    let mut a = App::new(
        Mode::ReadOnly,
        Theme::builtin("default").unwrap(),
        Keymap::default_map(),
        "ana".into(),
        "db/automation".into(),
        Utc::now(),
    );
    let mut fx = a.start();
    fx.extend(a.switch(ViewId::Audit));
    let mut saw_audit_error = false;
    for e in fx {
        if let Effect::Load(req) = e {
            let m = opsdeck::app::effects::load(&reader, req.clone()).await;
            if let Msg::Loaded(l) = &m
                && req.view == ViewId::Audit
            {
                let err = l.result.as_ref().expect_err("the audit is not readable");
                assert!(!err.conn, "{err:?}");
                assert!(err.msg.contains("permission denied"), "{err:?}");
                saw_audit_error = true;
            }
            a.update(m);
        }
    }
    assert!(saw_audit_error);
    assert!(
        !a.conn.is_lost(),
        "a permission error is not a lost connection"
    );
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    t.draw(|f| opsdeck::views::draw(f, &a)).unwrap();
    let screen = t.backend().to_string();
    assert!(
        screen.contains("✖ read failed: permission denied for table operator_actions"),
        "{screen}"
    );
    assert!(!screen.contains("disconnected"), "{screen}");
    // the other views read, and the status bar's word goes with the view it is about
    let fx = a.switch(ViewId::Queue);
    for e in fx {
        if let Effect::Load(req) = e {
            let m = opsdeck::app::effects::load(&reader, req).await;
            a.update(m);
        }
    }
    t.draw(|f| opsdeck::views::draw(f, &a)).unwrap();
    let screen = t.backend().to_string();
    assert!(!screen.contains("read failed"), "{screen}");
    assert!(!a.conn.is_lost());
    ro.db.close().await;
    let name = login.clone();
    drop(s);
    let admin = opsdeck::api::Store::open(
        &opsdeck::config::DbTarget::Postgres(opsdeck::config::SecretUrl::new(
            common::pg_admin_url(),
        )),
        1,
    )
    .await
    .unwrap();
    // the test database is dropped by now (its Drop waits): the login owns nothing
    for _ in 0..20 {
        if admin
            .db
            .execute(&format!("DROP ROLE IF EXISTS {name}"), &[])
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    admin.db.close().await;
}
