//! Operator actions on real backends: state before/after, the one audit row, lost races as
//! conflicts naming who got there first, bulk retry by filter, read-only roles, resume_url calls.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::TestStore;
use common::http_fake::{HttpFake, Response};
use opsdeck::api::actions::{ActionCtx, execute, http_client};
use opsdeck::api::store::Val;
use opsdeck::api::store::actions::can_act;
use opsdeck::domain::action::{Action, ActionReport, Actor, JobSelect, Named, Outcome};
use uuid::Uuid;

fn ctx(op: &str) -> ActionCtx {
    ActionCtx::new(Actor {
        operator: op.into(),
        origin: "ssh:10.0.0.7".into(),
    })
}

fn js(ids: &[Uuid]) -> Vec<Named> {
    ids.iter().map(|id| Named::new(*id, "job")).collect()
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

async fn workflow(s: &TestStore, name: &str, status: &str) -> Uuid {
    let id = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO workflows (id, name, trigger_type, status) VALUES ($1, $2, 'webhook', $3)",
        &[
            Val::Uuid(id),
            Val::Text(name.into()),
            Val::Text(status.into()),
        ],
    )
    .await
    .unwrap();
    id
}

async fn job(s: &TestStore, kind: &str, status: &str, wf: Option<Uuid>, err: Option<&str>) -> Uuid {
    let id = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO job_queue (id, job_type, status, attempts, max_attempts, workflow_id, error_message, \
           created_at, updated_at, scheduled_for) VALUES ($1, $2, $3, 3, 3, $4, $5, $6, $6, $6)",
        &[
            Val::Uuid(id),
            Val::Text(kind.into()),
            Val::Text(status.into()),
            Val::OptUuid(wf),
            Val::OptText(err.map(str::to_string)),
            Val::Ts(now()),
        ],
    )
    .await
    .unwrap();
    id
}

async fn status_of(s: &TestStore, table: &str, id: Uuid) -> String {
    s.db.fetch_one(
        &format!("SELECT status FROM {table} WHERE id = $1"),
        &[Val::Uuid(id)],
    )
    .await
    .unwrap()
    .s("status")
}

/// (action, outcome, operator, note) of every audit row, oldest first.
async fn audit_rows(s: &TestStore) -> Vec<(String, String, String, Option<String>)> {
    s.db.fetch_all(
        "SELECT action, outcome, operator, note FROM operator_actions ORDER BY at, id",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.s("action"),
            r.s("outcome"),
            r.s("operator"),
            r.text("note"),
        )
    })
    .collect()
}

fn ok(r: &ActionReport) {
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert!(r.audit_id.is_some());
}

