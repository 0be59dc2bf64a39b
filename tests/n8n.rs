//! The n8n client against a local HTTP fake serving n8n 1.123's response shapes.

mod common;

use std::time::Duration;

use common::http_fake::{HttpFake, Request, Response};
use opsdeck::api::n8n::ExecFilter;
use opsdeck::api::n8n::{N8nClient, N8nError};
use opsdeck::config::ApiKey;
use serde_json::{Value, json};

const KEY: &str = "n8n_api_test_key_0123456789";

fn client(url: &str) -> N8nClient {
    N8nClient::new(url, ApiKey::new(KEY), Duration::from_secs(2))
}

fn workflow(id: &str, name: &str, active: bool) -> Value {
    // a real list item carries nodes, connections, settings, staticData, pinData…: the client
    // must ignore what it does not use
    json!({
        "id": id, "name": name, "active": active, "isArchived": false,
        "createdAt": "2025-11-20T10:00:00.000Z", "updatedAt": "2025-11-21T08:30:12.345Z",
        "nodes": [{"parameters": {}, "type": "n8n-nodes-base.webhook", "typeVersion": 2,
                   "position": [0, 0], "id": "x", "name": "Webhook"}],
        "connections": {}, "settings": {"executionOrder": "v1"}, "staticData": null,
        "meta": null, "pinData": {}, "versionId": "5f7c…", "triggerCount": 1,
        "shared": [], "tags": [{"id": "T1", "name": "event-day",
                                "createdAt": "2025-11-20T10:00:00.000Z", "updatedAt": "2025-11-20T10:00:00.000Z"}]
    })
}

fn execution(id: &str, status: &str, wf: &str) -> Value {
    json!({
        "id": id, "finished": status == "success", "mode": "webhook", "retryOf": null,
        "retrySuccessId": null, "status": status, "createdAt": "2025-11-21T09:00:00.000Z",
        "startedAt": "2025-11-21T09:00:00.100Z", "stoppedAt": "2025-11-21T09:00:01.900Z",
        "deletedAt": null, "workflowId": wf, "waitTill": null, "customData": {}
    })
}

fn query(r: &Request, k: &str) -> Option<String> {
    let q = r.path.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(kk, _)| kk == k)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn lists_workflows_across_pages_with_the_key() {
    let fake = HttpFake::start(|r| {
        assert_eq!(r.header("x-n8n-api-key"), Some(KEY));
        match query(r, "cursor").as_deref() {
            None => Response::json(
                200,
                json!({"data": [workflow("aB3dE5fG7hI9", "Lead intake", true),
                                 workflow("2", "Invoice sync", false)],
                       "nextCursor": "MTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjE0MTc0MDA"}),
            ),
            Some("MTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjE0MTc0MDA") => Response::json(
                200,
                json!({"data": [workflow("3", "Guest list", true)], "nextCursor": "c2"}),
            ),
            Some("c2") => Response::json(200, json!({"data": [], "nextCursor": null})),
            Some(other) => panic!("unexpected cursor {other}"),
        }
    })
    .await;
    let w = client(&format!("{}/api/v1/", fake.url))
        .list_workflows()
        .await
        .unwrap();
    assert!(!w.truncated);
    let names: Vec<_> = w.items.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["Lead intake", "Invoice sync", "Guest list"]);
    assert_eq!(w.items[0].id, "aB3dE5fG7hI9");
    assert!(w.items[0].active && !w.items[1].active);
    assert_eq!(w.items[0].tags[0].name, "event-day");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs.iter()
            .all(|r| r.path.starts_with("/api/v1/workflows?"))
    );
    assert_eq!(query(&reqs[0], "limit").as_deref(), Some("250"));
}

#[tokio::test]
async fn a_server_that_never_stops_paging_is_capped() {
    let fake = HttpFake::start(|r| {
        let n: u64 = query(r, "cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        Response::json(
            200,
            json!({"data": [workflow(&n.to_string(), "w", true)], "nextCursor": (n + 1).to_string()}),
        )
    })
    .await;
    let w = client(&fake.url).list_workflows().await.unwrap();
    assert!(w.truncated);
    assert_eq!(w.items.len(), opsdeck::api::n8n::MAX_WORKFLOW_PAGES);
}

