//! Export round trips (issue 19), on the seeded demo scenario in real Postgres and SQLite:
//! `opsdeck export queue --filter status:failed` as CSV and as JSON, parsed back and compared
//! with the store's own rows (every failed job, across pages, nothing else); the console's
//! `:export PATH` writes the list as shown with its filter, and never overwrites a file.

mod common;

use std::collections::BTreeMap;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::api::Store;
use opsdeck::domain::export::parse_csv;
use opsdeck::domain::mode::Mode;
use opsdeck::domain::model::ListFilter;
use opsdeck::domain::refresh::{Listen, ViewId};
use opsdeck::keymap::Keymap;
use opsdeck::state::{App, Effect, Msg};
use opsdeck::theme::Theme;

use common::TestStore;

async fn seeded(s: TestStore) -> TestStore {
    opsdeck::sim::seed::seed_scenario(&s, 7, Utc::now())
        .await
        .expect("seed");
    s
}

/// The failed jobs as the store reads them: id → (job_type, attempts, error_message).
async fn failed_jobs(s: &Store) -> BTreeMap<String, (String, String, String)> {
    let jobs = s
        .jobs(&ListFilter {
            status: Some("failed".into()),
            limit: 100_000,
            ..Default::default()
        })
        .await
        .expect("jobs");
    jobs.into_iter()
        .map(|j| {
            (
                j.id.to_string(),
                (
                    j.job_type,
                    j.attempts.to_string(),
                    j.error_message.unwrap_or_default(),
                ),
            )
        })
        .collect()
}

async fn round_trip(s: TestStore) {
    let s = seeded(s).await;
    let want = failed_jobs(&s).await;
    assert!(
        want.len() > 5,
        "the scenario has failed jobs: {}",
        want.len()
    );
    let url = common::cli::url_of(&s);
    let cli = |args: &[&str]| common::cli::opsdeck(args, &[("DATABASE_URL", url.as_str())]);
    let text = common::cli::text;

    // CSV to stdout
    let o = cli(&["export", "queue", "--filter", "status:failed"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = parse_csv(&String::from_utf8_lossy(&o.stdout));
    let head = &rows[0];
    let col = |name: &str| head.iter().position(|h| h == name).expect(name);
    let (id, ty, at, err, st) = (
        col("id"),
        col("job_type"),
        col("attempts"),
        col("error_message"),
        col("status"),
    );
    let got: BTreeMap<String, (String, String, String)> = rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r[st], "failed");
            (
                r[id].clone(),
                (r[ty].clone(), r[at].clone(), r[err].clone()),
            )
        })
        .collect();
    assert_eq!(got.len(), rows.len() - 1, "no row twice");
    assert_eq!(got, want, "the CSV holds exactly the store's failed jobs");

    // JSON to a file
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("failed.json");
    let p = path.to_str().unwrap();
    let o = cli(&["export", "queue", "--filter", "status:failed", "-o", p]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["view"], "queue");
    assert_eq!(v["filter"], "status:failed");
    assert_eq!(v["count"], want.len());
    let got: BTreeMap<String, (String, String, String)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                (
                    r["job_type"].as_str().unwrap().to_string(),
                    r["attempts"].to_string(),
                    r["error_message"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(got, want, "the JSON holds exactly the store's failed jobs");
    // an existing file is never overwritten
    let o = cli(&["export", "queue", "-o", p]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("exists"), "{}", text(&o));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&path).unwrap())
            .unwrap()["count"],
        want.len()
    );
    // a view that is not a list, a format that is not one
    let o = cli(&["export", "overview"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = cli(&["export", "audit", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // the console's :export writes the list as shown, with its filter
    let mut app = App::new(
        Mode::Live,
        Theme::builtin("default").unwrap(),
        Keymap::default_map(),
        "ana".into(),
        "test".into(),
        Utc::now(),
    );
    app.listen = Listen::Up;
    let fx = app.switch(ViewId::Errors);
    run_all(&s, &mut app, fx).await;
    let shown = app.errors.table.len();
    assert!(shown > 0);
    let out = dir.path().join("errors.csv");
    let cmd = format!(":export {}", out.display());
    let toast = command(&s, &mut app, &cmd).await;
    assert_eq!(toast, format!("exported {shown} rows to {}", out.display()));
    let rows = parse_csv(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(rows.len(), shown + 1);
    let wf = rows[0].iter().position(|h| h == "workflow_name").unwrap();
    let names: Vec<&str> = app
        .errors
        .table
        .window(0, shown)
        .map(|(_, p)| p.workflow_name.as_str())
        .collect();
    let exported: Vec<&str> = rows[1..].iter().map(|r| r[wf].as_str()).collect();
    assert_eq!(exported, names, "in the list's order");
    // the same name again: refused, the file kept
    let toast = command(&s, &mut app, &cmd).await;
    assert!(toast.contains("exists: choose another name"), "{toast}");
    s.db.close().await;
}

/// Types a palette command (`:…`), Enter, and runs what it asks for: the toast it leaves.
async fn command(s: &Store, app: &mut App, cmd: &str) -> String {
    for code in cmd
        .chars()
        .map(KeyCode::Char)
        .chain(std::iter::once(KeyCode::Enter))
    {
        let fx = app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        run_all(s, app, fx).await;
    }
    app.toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

/// Runs the reads and the export the console asks for, as the event loop does.
async fn run_all(s: &Store, app: &mut App, mut fx: Vec<Effect>) {
    let io = common::io(s, "ana");
    while !fx.is_empty() {
        let e = fx.remove(0);
        if matches!(e, Effect::Load(_) | Effect::Export { .. })
            && let Some(m) = Box::pin(opsdeck::app::effects::run(&io, e)).await
        {
            fx.extend(app.update(m));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    round_trip(common::migrated(s).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_sqlite() {
    round_trip(common::migrated(common::sqlite_store_unmigrated().await).await).await;
}