async fn pause_resume_body(s: TestStore) {
    let wf = workflow(&s, "Model Booking", "active").await;
    let w = vec![Named::new(wf, "Model Booking")];
    // a pause needs a reason: nothing written
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::PauseWorkflows {
            workflows: w.clone(),
            reason: "  ".into(),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Error);
    assert!(audit_rows(&s).await.is_empty());

    let pause = Action::PauseWorkflows {
        workflows: w.clone(),
        reason: "OpenAI quota".into(),
    };
    let r = execute(&s, &ctx("maya@ops"), &pause).await;
    ok(&r);
    assert_eq!(r.changed, 1);
    let row =
        s.db.fetch_one(
            "SELECT status, paused_by, pause_reason FROM workflows WHERE id = $1",
            &[Val::Uuid(wf)],
        )
        .await
        .unwrap();
    assert_eq!(row.s("status"), "paused");
    assert_eq!(row.s("paused_by"), "maya@ops");
    assert_eq!(row.s("pause_reason"), "OpenAI quota");

    // a second operator pausing the same workflow loses, and is told by whom
    let r = execute(&s, &ctx("li@ops"), &pause).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(
        r.message.contains("already paused by maya@ops at"),
        "{}",
        r.message
    );

    let r = execute(
        &s,
        &ctx("li@ops"),
        &Action::ResumeWorkflows {
            workflows: w.clone(),
        },
    )
    .await;
    ok(&r);
    assert_eq!(status_of(&s, "workflows", wf).await, "active");
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::ResumeWorkflows { workflows: w },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(r.message.contains("resumed by li@ops"), "{}", r.message);

    let a = audit_rows(&s).await;
    let got: Vec<(&str, &str, &str)> = a
        .iter()
        .map(|(a, o, p, _)| (a.as_str(), o.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("workflow.pause", "ok", "maya@ops"),
            ("workflow.pause", "conflict", "li@ops"),
            ("workflow.resume", "ok", "li@ops"),
            ("workflow.resume", "conflict", "maya@ops"),
        ]
    );
    assert_eq!(a[0].3.as_deref(), Some("OpenAI quota"));
    let origin =
        s.db.fetch_one(
            "SELECT origin, target_type, target_id FROM operator_actions LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(origin.s("origin"), "ssh:10.0.0.7");
    assert_eq!(origin.s("target_type"), "workflow");
    assert_eq!(origin.s("target_id"), wf.to_string());
}
store_test!(pause_resume, pause_resume_body);

async fn jobs_body(s: TestStore) {
    let failed = job(&s, "email.send", "failed", None, Some("SMTP 550")).await;
    let pending = job(&s, "email.send", "pending", None, None).await;
    let processing = job(&s, "image.process", "processing", None, None).await;
    s.db.execute(
        "UPDATE job_queue SET locked_by = 'worker-3' WHERE id = $1",
        &[Val::Uuid(processing)],
    )
    .await
    .unwrap();

    // marks: one failed (retried), one pending (conflict): one transaction, one audit row
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::RetryJobs {
            jobs: js(&[failed, pending]),
        },
    )
    .await;
    ok(&r);
    assert_eq!(r.changed, 1);
    assert_eq!(r.conflicts.len(), 1);
    assert!(
        r.conflicts[0].contains("already pending"),
        "{:?}",
        r.conflicts
    );
    let row =
        s.db.fetch_one(
            "SELECT status, attempts, locked_by FROM job_queue WHERE id = $1",
            &[Val::Uuid(failed)],
        )
        .await
        .unwrap();
    assert_eq!(row.s("status"), "pending");
    assert_eq!(row.n("attempts"), 0);
    assert_eq!(audit_rows(&s).await.len(), 1);

    // retrying it again: someone got there first
    let r = execute(
        &s,
        &ctx("li@ops"),
        &Action::RetryJobs {
            jobs: js(&[failed]),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Conflict);
    // (a marked retry has no single target id in the audit trail, so "by whom" is only
    // known for single-target actions; the race test checks that case)
    assert!(r.message.contains("already pending"), "{}", r.message);

    // cancel: pending → cancelled; processing is refused with the worker named
    let r = execute(
        &s,
        &ctx("li@ops"),
        &Action::CancelJobs {
            jobs: js(&[pending, processing]),
        },
    )
    .await;
    ok(&r);
    assert_eq!(status_of(&s, "job_queue", pending).await, "cancelled");
    assert_eq!(status_of(&s, "job_queue", processing).await, "processing");
    assert!(
        r.conflicts[0].contains("processing on worker-3"),
        "{:?}",
        r.conflicts
    );
    // an unknown id
    let r = execute(
        &s,
        &ctx("li@ops"),
        &Action::CancelJobs {
            jobs: js(&[Uuid::new_v4()]),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(r.message.contains("no such job"));
}
store_test!(jobs, jobs_body);

async fn retry_filtered_body(s: TestStore) {
    let wf = workflow(&s, "Ticket Sales", "active").await;
    let a = job(&s, "email.send", "failed", Some(wf), Some("SMTP timeout")).await;
    let b = job(&s, "email.send", "failed", None, Some("bad address")).await;
    let c = job(&s, "social.post", "failed", Some(wf), Some("SMTP timeout")).await;
    let d = job(
        &s,
        "email.send",
        "completed",
        Some(wf),
        Some("SMTP timeout"),
    )
    .await;
    let select = JobSelect {
        job_type: Some("email.send".into()),
        text: Some("timeout".into()),
        ..Default::default()
    };
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::RetryFailed {
            select: select.clone(),
            expected: Some(1),
        },
    )
    .await;
    ok(&r);
    assert_eq!(r.changed, 1);
    assert_eq!(status_of(&s, "job_queue", a).await, "pending");
    assert_eq!(status_of(&s, "job_queue", b).await, "failed");
    assert_eq!(status_of(&s, "job_queue", c).await, "failed");
    assert_eq!(status_of(&s, "job_queue", d).await, "completed");
    // nothing left to match: a conflict, audited
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::RetryFailed {
            select,
            expected: None,
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(r.message.contains("no failed job matches"), "{}", r.message);
    // by workflow
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::RetryFailed {
            select: JobSelect {
                workflow_id: Some(wf),
                workflow_label: Some("Ticket Sales".into()),
                ..Default::default()
            },
            expected: Some(1),
        },
    )
    .await;
    ok(&r);
    assert_eq!(status_of(&s, "job_queue", c).await, "pending");
}
store_test!(retry_filtered, retry_filtered_body);

async fn bulk_retry_body(s: TestStore) {
    const N: usize = 10_000;
    let t = now();
    for chunk in 0..(N / 500) {
        let mut sql = String::from(
            "INSERT INTO job_queue (id, job_type, status, attempts, max_attempts, error_message, created_at, updated_at, scheduled_for) VALUES ",
        );
        let mut args = Vec::new();
        for i in 0..500 {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = args.len();
            sql.push_str(&format!(
                "(${}, 'report.generate', 'failed', 3, 3, 'disk full', ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 2,
                n + 2
            ));
            args.push(Val::Uuid(Uuid::new_v4()));
            args.push(Val::Ts(
                t - chrono::Duration::seconds((chunk * 500 + i) as i64),
            ));
        }
        s.db.execute(&sql, &args).await.unwrap();
    }
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::RetryFailed {
            select: JobSelect {
                job_type: Some("report.generate".into()),
                ..Default::default()
            },
            expected: Some(N as i64),
        },
    )
    .await;
    ok(&r);
    assert_eq!(r.changed, N as u64);
    let left =
        s.db.fetch_one(
            "SELECT count(*) AS n FROM job_queue WHERE status <> 'pending'",
            &[],
        )
        .await
        .unwrap()
        .n("n");
    assert_eq!(left, 0);
    let rows =
        s.db.fetch_all("SELECT outcome, after FROM operator_actions", &[])
            .await
            .unwrap();
    assert_eq!(rows.len(), 1, "one audit row for the whole bulk retry");
    assert_eq!(rows[0].json("after").unwrap()["count"], N as u64);
}
store_test!(bulk_retry, bulk_retry_body);

/// Runs `n` copies of an action at once (different operators), returns the outcomes.
async fn race(s: &TestStore, n: usize, make: impl Fn(usize) -> Action) -> Vec<ActionReport> {
    let store = Arc::new(s.store.clone());
    let mut tasks = Vec::new();
    for i in 0..n {
        let store = store.clone();
        let a = make(i);
        tasks.push(tokio::spawn(async move {
            execute(&store, &ctx(&format!("op{i}@ops")), &a).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn tally(rs: &[ActionReport]) -> (usize, usize, usize) {
    let c = |o| rs.iter().filter(|r| r.outcome == o).count();
    (c(Outcome::Ok), c(Outcome::Conflict), c(Outcome::Error))
}

async fn races_body(s: TestStore) {
    // 20 operators retry the same failed job
    let j = job(&s, "email.send", "failed", None, Some("x")).await;
    let rs = race(&s, 20, |_| Action::RetryJobs { jobs: js(&[j]) }).await;
    assert_eq!(tally(&rs), (1, 19, 0), "{rs:?}");
    let winner = rs.iter().position(|r| r.outcome == Outcome::Ok).unwrap();
    for r in rs.iter().filter(|r| r.outcome == Outcome::Conflict) {
        assert!(
            r.message.contains(&format!("by op{winner}@ops")),
            "{}",
            r.message
        );
    }
    let ok_rows =
        s.db.fetch_one(
            "SELECT count(*) AS n FROM operator_actions WHERE outcome = 'ok'",
            &[],
        )
        .await
        .unwrap()
        .n("n");
    assert_eq!(ok_rows, 1);

    // approve and reject racing each other on one request
    let (req, _) = approval(&s, None, None).await;
    let rs = race(&s, 20, |i| Action::Decide {
        request: req,
        label: "Kai Duarte × Maison Noor".into(),
        approve: i % 2 == 0,
        note: Some("race".into()),
    })
    .await;
    assert_eq!(tally(&rs), (1, 19, 0), "{rs:?}");
    let final_status = status_of(&s, "approval_requests", req).await;
    let neg =
        s.db.fetch_one(
            "SELECT status FROM rate_negotiations WHERE approval_request_id = $1",
            &[Val::Uuid(req)],
        )
        .await
        .unwrap()
        .s("status");
    assert_eq!(neg, final_status, "request and negotiation change together");
    assert!(rs.iter().any(|r| {
        r.message
            .starts_with(&format!("already {final_status} by "))
    }));

    // pause racing
    let wf = workflow(&s, "Invoice Run", "active").await;
    let rs = race(&s, 20, |_| Action::PauseWorkflows {
        workflows: vec![Named::new(wf, "Invoice Run")],
        reason: "drill".into(),
    })
    .await;
    assert_eq!(tally(&rs), (1, 19, 0), "{rs:?}");
}
store_test!(races, races_body);

/// A pending rate negotiation (returns request id, execution id).
async fn approval(
    s: &TestStore,
    resume_url: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
) -> (Uuid, Option<Uuid>) {
    let id = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO approval_requests (id, type, priority, status, resume_url, created_at, expires_at) \
         VALUES ($1, 'rate_negotiation', 'high', 'pending', $2, $3, $4)",
        &[
            Val::Uuid(id),
            Val::OptText(resume_url.map(str::to_string)),
            Val::Ts(now()),
            Val::OptTs(expires_at),
        ],
    )
    .await
    .unwrap();
    s.db.execute(
        "INSERT INTO rate_negotiations (id, approval_request_id, model_name, designer_name, designer_tier, \
           standard_rate, proposed_rate, show_count, status) \
         VALUES ($1, $2, 'Kai Duarte', 'Maison Noor', 'emerging', 100000, 60000, 1, 'pending')",
        &[Val::Uuid(Uuid::new_v4()), Val::Uuid(id)],
    )
    .await
    .unwrap();
    (id, None)
}

async fn decide_body(s: TestStore) {
    let (req, _) = approval(&s, None, None).await;
    // a rejection needs a note
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::Decide {
            request: req,
            label: "x".into(),
            approve: false,
            note: None,
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Error);
    assert!(r.message.contains("needs a note"));
    assert_eq!(status_of(&s, "approval_requests", req).await, "pending");

    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::Decide {
            request: req,
            label: "Kai".into(),
            approve: false,
            note: Some("40% off is too deep".into()),
        },
    )
    .await;
    ok(&r);
    assert!(r.warning.is_none());
    let row = s
        .db
        .fetch_one(
            "SELECT status, decided_by, decision_note, resume_status FROM approval_requests WHERE id = $1",
            &[Val::Uuid(req)],
        )
        .await
        .unwrap();
    assert_eq!(row.s("status"), "rejected");
    assert_eq!(row.s("decided_by"), "maya@ops");
    assert_eq!(row.s("decision_note"), "40% off is too deep");
    assert_eq!(row.text("resume_status"), None);

    // expired requests cannot be decided
    let (old, _) = approval(&s, None, Some(now() - chrono::Duration::minutes(5))).await;
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::Decide {
            request: old,
            label: "old".into(),
            approve: true,
            note: None,
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(r.message.contains("expired"), "{}", r.message);
    assert_eq!(status_of(&s, "approval_requests", old).await, "pending");
}
store_test!(decide, decide_body);

async fn decide_with(s: &TestStore, url: &str, c: &ActionCtx) -> (Uuid, ActionReport) {
    let (req, _) = approval(s, Some(url), None).await;
    let r = execute(
        s,
        c,
        &Action::Decide {
            request: req,
            label: "Kai".into(),
            approve: true,
            note: Some("ok for the finale".into()),
        },
    )
    .await;
    (req, r)
}

/// Points request `req`'s resume_url at `url` (the HTTP fake, for the resend that follows).
async fn point_resume_url(s: &TestStore, req: Uuid, url: &str) {
    s.db.execute(
        "UPDATE approval_requests SET resume_url = $1 WHERE id = $2",
        &[Val::Text(url.into()), Val::Uuid(req)],
    )
    .await
    .unwrap();
}

async fn resume_state(s: &TestStore, req: Uuid) -> (String, Option<String>, String) {
    let r = s
        .db
        .fetch_one(
            "SELECT a.status, a.resume_status, a.resume_error, o.after FROM approval_requests a \
             JOIN operator_actions o ON o.target_id = $2 AND o.action = 'approval.approve' WHERE a.id = $1",
            &[Val::Uuid(req), Val::Text(req.to_string())],
        )
        .await
        .unwrap();
    assert_eq!(r.s("status"), "approved", "the decision stands");
    (
        r.s("resume_status"),
        r.text("resume_error"),
        r.json("after").unwrap()["n8n"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

async fn resume_url_body(s: TestStore) {
    let fake = HttpFake::start(|req| match req.path.as_str() {
        "/webhook-waiting/1" => Response::status(200),
        "/webhook-waiting/2" => {
            Response::json(409, serde_json::json!({"message": "already resumed"}))
        }
        "/webhook-waiting/3" => Response::status(500),
        _ => Response::status(200).delayed(Duration::from_secs(5)),
    })
    .await;
    let mut c = ctx("maya@ops");
    c.http = http_client(Duration::from_millis(400));

    let (req, r) = decide_with(&s, &format!("{}/webhook-waiting/1", fake.url), &c).await;
    ok(&r);
    assert!(r.warning.is_none());
    assert_eq!(
        resume_state(&s, req).await,
        ("told".into(), None, "told".into())
    );
    let sent = fake.requests();
    assert_eq!(sent[0].method, "POST");
    let body = sent[0].json();
    assert_eq!(body["decision"], "approved");
    assert_eq!(body["decided_by"], "maya@ops");
    assert_eq!(body["note"], "ok for the finale");

    // 409: already resumed — not a failure
    let (req, r) = decide_with(&s, &format!("{}/webhook-waiting/2", fake.url), &c).await;
    assert!(r.warning.is_none(), "{r:?}");
    assert_eq!(resume_state(&s, req).await.0, "told");

    // 500: the decision stands, the operator is told to resend, the audit row says so
    let (req, r) = decide_with(&s, &format!("{}/webhook-waiting/3", fake.url), &c).await;
    ok(&r);
    assert!(
        r.warning
            .as_deref()
            .unwrap()
            .contains("n8n not told (HTTP 500)")
    );
    assert_eq!(
        resume_state(&s, req).await,
        (
            "failed".into(),
            Some("HTTP 500".into()),
            "not told: HTTP 500".into()
        )
    );

    // timeout
    let (req, r) = decide_with(&s, &format!("{}/webhook-waiting/slow", fake.url), &c).await;
    ok(&r);
    assert!(r.warning.as_deref().unwrap().contains("timed out"), "{r:?}");
    assert_eq!(resume_state(&s, req).await.0, "failed");

    // resend after the timeout: now the URL answers (point it at a good path)
    point_resume_url(&s, req, &format!("{}/webhook-waiting/1", fake.url)).await;
    let resend = Action::ResendDecision {
        request: req,
        label: "Kai".into(),
    };
    let r = execute(&s, &c, &resend).await;
    ok(&r);
    assert!(r.warning.is_none());
    assert_eq!(resume_state(&s, req).await.0, "told");
    // and once told, a resend is a conflict
    let r = execute(&s, &c, &resend).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(r.message.contains("already told"), "{}", r.message);
}
store_test!(resume_url, resume_url_body);

async fn recon_capacity_runs_body(s: TestStore) {
    // discrepancy
    let run = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO reconciliation_runs (id, reconciliation_date, stripe_count, db_count, discrepancy_count, status) \
         VALUES ($1, $2, 10, 9, 1, 'success')",
        &[Val::Uuid(run), Val::Date(now().date_naive())],
    )
    .await
    .unwrap();
    let d = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO reconciliation_discrepancies (id, run_id, kind, stripe_id, stripe_amount, status) \
         VALUES ($1, $2, 'missing_in_db', 'pi_1', 12000, 'open')",
        &[Val::Uuid(d), Val::Uuid(run)],
    )
    .await
    .unwrap();
    let resolve = |ignore| Action::Resolve {
        discrepancy: d,
        label: "pi_1".into(),
        ignore,
        note: "refunded by hand".into(),
    };
    ok(&execute(&s, &ctx("maya@ops"), &resolve(false)).await);
    assert_eq!(
        status_of(&s, "reconciliation_discrepancies", d).await,
        "resolved"
    );
    let r = execute(&s, &ctx("li@ops"), &resolve(true)).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(
        r.message.contains("already resolved by maya@ops"),
        "{}",
        r.message
    );

    // capacity alerts
    let ev = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO events (id, name, venue_name, city, start_at, capacity, status) \
         VALUES ($1, 'Finale', 'Grand Palais', 'Paris', $2, 100, 'active')",
        &[Val::Uuid(ev), Val::Ts(now())],
    )
    .await
    .unwrap();
    for th in [80, 90] {
        s.db.execute(
            "INSERT INTO capacity_alerts (id, event_id, threshold, sold, capacity) VALUES ($1, $2, $3, 91, 100)",
            &[Val::Uuid(Uuid::new_v4()), Val::Uuid(ev), Val::I64(th)],
        )
        .await
        .unwrap();
    }
    let ack = Action::AckCapacity {
        event: ev,
        label: "Finale".into(),
    };
    let r = execute(&s, &ctx("maya@ops"), &ack).await;
    ok(&r);
    assert_eq!(r.changed, 2);
    let r = execute(&s, &ctx("li@ops"), &ack).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(r.message.contains("already acknowledged by maya@ops"));

    // runs: cancel a running one, retry it (once)
    let wf = workflow(&s, "Model Booking", "active").await;
    let run_id = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO workflow_executions (id, workflow_id, status, started_at, steps_total, steps_completed, context) \
         VALUES ($1, $2, 'running', $3, 4, 1, $4{json})",
        &[
            Val::Uuid(run_id),
            Val::Uuid(wf),
            Val::Ts(now()),
            Val::Json(serde_json::json!({"model": "Kai"})),
        ],
    )
    .await
    .unwrap();
    let retry = Action::RetryRun {
        run: run_id,
        label: "r".into(),
    };
    let r = execute(&s, &ctx("maya@ops"), &retry).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(r.message.contains("is running"), "{}", r.message);
    let cancel = Action::CancelRun {
        run: run_id,
        label: "r".into(),
    };
    ok(&execute(&s, &ctx("maya@ops"), &cancel).await);
    assert_eq!(
        status_of(&s, "workflow_executions", run_id).await,
        "cancelled"
    );
    let r = execute(&s, &ctx("li@ops"), &cancel).await;
    assert!(
        r.message.contains("already cancelled by maya@ops"),
        "{}",
        r.message
    );
    ok(&execute(&s, &ctx("maya@ops"), &retry).await);
    let r = execute(&s, &ctx("li@ops"), &retry).await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(
        r.message.contains("already retried by maya@ops"),
        "{}",
        r.message
    );
    let new = s
        .db
        .fetch_one(
            "SELECT status, steps_completed, context, workflow_id FROM workflow_executions WHERE retry_of = $1",
            &[Val::Uuid(run_id)],
        )
        .await
        .unwrap();
    assert_eq!(new.s("status"), "pending");
    assert_eq!(new.n("steps_completed"), 0);
    assert_eq!(new.id("workflow_id"), wf);
    assert_eq!(new.json("context").unwrap()["model"], "Kai");
}
store_test!(recon_capacity_runs, recon_capacity_runs_body);

/// A role with SELECT only is detected, and an action attempted anyway changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_only_role_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    assert!(can_act(&s).await.unwrap());
    let role = format!("ro_{}", Uuid::new_v4().simple());
    let db =
        s.db.fetch_one("SELECT current_database() AS d", &[])
            .await
            .unwrap()
            .s("d");
    s.db.execute_script(&format!(
        "CREATE ROLE {role} LOGIN; GRANT CONNECT ON DATABASE \"{db}\" TO {role}; \
         GRANT USAGE ON SCHEMA public TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
    ))
    .await
    .unwrap();
    let wf = workflow(&s, "Model Booking", "active").await;
    let mut url = url::Url::parse(&common::pg_admin_url()).unwrap();
    url.set_path(&db);
    url.set_username(&role).unwrap();
    let ro = opsdeck::api::Store::open(
        &opsdeck::config::DbTarget::Postgres(opsdeck::config::SecretUrl::new(url.to_string())),
        1,
    )
    .await
    .unwrap();
    assert!(
        !can_act(&ro).await.unwrap(),
        "SELECT-only role must be read-only"
    );
    let r = execute(
        &ro,
        &ctx("maya@ops"),
        &Action::PauseWorkflows {
            workflows: vec![Named::new(wf, "Model Booking")],
            reason: "x".into(),
        },
    )
    .await;
    // issue 18: the database's action function refuses it (it was a permission-denied error
    // from the UPDATE before) and keeps the attempt on record, naming the login
    assert_eq!(r.outcome, Outcome::Denied);
    assert!(r.message.contains("read-only"), "{}", r.message);
    assert_eq!(status_of(&s, "workflows", wf).await, "active");
    let a =
        s.db.fetch_one(
            "SELECT outcome, login, operator, display_name FROM operator_actions \
             WHERE action = 'workflow.pause'",
            &[],
        )
        .await
        .unwrap();
    // a login not trusted with the tables is named by its login; the name it gave is beside it
    assert_eq!(
        (a.s("outcome"), a.s("login"), a.s("operator")),
        ("denied".to_string(), role.clone(), role.clone())
    );
    assert_eq!(a.text("display_name").as_deref(), Some("maya@ops"));
    ro.db.close().await;
    let _ = s
        .db
        .execute_script(&format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}; REVOKE ALL ON SCHEMA public FROM {role}; \
             REVOKE ALL ON DATABASE \"{db}\" FROM {role};"
        ))
        .await;
    // the role is dropped after the database (which the TestStore drops): leave it; names are unique
}

/// Pausing through the action stops a worker claiming the workflow's jobs; resuming lets it go on.
async fn pause_stops_claims_body(s: TestStore) {
    let wf = workflow(&s, "Ticket Sales", "active").await;
    let j = job(&s, "email.send", "pending", Some(wf), None).await;
    let w = vec![Named::new(wf, "Ticket Sales")];
    ok(&execute(
        &s,
        &ctx("maya@ops"),
        &Action::PauseWorkflows {
            workflows: w.clone(),
            reason: "SMTP provider down".into(),
        },
    )
    .await);
    let later = now() + chrono::Duration::seconds(5);
    let got = opsdeck::sim::queue::claim(&s.db, "worker-1", 10, later)
        .await
        .unwrap();
    assert!(got.is_empty(), "a paused workflow's job was claimed");
    ok(&execute(
        &s,
        &ctx("maya@ops"),
        &Action::ResumeWorkflows { workflows: w },
    )
    .await);
    let got = opsdeck::sim::queue::claim(&s.db, "worker-1", 10, later)
        .await
        .unwrap();
    assert_eq!(got.iter().map(|c| c.id).collect::<Vec<_>>(), vec![j]);
}
store_test!(pause_stops_claims, pause_stops_claims_body);

// ---- follow-ups: bulk growth, cancel-run approvals, one resend at a time, lock timeout -------

/// A bulk retry confirmed for N jobs never applies to more: when more match by the time it runs,
/// nothing changes and the conflict is audited.
async fn bulk_retry_growth_body(s: TestStore) {
    let jobs = [
        job(&s, "sms.send", "failed", None, Some("carrier down")).await,
        job(&s, "sms.send", "failed", None, Some("carrier down")).await,
        job(&s, "sms.send", "failed", None, Some("carrier down")).await,
    ];
    let select = JobSelect {
        job_type: Some("sms.send".into()),
        ..Default::default()
    };
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::RetryFailed {
            select: select.clone(),
            expected: Some(2),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Conflict, "{r:?}");
    assert_eq!(r.changed, 0);
    assert!(
        r.message.contains("3 failed jobs match") && r.message.contains("2 when you confirmed"),
        "{}",
        r.message
    );
    for j in jobs {
        assert_eq!(status_of(&s, "job_queue", j).await, "failed");
    }
    assert_eq!(
        audit_rows(&s).await,
        vec![(
            "job.retry_failed".to_string(),
            "conflict".to_string(),
            "maya@ops".to_string(),
            None
        )]
    );
    // counted as of a moment: a job failing after it is neither counted nor retried
    let asked = now();
    let late = job(&s, "sms.send", "failed", None, Some("carrier down")).await;
    s.db.execute(
        "UPDATE job_queue SET updated_at = $1 WHERE id = $2",
        &[
            Val::Ts(asked + chrono::Duration::seconds(2)),
            Val::Uuid(late),
        ],
    )
    .await
    .unwrap();
    let select = JobSelect {
        failed_by: Some(asked),
        ..select
    };
    assert_eq!(
        opsdeck::api::store::actions::count_failed(&s, &select)
            .await
            .unwrap(),
        3
    );
    // fewer than confirmed is fine (someone retried one meanwhile), and so is the exact count
    execute(
        &s,
        &ctx("li@ops"),
        &Action::RetryJobs {
            jobs: js(&jobs[..1]),
        },
    )
    .await;
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::RetryFailed {
            select,
            expected: Some(3),
        },
    )
    .await;
    ok(&r);
    assert_eq!(r.changed, 2);
    assert_eq!(status_of(&s, "job_queue", late).await, "failed");
}
store_test!(bulk_retry_growth, bulk_retry_growth_body);