#[tokio::test]
async fn lists_executions_with_filters_and_parses_both_id_kinds() {
    let fake = HttpFake::start(|r| {
        assert_eq!(query(r, "status").as_deref(), Some("error"));
        assert_eq!(query(r, "workflowId").as_deref(), Some("aB3dE5fG7hI9"));
        assert_eq!(query(r, "limit").as_deref(), Some("20"));
        let mut e2 = execution("1041", "error", "aB3dE5fG7hI9");
        e2["id"] = json!(1041); // older servers send numbers
        e2["retryOf"] = json!(1000);
        e2["waitTill"] = json!("2025-11-21T10:00:00.000Z");
        Response::json(
            200,
            json!({"data": [execution("1042", "error", "aB3dE5fG7hI9"), e2], "nextCursor": "1041"}),
        )
    })
    .await;
    let f = ExecFilter {
        status: Some("error".into()),
        workflow_id: Some("aB3dE5fG7hI9".into()),
        limit: Some(20),
        cursor: None,
    };
    let page = client(&fake.url).list_executions(&f).await.unwrap();
    assert_eq!(page.next_cursor.as_deref(), Some("1041"));
    assert_eq!(page.data[0].id, "1042");
    assert_eq!(page.data[0].status_str(), "error");
    assert!(page.data[0].retryable());
    assert_eq!(page.data[1].id, "1041");
    assert_eq!(page.data[1].retry_of.as_deref(), Some("1000"));
    assert!(page.data[1].wait_till.is_some());
    assert_eq!(page.data[0].workflow_id.as_deref(), Some("aB3dE5fG7hI9"));
}

#[tokio::test]
async fn retry_posts_load_workflow_false_and_reads_a_numeric_retry_of() {
    let fake = HttpFake::start(|r| {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/v1/executions/1042/retry");
        assert_eq!(r.json(), json!({"loadWorkflow": false}));
        let mut e = execution("1043", "error", "aB3dE5fG7hI9");
        e["id"] = json!(1043);
        e["mode"] = json!("retry");
        e["retryOf"] = json!(1042);
        Response::json(200, e)
    })
    .await;
    let e = client(&fake.url).retry("1042").await.unwrap();
    assert_eq!(
        (e.id.as_str(), e.retry_of.as_deref()),
        ("1043", Some("1042"))
    );
    assert_eq!(e.mode, "retry");
}

#[tokio::test]
async fn activate_and_deactivate_return_the_workflow() {
    let fake = HttpFake::start(|r| match r.path.as_str() {
        "/api/v1/workflows/7/activate" => Response::json(200, workflow("7", "Lead intake", true)),
        "/api/v1/workflows/7/deactivate" => {
            Response::json(200, workflow("7", "Lead intake", false))
        }
        p => panic!("unexpected {p}"),
    })
    .await;
    let c = client(&fake.url);
    assert!(c.set_active("7", true).await.unwrap().active);
    assert!(!c.set_active("7", false).await.unwrap().active);
    assert!(fake.requests().iter().all(|r| r.method == "POST"));
}

#[tokio::test]
async fn health_and_get_execution() {
    let fake = HttpFake::start(|r| match r.path.as_str() {
        "/healthz" => Response::json(200, json!({"status": "ok"})),
        p if p.starts_with("/api/v1/executions/5?") => {
            Response::json(200, execution("5", "waiting", "9"))
        }
        p => panic!("unexpected {p}"),
    })
    .await;
    let c = client(&fake.url);
    c.health().await.unwrap();
    let e = c.get_execution("5").await.unwrap();
    assert_eq!((e.status_str(), e.retryable()), ("waiting", false));
}

