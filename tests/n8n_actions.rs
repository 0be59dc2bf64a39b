//! n8n actions through `api::actions::execute`: n8n's answer decides the outcome, and each
//! action writes exactly one operator_actions row (Postgres and SQLite).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestStore;
use common::http_fake::{HttpFake, Response};
use opsdeck::api::actions::{ActionCtx, execute};
use opsdeck::api::n8n::N8nClient;
use opsdeck::config::ApiKey;
use opsdeck::domain::action::{Action, Actor, Outcome};
use serde_json::{Value, json};

fn actor() -> Actor {
    Actor {
        operator: "maya@ops".into(),
        origin: "local:test".into(),
    }
}

fn ctx(url: &str) -> ActionCtx {
    ActionCtx::new(actor()).with_n8n(Some(N8nClient::new(
        url,
        ApiKey::new("k"),
        Duration::from_secs(2),
    )))
}

fn wf(id: &str, active: bool) -> Value {
    json!({"id": id, "name": "Lead intake", "active": active, "nodes": [], "connections": {},
           "settings": {}, "tags": [], "createdAt": "2025-11-20T10:00:00.000Z",
           "updatedAt": "2025-11-21T10:00:00.000Z"})
}

fn exec(id: Value, status: &str) -> Value {
    json!({"id": id, "status": status, "finished": status == "success", "mode": "webhook",
           "startedAt": "2025-11-21T09:00:00.000Z", "stoppedAt": "2025-11-21T09:00:02.000Z",
           "workflowId": "7", "retryOf": null, "retrySuccessId": null, "waitTill": null})
}

async fn audit_rows(s: &TestStore) -> Vec<(String, String, Option<String>, String, Value)> {
    s.db.fetch_all(
        "SELECT action, target_type, target_id, outcome, after FROM operator_actions ORDER BY at",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.s("action"),
            r.s("target_type"),
            r.text("target_id"),
            r.s("outcome"),
            r.json("after").unwrap_or(Value::Null),
        )
    })
    .collect()
}

fn pause(id: &str) -> Action {
    Action::N8nSetActive {
        workflow: id.into(),
        label: "Lead intake".into(),
        active: false,
        reason: Some("vendor outage".into()),
    }
}

async fn pause_resume(s: TestStore) {
    // n8n's state lives in the fake: activate/deactivate flip it
    let active = Arc::new(Mutex::new(true));
    let a = active.clone();
    let fake = HttpFake::start(move |r| {
        let mut cur = a.lock().unwrap();
        match (r.method.as_str(), r.path.split('?').next().unwrap()) {
            ("GET", "/api/v1/workflows/7") => Response::json(200, wf("7", *cur)),
            ("POST", "/api/v1/workflows/7/deactivate") => {
                *cur = false;
                Response::json(200, wf("7", false))
            }
            ("POST", "/api/v1/workflows/7/activate") => {
                *cur = true;
                Response::json(200, wf("7", true))
            }
            _ => Response::json(404, json!({"message": "Not Found"})),
        }
    })
    .await;
    let c = ctx(&fake.url);
    let r = execute(&s, &c, &pause("7")).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.message, "n8n workflow Lead intake paused (inactive)");
    assert!(!*active.lock().unwrap());
    // again: already inactive → conflict, nothing sent
    let r = execute(&s, &c, &pause("7")).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert_eq!(r.message, "n8n workflow Lead intake is already inactive");
    let resume = Action::N8nSetActive {
        workflow: "7".into(),
        label: "Lead intake".into(),
        active: true,
        reason: None,
    };
    let r = execute(&s, &c, &resume).await;
    assert_eq!(r.outcome, Outcome::Ok);
    // unknown workflow → conflict (nothing matched), like a database twin
    let r = execute(&s, &c, &pause("nope")).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(
        r.message.ends_with("n8n has no workflow nope"),
        "{}",
        r.message
    );
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2);

    let rows = audit_rows(&s).await;
    let got: Vec<(&str, &str, Option<&str>, &str)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_deref(), r.3.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("n8n.workflow.pause", "n8n_workflow", Some("7"), "ok"),
            ("n8n.workflow.pause", "n8n_workflow", Some("7"), "conflict"),
            ("n8n.workflow.resume", "n8n_workflow", Some("7"), "ok"),
            (
                "n8n.workflow.pause",
                "n8n_workflow",
                Some("nope"),
                "conflict"
            ),
        ]
    );
    assert_eq!(rows[0].4, json!({"active": false}));
    let note: Option<String> =
        s.db.fetch_one("SELECT note FROM operator_actions ORDER BY at LIMIT 1", &[])
            .await
            .unwrap()
            .text("note");
    assert_eq!(note.as_deref(), Some("vendor outage"));
}
store_test!(n8n_pause_resume, pause_resume);