/// Cancelling a run parked at a human approval expires its pending request: nobody can approve
/// a run that will never resume.
async fn cancel_run_expires_approvals_body(s: TestStore) {
    let wf = workflow(&s, "Model Booking", "active").await;
    let run = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO workflow_executions (id, workflow_id, status, started_at, steps_total, steps_completed) \
         VALUES ($1, $2, 'waiting', $3, 4, 2)",
        &[Val::Uuid(run), Val::Uuid(wf), Val::Ts(now())],
    )
    .await
    .unwrap();
    let (req, _) = approval(&s, None, None).await;
    let (other, _) = approval(&s, None, None).await;
    s.db.execute(
        "UPDATE approval_requests SET execution_id = $1 WHERE id = $2",
        &[Val::Uuid(run), Val::Uuid(req)],
    )
    .await
    .unwrap();
    let r = execute(
        &s,
        &ctx("maya@ops"),
        &Action::CancelRun {
            run,
            label: "r".into(),
        },
    )
    .await;
    ok(&r);
    let a =
        s.db.fetch_one(
            "SELECT status, decided_by, decision_note FROM approval_requests WHERE id = $1",
            &[Val::Uuid(req)],
        )
        .await
        .unwrap();
    assert_eq!(a.s("status"), "expired");
    assert_eq!(a.s("decided_by"), "maya@ops");
    assert!(a.s("decision_note").contains("cancelled"));
    assert_eq!(status_of(&s, "approval_requests", other).await, "pending");
    let after =
        s.db.fetch_one(
            "SELECT after FROM operator_actions WHERE action = 'run.cancel'",
            &[],
        )
        .await
        .unwrap()
        .json("after")
        .unwrap();
    assert_eq!(after["approvals_expired"], 1);
    // approving it now is a conflict that says what happened
    let r = execute(
        &s,
        &ctx("li@ops"),
        &Action::Decide {
            request: req,
            label: "Kai".into(),
            approve: true,
            note: None,
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Conflict);
    assert!(r.message.contains("expired"), "{}", r.message);
}
store_test!(
    cancel_run_expires_approvals,
    cancel_run_expires_approvals_body
);