#[tokio::test]
async fn errors_say_what_is_wrong() {
    let fake = HttpFake::start(|r| {
        let p = r.path.split('?').next().unwrap().to_string();
        match (r.method.as_str(), p.as_str()) {
            (_, "/api/v1/workflows") if r.header("x-n8n-api-key") == Some("bad") => {
                Response::json(401, json!({"message": "unauthorized"}))
            }
            (_, "/api/v1/executions") => Response::json(403, json!({"message": "Forbidden"})),
            ("POST", "/api/v1/executions/77/retry") => Response::json(
                400,
                json!({"message": "The execution succeeded, so it cannot be retried"}),
            ),
            ("POST", "/api/v1/executions/404404/retry") => {
                Response::json(404, json!({"message": "Not Found"}))
            }
            ("GET", "/api/v1/executions/404404") => {
                Response::json(404, json!({"message": "Not Found"}))
            }
            // an older n8n: no retry route, but the execution exists
            ("POST", "/api/v1/executions/12/retry") => Response::json(
                404,
                json!({"message": "not found", "errors": [{"path": "/api/v1/executions/12/retry", "message": "not found"}]}),
            ),
            ("GET", "/api/v1/executions/12") => Response::json(200, execution("12", "error", "1")),
            ("POST", "/api/v1/workflows/3/activate") => Response::json(
                400,
                json!({"message": "Workflow has no node to start the workflow - at least one trigger, poller or webhook node is required"}),
            ),
            _ => Response::json(500, json!({"message": "boom\u{1b}[31m"})),
        }
    })
    .await;
    let bad = N8nClient::new(&fake.url, ApiKey::new("bad"), Duration::from_secs(2));
    let e = bad.list_workflows().await.unwrap_err();
    assert_eq!(e, N8nError::Unauthorized);
    assert!(e.to_string().starts_with("n8n rejected the API key"), "{e}");

    let c = client(&fake.url);
    let e = c
        .list_executions(&ExecFilter::status("error"))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("lacks the scope execution:list"),
        "{e}"
    );

    let e = c.retry("77").await.unwrap_err();
    assert!(e.is_refusal());
    assert!(
        e.to_string()
            .ends_with(": The execution succeeded, so it cannot be retried"),
        "{e}"
    );

    let e = c.retry("404404").await.unwrap_err();
    assert_eq!(e.to_string(), "n8n has no execution 404404");

    let e = c.retry("12").await.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("this n8n has no POST /api/v1/executions/{id}/retry (too old"),
        "{e}"
    );

    let e = c.set_active("3", true).await.unwrap_err();
    assert!(
        e.is_refusal() && e.to_string().contains("at least one trigger"),
        "{e}"
    );

    // server errors: n8n's message, sanitised
    let e = c.get_workflow("x").await.unwrap_err();
    assert!(
        e.to_string().contains("500") && !e.to_string().contains('\u{1b}'),
        "{e}"
    );
    assert!(!e.is_refusal());
}

#[tokio::test]
async fn timeouts_and_unreachable_are_one_clear_line() {
    let fake = HttpFake::start(|_| {
        Response::json(200, json!({"data": [], "nextCursor": null})).delayed(Duration::from_secs(5))
    })
    .await;
    let c = N8nClient::new(&fake.url, ApiKey::new(KEY), Duration::from_millis(300));
    let e = c.list_workflows().await.unwrap_err();
    assert!(matches!(e, N8nError::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains("did not answer within 0.3s"), "{e}");

    // a port nobody listens on
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(&format!("http://127.0.0.1:{port}"));
    let e = c.health().await.unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with(&format!("cannot connect to n8n at http://127.0.0.1:{port}")),
        "{s}"
    );
    assert!(!s.contains('\n'));
    assert_eq!(e.short(), "cannot connect");
}

#[test]
fn the_key_never_shows() {
    let c = client("http://user:pw@n8n.example:5678");
    let d = format!("{c:?}");
    assert!(!d.contains(KEY) && !d.contains("pw@"), "{d}");
    assert_eq!(c.base_url(), "http://user:***@n8n.example:5678");
}
