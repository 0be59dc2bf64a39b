//! The action subcommands as a script runs them: exit codes 0 done / 1 conflict / 2 error,
//! `--json`, `--yes`, short ids and names, and no change without confirmation.

mod common;

use std::process::Output;

use common::cli::{text, url_of};

use opsdeck::api::db::Val;
use uuid::Uuid;

fn opsdeck(url: &str, args: &[&str]) -> Output {
    common::cli::opsdeck(args, &[("DATABASE_URL", url), ("USER", "nightshift")])
}

async fn cli_body(s: common::TestStore) {
    let url = url_of(&s);
    let wf = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO workflows (id, name, status) VALUES ($1, 'Model Booking', 'active')",
        &[Val::Uuid(wf)],
    )
    .await
    .unwrap();
    // no --yes and stdin is not a terminal: refused, nothing changed
    let o = opsdeck(&url, &["pause", "Model Booking", "--reason", "quota"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("pass --yes"), "{}", text(&o));

    let o = opsdeck(
        &url,
        &[
            "pause",
            "Model Booking",
            "--reason",
            "quota",
            "--yes",
            "--operator",
            "maya@ops",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("done: paused 1 workflow"), "{}", text(&o));
    // the second time: someone got there first → exit 1, JSON says who
    let o = opsdeck(
        &url,
        &[
            "pause",
            &wf.to_string()[..8],
            "--reason",
            "again",
            "--yes",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "conflict");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("already paused by maya@ops"),
        "{v}"
    );
    // the default operator is $USER@host
    let o = opsdeck(&url, &["resume", "Model Booking", "-y"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let who =
        s.db.fetch_one(
            "SELECT operator FROM operator_actions WHERE action = 'workflow.resume'",
            &[],
        )
        .await
        .unwrap()
        .s("operator");
    assert!(who.starts_with("nightshift@"), "{who}");

    // bad input: unknown workflow, reject without a note
    let o = opsdeck(&url, &["pause", "Nope", "--reason", "x", "-y"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("no workflow named or with id 'Nope'"),
        "{}",
        text(&o)
    );
    let o = opsdeck(&url, &["reject", "abcdef12", "-y"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // retry --all-failed by job type
    for status in ["failed", "failed", "completed"] {
        s.db.execute(
            "INSERT INTO job_queue (id, job_type, status) VALUES ($1, 'email.send', $2)",
            &[Val::Uuid(Uuid::new_v4()), Val::Text(status.into())],
        )
        .await
        .unwrap();
    }
    let o = opsdeck(
        &url,
        &[
            "retry",
            "--all-failed",
            "--job-type",
            "email.send",
            "-y",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["changed"], 2);
    let o = opsdeck(&url, &["retry", "--all-failed", "-y"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "nothing matched is a conflict: {}",
        text(&o)
    );

    // read-only refuses
    let o = opsdeck(&url, &["resume", "Model Booking", "-y", "--read-only"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("read-only"));
}
store_test!(cli, cli_body);