/// Two operators resending one decision at once make one POST; a POST whose sender died (still
/// `pending` long after it started) is offered again and can be resent.
async fn resend_once_body(s: TestStore) {
    let fake = HttpFake::start(|req| match req.path.as_str() {
        "/webhook-waiting/fail" => Response::status(500),
        _ => Response::status(200).delayed(Duration::from_millis(700)),
    })
    .await;
    let c = ctx("maya@ops");
    let (req, r) = decide_with(&s, &format!("{}/webhook-waiting/fail", fake.url), &c).await;
    assert!(r.warning.is_some(), "{r:?}");
    point_resume_url(&s, req, &format!("{}/webhook-waiting/slow", fake.url)).await;
    let resend = Action::ResendDecision {
        request: req,
        label: "Kai".into(),
    };
    let store = Arc::new(s.store.clone());
    let mut tasks = Vec::new();
    for op in ["maya@ops", "li@ops"] {
        let (store, c, a) = (store.clone(), ctx(op), resend.clone());
        tasks.push(tokio::spawn(async move { execute(&store, &c, &a).await }));
    }
    let mut rs = Vec::new();
    for t in tasks {
        rs.push(t.await.unwrap());
    }
    assert_eq!(tally(&rs), (1, 1, 0), "{rs:?}");
    let lost = rs.iter().find(|r| r.outcome == Outcome::Conflict).unwrap();
    // usually "being told right now"; on a slow machine the first POST may already be done
    assert!(
        lost.message.contains("being told right now") || lost.message.contains("already told"),
        "{}",
        lost.message
    );
    let slow = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/slow"))
        .count();
    assert_eq!(slow, 1, "one POST for two resends");
    assert_eq!(resume_state(&s, req).await.0, "told");

    // a sender that died mid-POST: pending for 10 minutes
    let (req2, _) = decide_with(&s, &format!("{}/webhook-waiting/fail", fake.url), &c).await;
    s.db.execute(
        "UPDATE approval_requests SET resume_status = 'pending', resume_error = NULL, \
           resume_attempt_at = $1, resume_url = $2 WHERE id = $3",
        &[
            Val::Ts(now() - chrono::Duration::minutes(10)),
            Val::Text(format!("{}/webhook-waiting/ok", fake.url)),
            Val::Uuid(req2),
        ],
    )
    .await
    .unwrap();
    let open = s
        .approvals(&opsdeck::domain::model::ListFilter {
            status: Some("open".into()),
            ..opsdeck::domain::model::ListFilter::page(50)
        })
        .await
        .unwrap();
    let shown = open
        .iter()
        .find(|a| a.id == req2)
        .expect("a stale pending POST is listed as needing an operator");
    assert_eq!(shown.resume_status.as_deref(), Some("failed"));
    assert!(
        shown
            .resume_error
            .as_deref()
            .unwrap()
            .contains("no answer recorded"),
        "{:?}",
        shown.resume_error
    );
    assert!(
        !open.iter().any(|a| a.id == req),
        "told requests are not listed"
    );
    let r = execute(
        &s,
        &c,
        &Action::ResendDecision {
            request: req2,
            label: "Kai".into(),
        },
    )
    .await;
    ok(&r);
    assert_eq!(
        s.db.fetch_one(
            "SELECT resume_status FROM approval_requests WHERE id = $1",
            &[Val::Uuid(req2)],
        )
        .await
        .unwrap()
        .s("resume_status"),
        "told"
    );
}
store_test!(resend_once, resend_once_body);

