//! `opsdeck timeline` (issue 19) on the seeded scenario in real Postgres and SQLite, after an
//! incident played through the same code the console runs: an alert raised, acknowledged with a
//! comment and cleared, a workflow paused by an operator, a database outage recorded. The record
//! holds each of them, the scenario's broadcasts and error bursts, in time order, as JSON, CSV
//! and Markdown.

mod common;

use chrono::{Duration, Utc};
use opsdeck::api::actions::{ActionCtx, execute};
use opsdeck::domain::action::{Action, Actor, Named, Outcome};
use opsdeck::domain::alert::{AlertRule, Firing, Level};
use opsdeck::domain::export::parse_csv;

use common::TestStore;

async fn timeline(s: TestStore) {
    opsdeck::sim::seed::seed_scenario(&s, 7, Utc::now())
        .await
        .expect("seed");
    let ana = ActionCtx::new(Actor {
        operator: "ana".into(),
        origin: "test".into(),
    });
    let f = Firing {
        rule: AlertRule::QueueDepth,
        key: "job_queue".into(),
        level: Level::Critical,
        message: "queue depth 140 > 100".into(),
    };
    let id = s
        .alert_raise(&f, "console-1")
        .await
        .unwrap()
        .expect("raised");
    let r = execute(
        &s,
        &ana,
        &Action::AlertAct {
            alert: id,
            label: f.message.clone(),
            minutes: None,
            comment: Some("scaling workers".into()),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    // silenced twice: the first silence ends (its end moved into the past, as an hour later),
    // then another; the record keeps both, not only the last
    let silence = |comment: &str, minutes: i64| Action::AlertAct {
        alert: id,
        label: f.message.clone(),
        minutes: Some(minutes),
        comment: Some(comment.into()),
    };
    let r = execute(&s, &ana, &silence("vendor restarting", 60)).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    s.db.execute(
        "UPDATE opsdeck_alerts SET silenced_until = $1 WHERE id = $2",
        &[
            opsdeck::api::db::Val::Ts(Utc::now() - Duration::seconds(1)),
            opsdeck::api::db::Val::Uuid(id),
        ],
    )
    .await
    .unwrap();
    let r = execute(&s, &ana, &silence("still restarting", 30)).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    let wf =
        s.db.fetch_one(
            "SELECT id, name FROM workflows WHERE status = 'active' ORDER BY name LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let r = execute(
        &s,
        &ana,
        &Action::PauseWorkflows {
            workflows: vec![Named::new(wf.id("id"), wf.s("name"))],
            reason: "stop the flood".into(),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert!(s.alert_clear(id, "console-1").await.unwrap());
    let now = Utc::now();
    if s.db.pg_pool().is_some() {
        s.alert_outage(
            "database",
            "database unreachable for 40s",
            "console-2",
            now - Duration::seconds(50),
            now - Duration::seconds(10),
        )
        .await
        .unwrap();
    }

    let url = common::cli::url_of(&s);
    let cli = |args: &[&str]| common::cli::opsdeck(args, &[("DATABASE_URL", url.as_str())]);
    let text = common::cli::text;
    let o = cli(&["timeline", "--since", "1d", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["missing"].as_array().map(|a| a.len()), Some(0), "{v}");
    let e = v["entries"].as_array().unwrap();
    let find = |kind: &str, part: &str| {
        e.iter()
            .find(|x| x["kind"] == kind && x["what"].as_str().unwrap_or("").contains(part))
            .unwrap_or_else(|| panic!("no {kind} entry with {part:?}: {v:#}"))
    };
    assert_eq!(
        find("alert", "CRITICAL raised: queue depth 140")["who"],
        "console-1"
    );
    let ack = find("alert", "acked: queue depth 140 > 100 — scaling workers");
    assert_eq!(ack["who"], "ana");
    find("alert", "cleared: queue depth 140");
    assert_eq!(
        find("alert", "silenced for 1h00m (until ")["what"]
            .as_str()
            .unwrap()
            .split("): ")
            .nth(1),
        Some("queue depth 140 > 100 — vendor restarting")
    );
    assert!(
        find("alert", "silenced for 30m")["what"]
            .as_str()
            .unwrap()
            .ends_with("— still restarting")
    );
    let pause = find("pause", "workflow.pause workflow");
    assert_eq!(pause["who"], "ana");
    assert!(
        pause["what"]
            .as_str()
            .unwrap()
            .ends_with(": stop the flood")
    );
    find("broadcast", "triggered to");
    find("errors", "first error: ");
    if s.db.pg_pool().is_some() {
        find("alert", "database unreachable (as seen by a console)");
        find("alert", "database back: database unreachable for 40s");
    }
    // the ack is told once (by the alert), not again as an action
    assert!(
        !e.iter()
            .any(|x| x["kind"] == "action"
                && x["what"].as_str().unwrap_or("").starts_with("alert.ack")),
        "{v:#}"
    );
    let times: Vec<&str> = e.iter().map(|x| x["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "in time order");

    // CSV and Markdown hold the same entries
    let o = cli(&["timeline", "--since", "1d", "--format", "csv"]);
    let rows = parse_csv(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(rows[0], vec!["at", "kind", "what", "who"]);
    assert_eq!(rows.len() - 1, e.len());
    let o = cli(&["timeline", "--since", "1d"]);
    let md = text(&o);
    assert!(md.contains("# Incident timeline"), "{md}");
    assert!(md.contains("| time (UTC) | kind | who | what |"), "{md}");
    assert!(
        md.contains("| alert | ana | acked: queue depth 140 > 100 — scaling workers |"),
        "{md}"
    );
    // bad input says what it wants
    let o = cli(&["timeline", "--since", "yesterday"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("30m, 2h or 1d"), "{}", text(&o));
    s.db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    timeline(common::migrated(s).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_sqlite() {
    timeline(common::migrated(common::sqlite_store_unmigrated().await).await).await;
}
