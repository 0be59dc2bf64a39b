//! The binary's one-shot commands as a user runs them: migrate, status, bad input.

mod common;

use common::cli::{opsdeck, text};

use opsdeck::api::db::Val;

/// Migrations shipped (both backends have the same numbers).
fn migrations() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count()
}

#[test]
fn migrate_sqlite_twice() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let o = opsdeck(&["migrate", "--database-url", &url], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("applied {n} of {n} migrations", n = migrations())),
        "{}",
        text(&o)
    );
    let o = opsdeck(&["migrate", "--database-url", &url], &[]);
    assert!(o.status.success());
    assert!(text(&o).contains("up to date"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_postgres_and_status_thresholds() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let url = match &s.target {
        opsdeck::config::DbTarget::Postgres(u) => u.expose().to_string(),
        _ => unreachable!(),
    };
    let o = opsdeck(&["migrate"], &[("DATABASE_URL", &url)]);
    assert!(o.status.success(), "{}", text(&o));
    let n = migrations();
    assert!(
        text(&o).contains(&format!("applied {n} of {n}")),
        "{}",
        text(&o)
    );
    let o = opsdeck(&["migrate"], &[("DATABASE_URL", &url)]);
    assert!(text(&o).contains("up to date"), "{}", text(&o));

    let status = |n_pending: i64| {
        let s = &s;
        let url = url.clone();
        async move {
            s.db.execute("DELETE FROM job_queue", &[]).await.unwrap();
            for _ in 0..n_pending {
                s.db.execute(
                    "INSERT INTO job_queue (job_type) VALUES ($1)",
                    &[Val::from("email.send")],
                )
                .await
                .unwrap();
            }
            opsdeck(&["status", "--database-url", &url], &[])
        }
    };
    let o = status(3).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).starts_with("OK - queue depth 3"), "{}", text(&o));
    let o = status(60).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).starts_with("WARNING - queue depth 60"));
    let o = status(101).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = opsdeck(&["status", "--json", "--database-url", &url], &[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["queue"]["depth"], 101);
    assert_eq!(v["status"], "CRITICAL");
}

#[test]
fn unreachable_database_is_one_line_exit_2_without_password() {
    let o = opsdeck(
        &[
            "migrate",
            "--database-url",
            "postgres://ops:hunter2@127.0.0.1:1/automation",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert_eq!(t.trim().lines().count(), 1, "{t}");
    assert!(t.contains("127.0.0.1:1"), "{t}");
    assert!(t.contains("refused"), "{t}");
    assert!(!t.contains("hunter2"), "{t}");
    assert!(!t.contains("panicked") && !t.contains("backtrace"), "{t}");
}

#[test]
fn help_never_shows_the_password() {
    let o = opsdeck(
        &["--help"],
        &[("DATABASE_URL", "postgres://ops:hunter2@db/x")],
    );
    assert!(o.status.success());
    assert!(!text(&o).contains("hunter2"));
    let o = opsdeck(
        &["migrate", "--help"],
        &[("DATABASE_URL", "postgres://ops:hunter2@db/x")],
    );
    assert!(!text(&o).contains("hunter2"));
}

#[test]
fn malformed_config_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("opsdeck.toml");
    std::fs::write(&cfg, "theme = \"mono\"\nrefresh_interval = \"fast\"\n").unwrap();
    let o = opsdeck(&["migrate", "--config", cfg.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains(&format!("{}:2:", cfg.display())), "{t}");
    let o = opsdeck(&["migrate", "--config", "/nonexistent/opsdeck.toml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("/nonexistent/opsdeck.toml"));
}

#[test]
fn unsupported_url_is_refused_clearly() {
    let o = opsdeck(
        &["migrate", "--database-url", "mysql://root:pw@localhost/x"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains("unsupported database URL"), "{t}");
    assert!(!t.contains(":pw@"), "{t}");
}