/// An action behind a transaction that holds its row gives up after the lock timeout with a
/// clear message, changes nothing, and records the attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeout_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let j = job(&s, "email.send", "failed", None, Some("SMTP")).await;
    let mut holder = s.db.begin().await.unwrap();
    holder
        .fetch_all(
            "SELECT id FROM job_queue WHERE id = $1 FOR UPDATE",
            &[Val::Uuid(j)],
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let r = execute(&s, &ctx("maya@ops"), &Action::RetryJobs { jobs: js(&[j]) }).await;
    let waited = started.elapsed();
    assert_eq!(r.outcome, Outcome::Error, "{r:?}");
    assert!(
        r.message.contains("another transaction holds the row"),
        "{}",
        r.message
    );
    // it gave up instead of hanging (bound far above the 5 s lock timeout: noisy machines)
    assert!(waited < Duration::from_secs(60), "{waited:?}");
    holder.rollback().await.unwrap();
    assert_eq!(status_of(&s, "job_queue", j).await, "failed");
    assert_eq!(
        audit_rows(&s).await,
        vec![(
            "job.retry".to_string(),
            "error".to_string(),
            "maya@ops".to_string(),
            None
        )]
    );
}

/// A bulk retry re-checks "failed by the time the operator asked" on the row it updates: a job
/// retried and failed again while the bulk retry waited for its lock is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_retry_rechecks_failed_by_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let j = job(&s, "sms.send", "failed", None, Some("carrier down")).await;
    let asked = now() + chrono::Duration::milliseconds(1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    // another transaction holds the job: it retries it and it fails again, after `asked`
    let mut holder = s.db.begin().await.unwrap();
    holder
        .execute(
            "UPDATE job_queue SET status = 'failed', updated_at = $1 WHERE id = $2",
            &[Val::Ts(asked + chrono::Duration::seconds(1)), Val::Uuid(j)],
        )
        .await
        .unwrap();
    let store = Arc::new(s.store.clone());
    let bulk = tokio::spawn(async move {
        execute(
            &store,
            &ctx("maya@ops"),
            &Action::RetryFailed {
                select: JobSelect {
                    job_type: Some("sms.send".into()),
                    failed_by: Some(asked),
                    ..Default::default()
                },
                expected: Some(1),
            },
        )
        .await
    });
    // let the bulk retry reach the row lock, then let the holder commit
    tokio::time::sleep(Duration::from_millis(500)).await;
    holder.commit().await.unwrap();
    let r = bulk.await.unwrap();
    assert_eq!(r.changed, 0, "{r:?}");
    assert_eq!(status_of(&s, "job_queue", j).await, "failed");
}

