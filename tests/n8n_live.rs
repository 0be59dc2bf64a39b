//! Against a real n8n 1.x: runs only when N8N_URL and N8N_API_KEY are set (see
//! scripts/n8n-local.sh, which installs one, bootstraps an owner and a key, and imports the two
//! test workflows "opsdeck test: ok" and "opsdeck test: fail"). Otherwise it skips, loudly —
//! also under CI=true: this bootstrapped instance is not part of CI (tests/n8n_queue.rs starts
//! its own n8n, and runs under CI).
//!
//!   eval "$(scripts/n8n-local.sh env)" && cargo test --test n8n_live -- --nocapture

mod common;

use std::time::Duration;

use opsdeck::api::actions::{ActionCtx, execute};
use opsdeck::api::n8n::ExecFilter;
use opsdeck::api::n8n::{N8nClient, N8nError};
use opsdeck::config::ApiKey;
use opsdeck::domain::action::{Action, Actor, Outcome};
use opsdeck::domain::n8n::N8nWorkflow;

fn live() -> Option<N8nClient> {
    let url = std::env::var("N8N_URL").ok().filter(|s| !s.is_empty());
    let key = std::env::var("N8N_API_KEY").ok().filter(|s| !s.is_empty());
    match (url, key) {
        (Some(u), Some(k)) => Some(N8nClient::new(&u, ApiKey::new(k), Duration::from_secs(10))),
        _ => {
            eprintln!(
                "\n!!!!!!!! SKIPPING LIVE n8n TEST: set N8N_URL and N8N_API_KEY (scripts/n8n-local.sh up) !!!!!!!!\n"
            );
            None
        }
    }
}

fn find<'a>(ws: &'a [N8nWorkflow], name: &str) -> &'a N8nWorkflow {
    ws.iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no workflow '{name}': run scripts/n8n-local.sh bootstrap"))
}

async fn post_webhook(base: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/webhook/{path}", base.trim_end_matches('/')))
        .json(&serde_json::json!({"from": "opsdeck live test"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// The newest execution of a workflow with a given status, waiting for it to land.
async fn newest(c: &N8nClient, wf: &str, status: &str, after: Option<&str>) -> String {
    for _ in 0..50 {
        let f = ExecFilter {
            status: Some(status.into()),
            workflow_id: Some(wf.into()),
            limit: Some(5),
            cursor: None,
        };
        let page = c.list_executions(&f).await.expect("list executions");
        if let Some(e) = page.data.first()
            && Some(e.id.as_str()) != after
        {
            return e.id.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no new {status} execution of workflow {wf}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_n8n() {
    let Some(c) = live() else { return };
    let base = std::env::var("N8N_URL").unwrap();
    c.health().await.expect("healthz");

    // workflows, all pages
    let ws = c.list_workflows().await.expect("list workflows").items;
    let ok = find(&ws, "opsdeck test: ok").clone();
    let fail = find(&ws, "opsdeck test: fail").clone();
    eprintln!("n8n: {} workflows", ws.len());

    // pagination: pages of 1 walk the same executions as one page
    for _ in 0..3 {
        assert_eq!(
            post_webhook(&base, "opsdeck-fail").await / 100,
            2,
            "fail webhook"
        );
    }
    // the webhook answers on receipt; let the three executions finish
    tokio::time::sleep(Duration::from_secs(2)).await;
    let failed = newest(&c, &fail.id, "error", None).await;
    let mut f = ExecFilter {
        status: Some("error".into()),
        workflow_id: Some(fail.id.clone()),
        limit: Some(1),
        cursor: None,
    };
    let mut paged = Vec::new();
    for _ in 0..3 {
        let p = c.list_executions(&f).await.unwrap();
        paged.extend(p.data.into_iter().map(|e| e.id));
        match p.next_cursor {
            Some(cur) => f.cursor = Some(cur),
            None => break,
        }
    }
    assert_eq!(paged.len(), 3, "{paged:?}");
    let mut distinct = paged.clone();
    distinct.dedup();
    assert_eq!(distinct, paged, "pages overlap");

    // get + retry through the action code, with an audit row
    let e = c.get_execution(&failed).await.unwrap();
    assert_eq!(e.status_str(), "error");
    let store = common::migrated(common::sqlite_store_unmigrated().await).await;
    let ctx = ActionCtx::new(Actor {
        operator: "live@test".into(),
        origin: "local:test".into(),
    })
    .with_n8n(Some(c.clone()));
    let r = execute(
        &store,
        &ctx,
        &Action::N8nRetry {
            execution: failed.clone(),
            label: failed.clone(),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    eprintln!("retry: {}", r.message);
    let again = execute(
        &store,
        &ctx,
        &Action::N8nRetry {
            execution: failed.clone(),
            label: failed.clone(),
        },
    )
    .await;
    assert_eq!(again.outcome, Outcome::Conflict);

    // a successful execution cannot be retried: n8n says so (400), we say conflict
    assert_eq!(
        post_webhook(&base, "opsdeck-ok").await / 100,
        2,
        "ok webhook"
    );
    let good = newest(&c, &ok.id, "success", None).await;
    let e = c.retry(&good).await.unwrap_err();
    assert!(e.is_refusal(), "{e}");
    eprintln!("retry of a success: {e}");

    // pause / resume: the webhook of an inactive workflow answers 404
    let pause = Action::N8nSetActive {
        workflow: ok.id.clone(),
        label: ok.name.clone(),
        active: false,
        reason: Some("live test".into()),
    };
    if !ok.active {
        c.set_active(&ok.id, true).await.unwrap();
    }
    let r = execute(&store, &ctx, &pause).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(post_webhook(&base, "opsdeck-ok").await, 404);
    assert_eq!(
        execute(&store, &ctx, &pause).await.outcome,
        Outcome::Conflict
    );
    let resume = Action::N8nSetActive {
        workflow: ok.id.clone(),
        label: ok.name.clone(),
        active: true,
        reason: None,
    };
    assert_eq!(execute(&store, &ctx, &resume).await.outcome, Outcome::Ok);
    assert_eq!(post_webhook(&base, "opsdeck-ok").await / 100, 2);

    // errors: unknown ids and a bad key
    assert!(matches!(
        c.get_execution("999999999").await.unwrap_err(),
        N8nError::NotFound { .. }
    ));
    let bad = N8nClient::new(&base, ApiKey::new("nope"), Duration::from_secs(5));
    assert_eq!(
        bad.list_workflows().await.unwrap_err(),
        N8nError::Unauthorized
    );
    let audit = store
        .db
        .fetch_all("SELECT outcome FROM operator_actions", &[])
        .await
        .unwrap();
    assert_eq!(audit.len(), 5);
}
