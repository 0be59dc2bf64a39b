//! `opsdeck workflows [--json]` as a user runs it: the database and n8n side by side, and a
//! dead n8n that does not hide the database's workflows.

mod common;

use std::process::{Command, Output};

use common::http_fake::{HttpFake, Response};
use serde_json::{Value, json};

async fn opsdeck(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    c.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("N8N_URL")
        .env_remove("N8N_API_KEY")
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"));
    for (k, v) in env {
        c.env(k, v);
    }
    tokio::task::spawn_blocking(move || c.output().expect("run opsdeck"))
        .await
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_from_every_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let url = format!("sqlite://{}", path.display());
    let o = opsdeck(&["migrate", "--database-url", &url], &[]).await;
    assert!(o.status.success(), "{}", err(&o));
    let store = opsdeck::api::Store::open(&opsdeck::config::DbTarget::Sqlite(path), 1)
        .await
        .unwrap();
    store
        .db
        .execute(
            "INSERT INTO workflows (name, status) VALUES ('ticket-purchase-confirmation', 'active')",
            &[],
        )
        .await
        .unwrap();
    store.db.close().await;

    let fake = HttpFake::start(|r| {
        if r.header("x-n8n-api-key") != Some("sekrit-key") {
            return Response::json(401, json!({"message": "unauthorized"}));
        }
        Response::json(
            200,
            json!({"data": [{"id": "aB3", "name": "Lead intake", "active": false, "tags": [],
                             "nodes": [], "connections": {}}], "nextCursor": null}),
        )
    })
    .await;
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("N8N_URL", fake.url.as_str()),
        ("N8N_API_KEY", "sekrit-key"),
    ];
    let o = opsdeck(&["workflows", "--json"], &env).await;
    assert!(o.status.success(), "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    let rows: Vec<(String, String, String)> = v["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["source"].as_str().unwrap().into(),
                w["name"].as_str().unwrap().into(),
                w["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "db".into(),
                "ticket-purchase-confirmation".into(),
                "active".into()
            ),
            ("n8n".into(), "Lead intake".into(), "inactive".into()),
        ]
    );
    assert_eq!(v["workflows"][1]["id"], "n8n:aB3");
    assert_eq!(v["errors"], json!([]));

    let o = opsdeck(&["workflows"], &env).await;
    let t = out(&o);
    assert!(t.starts_with("SOURCE  ID"), "{t}");
    assert!(t.contains("n8n     n8n:aB3"), "{t}");

    // a bad key: the database still lists, the error names the key, exit 2, no key printed
    let bad = [
        ("DATABASE_URL", url.as_str()),
        ("N8N_URL", fake.url.as_str()),
        ("N8N_API_KEY", "wrong-key"),
    ];
    let o = opsdeck(&["workflows"], &bad).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).contains("ticket-purchase-confirmation"));
    assert!(
        err(&o).contains("n8n: n8n rejected the API key"),
        "{}",
        err(&o)
    );
    assert!(!err(&o).contains("wrong-key") && !out(&o).contains("wrong-key"));

    // a URL without a key is a configuration error
    let o = opsdeck(&["workflows"], &[("N8N_URL", fake.url.as_str())]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no API key"), "{}", err(&o));
}