/// A POST overtaken by a newer claim (a resend after the stale delay) does not write its failure
/// over the newer POST: the request stays `pending` for the newer one to settle.
async fn overtaken_claim_body(s: TestStore) {
    let fake = HttpFake::start(|_| Response::status(500).delayed(Duration::from_millis(800))).await;
    let store = Arc::new(s.store.clone());
    let (req, _) = approval(&s, Some(&format!("{}/webhook-waiting/9", fake.url)), None).await;
    let a = tokio::spawn({
        let store = store.clone();
        async move {
            execute(
                &store,
                &ctx("maya@ops"),
                &Action::Decide {
                    request: req,
                    label: "Kai".into(),
                    approve: true,
                    note: None,
                },
            )
            .await
        }
    });
    // while maya's POST hangs, another resend claims the request
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.db.execute(
        "UPDATE approval_requests SET resume_attempt_at = $1 WHERE id = $2",
        &[
            Val::Ts(now() + chrono::Duration::seconds(1)),
            Val::Uuid(req),
        ],
    )
    .await
    .unwrap();
    let r = a.await.unwrap();
    ok(&r);
    assert!(r.warning.is_some(), "maya is told her POST failed: {r:?}");
    assert_eq!(
        s.db.fetch_one(
            "SELECT resume_status FROM approval_requests WHERE id = $1",
            &[Val::Uuid(req)],
        )
        .await
        .unwrap()
        .s("resume_status"),
        "pending",
        "the newer claim is not marked failed"
    );
}
store_test!(overtaken_claim, overtaken_claim_body);