async fn retry(s: TestStore) {
    let fake = HttpFake::start(
        |r| match (r.method.as_str(), r.path.split('?').next().unwrap()) {
            ("GET", "/api/v1/executions/1042") => Response::json(200, exec(json!("1042"), "error")),
            ("POST", "/api/v1/executions/1042/retry") => {
                let mut e = exec(json!(1043), "success");
                e["retryOf"] = json!(1042);
                e["mode"] = json!("retry");
                Response::json(200, e)
            }
            ("GET", "/api/v1/executions/9") => Response::json(200, exec(json!("9"), "success")),
            ("POST", "/api/v1/executions/9/retry") => Response::json(
                400,
                json!({"message": "The execution succeeded, so it cannot be retried"}),
            ),
            ("GET", "/api/v1/executions/5") => Response::json(200, exec(json!("5"), "error")),
            ("POST", "/api/v1/executions/5/retry") => {
                Response::json(401, json!({"message": "unauthorized"}))
            }
            _ => Response::json(404, json!({"message": "Not Found"})),
        },
    )
    .await;
    let c = ctx(&fake.url);
    let retry = |id: &str| Action::N8nRetry {
        execution: id.into(),
        label: id.into(),
    };
    let r = execute(&s, &c, &retry("1042")).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.message, "n8n execution 1042 retried as 1043 (success)");
    // a second press: conflict naming who retried it, n8n is not asked again
    let r = execute(&s, &c, &retry("1042")).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(
        r.message
            .starts_with("n8n execution 1042 already retried by maya@ops at ")
            && r.message.ends_with("(as 1043)"),
        "{}",
        r.message
    );
    // n8n refuses a successful one: conflict with n8n's words
    let r = execute(&s, &c, &retry("9")).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(
        r.message
            .contains("The execution succeeded, so it cannot be retried")
    );
    // a rejected key is an error
    let r = execute(&s, &c, &retry("5")).await;
    assert_eq!(r.outcome, Outcome::Error);
    assert!(
        r.message.contains("n8n rejected the API key"),
        "{}",
        r.message
    );
    let retry_posts = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/executions/1042/retry")
        .count();
    assert_eq!(retry_posts, 1);

    let rows = audit_rows(&s).await;
    let outcomes: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.2.as_deref().unwrap(), r.3.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("1042", "ok"),
            ("1042", "conflict"),
            ("9", "conflict"),
            ("5", "error")
        ]
    );
    assert_eq!(
        rows[0].4,
        json!({"retried_as": "1043", "status": "success"})
    );
    assert!(
        rows.iter()
            .all(|r| r.0 == "n8n.execution.retry" && r.1 == "n8n_execution")
    );
}
store_test!(n8n_retry, retry);

async fn unconfigured_and_unreachable(s: TestStore) {
    let r = execute(&s, &ActionCtx::new(actor()), &pause("7")).await;
    assert_eq!(r.outcome, Outcome::Error);
    assert!(r.message.contains("n8n is not configured"), "{}", r.message);
    // a pause without a reason is refused before anything happens (no audit row, like the db)
    let bad = Action::N8nSetActive {
        workflow: "7".into(),
        label: "x".into(),
        active: false,
        reason: None,
    };
    assert!(
        execute(&s, &ActionCtx::new(actor()), &bad)
            .await
            .message
            .contains("reason")
    );
    let fake =
        HttpFake::start(|_| Response::json(200, json!({})).delayed(Duration::from_secs(3))).await;
    let slow = ActionCtx::new(actor()).with_n8n(Some(N8nClient::new(
        &fake.url,
        ApiKey::new("k"),
        Duration::from_millis(200),
    )));
    let r = execute(&s, &slow, &pause("7")).await;
    assert_eq!(r.outcome, Outcome::Error);
    assert!(r.message.contains("did not answer within"), "{}", r.message);
    let rows = audit_rows(&s).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.3 == "error"));
}
store_test!(n8n_errors, unconfigured_and_unreachable);
