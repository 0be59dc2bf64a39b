//! Operator actions, end to end: the database ones run as one transaction with their audit
//! row ([`crate::api::store::actions::run`]), then an ok decision with a resume_url tells n8n
//! (the HTTP call here, its outcome written back through the store); n8n actions go through
//! its API ([`crate::api::n8n::action`]). The TUI and the CLI both come through [`execute`].

use std::time::Duration;

use crate::api::n8n::N8nClient;
use crate::api::store::Store;
use crate::api::store::actions::{self, ResumeCall};
use crate::domain::action::{Action, ActionReport, Actor, Outcome};

/// What actions need besides the store.
#[derive(Debug, Clone)]
pub struct ActionCtx {
    pub actor: Actor,
    /// For resume_url calls (n8n Wait nodes); built with [`http_client`].
    pub http: reqwest::Client,
    /// The n8n API, for n8n actions (None: n8n is not configured).
    pub n8n: Option<N8nClient>,
}

/// Default timeout of a resume_url call.
pub const RESUME_TIMEOUT: Duration = Duration::from_secs(5);

pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

impl ActionCtx {
    pub fn new(actor: Actor) -> Self {
        ActionCtx {
            actor,
            http: http_client(RESUME_TIMEOUT),
            n8n: None,
        }
    }

    /// With an n8n client, for `N8nSetActive` / `N8nRetry`.
    pub fn with_n8n(mut self, client: Option<N8nClient>) -> Self {
        self.n8n = client;
        self
    }
}

/// Applies `action` and writes its audit row. Never panics on bad input; the report says what
/// happened.
pub async fn execute(store: &Store, ctx: &ActionCtx, action: &Action) -> ActionReport {
    if let Err(e) = action.validate() {
        return ActionReport::error(action.name(), e);
    }
    if matches!(action, Action::AlertAct { .. }) {
        return crate::api::store::alerts::act(store, &ctx.actor, action).await;
    }
    if let Action::N8nRetryMany { executions, label } = action {
        if let Some(denied) = n8n_denied(store, &ctx.actor, action).await {
            return denied;
        }
        return retry_many(store, ctx, executions, label).await;
    }
    if matches!(
        action,
        Action::N8nSetActive { .. } | Action::N8nRetry { .. }
    ) {
        // n8n is not a transaction: it acts through its API, then writes its one audit row.
        // The database cannot stop a REST call: ask it first whether this login may
        if let Some(denied) = n8n_denied(store, &ctx.actor, action).await {
            return denied;
        }
        return crate::api::n8n::action::execute(store, ctx.n8n.as_ref(), &ctx.actor, action).await;
    }
    let (mut report, call) = actions::run(store, &ctx.actor, action).await;
    if let Some(call) = call {
        report.warning = tell_n8n(store, ctx, &call).await;
    }
    if let (Action::PauseWorkflows { .. } | Action::ResumeWorkflows { .. }, Some(audit)) =
        (action, report.audit_id)
        && report.outcome == Outcome::Ok
        && report.changed > 0
    {
        n8n_half(store, ctx, action, audit, &mut report).await;
    }
    if let (Action::CancelRun { run, .. }, Some(audit)) = (action, report.audit_id)
        && report.outcome == Outcome::Ok
    {
        cancel_in_n8n(store, ctx, *run, audit, &mut report).await;
    }
    report
}

/// The n8n side of a cancelled run. A Wait node parked for one of its approval requests (a
/// `resume_url`) is told "cancelled", so the execution goes on to its end in n8n. An execution
/// no Wait node could be told about keeps running in n8n: n8n 1.123's public API has no stop
/// endpoint, so the report says to stop it there, naming the execution. Both go into the
/// audit row (`after.n8n`).
async fn cancel_in_n8n(
    store: &Store,
    ctx: &ActionCtx,
    run: uuid::Uuid,
    audit: uuid::Uuid,
    report: &mut ActionReport,
) {
    let (exec, waits) = match actions::cancelled_in_n8n(store, run).await {
        Ok(x) => x,
        Err(e) => {
            report.warning = Some(format!(
                "could not read the run's n8n side ({}): check it in n8n",
                crate::api::db::describe_sqlx(&e)
            ));
            return;
        }
    };
    if exec.is_none() && waits.is_empty() {
        return;
    }
    let mut told = Vec::new();
    let mut not_told = Vec::new();
    for (request, url) in &waits {
        let body = actions::decision_body(
            *request,
            "cancelled",
            &ctx.actor.operator,
            Some("run cancelled"),
            Some(run),
        );
        match post_decision(&ctx.http, url, &body).await {
            None => told.push(serde_json::json!({"request": request, "result": "told cancelled"})),
            Some(f) => not_told
                .push(serde_json::json!({"request": request, "result": format!("not told: {f}")})),
        }
    }
    let exec_name = exec
        .as_deref()
        .map(|e| format!("n8n execution {e}"))
        .unwrap_or_else(|| "its n8n execution".into());
    let stop = if told.is_empty() {
        Some(format!(
            "stop {exec_name} in n8n: opsdeck cannot (n8n 1.123's public API has no stop endpoint)"
        ))
    } else {
        None
    };
    let mut wait_nodes = told.clone();
    wait_nodes.extend(not_told.iter().cloned());
    actions::record_n8n(
        store,
        audit,
        serde_json::json!({
            "execution": exec,
            "wait_nodes": wait_nodes,
            "stop": stop.clone().unwrap_or_else(|| "its Wait node was told cancelled".into()),
        }),
    )
    .await;
    if !told.is_empty() {
        report.message = format!(
            "{} · n8n: the Wait node of {exec_name} was told \"cancelled\"",
            report.message
        );
    }
    let mut warn = Vec::new();
    if !not_told.is_empty() {
        warn.push(format!(
            "cancelled in the database, but {} of its n8n Wait nodes were not told ({})",
            not_told.len(),
            not_told
                .iter()
                .filter_map(|v| v["result"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(s) = stop {
        warn.push(s);
    }
    if !warn.is_empty() {
        let w = warn.join("; ");
        report.warning = Some(match report.warning.take() {
            Some(prev) => format!("{prev}; {w}"),
            None => w,
        });
    }
}

/// The n8n half of a pause (resume): each changed workflow that lives in n8n is deactivated
/// (activated) there too, after the commit. What n8n answered goes into the same audit row
/// (`after.n8n`: one entry per workflow) and into the report: the message when all went
/// through, a warning naming each workflow n8n did not change (and that it still runs there).
async fn n8n_half(
    store: &Store,
    ctx: &ActionCtx,
    action: &Action,
    audit: uuid::Uuid,
    report: &mut ActionReport,
) {
    let pausing = matches!(action, Action::PauseWorkflows { .. });
    let targets = match actions::n8n_targets(store, audit).await {
        Ok(t) if t.is_empty() => return,
        Ok(t) => t,
        Err(e) => {
            report.warning = Some(format!(
                "could not read which workflows live in n8n ({}): check them in n8n",
                crate::api::db::describe_sqlx(&e)
            ));
            return;
        }
    };
    let (done, verb) = if pausing {
        ("deactivated", "deactivate")
    } else {
        ("activated", "activate")
    };
    let mut entries = Vec::new();
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for (id, name, n8n_id) in &targets {
        let result = match &ctx.n8n {
            None => Err("n8n's API is not configured (N8N_URL and N8N_API_KEY)".to_string()),
            Some(c) => c
                .set_active(n8n_id, !pausing)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        entries.push(serde_json::json!({
            "workflow": id, "name": name, "n8n_id": n8n_id,
            "result": match &result { Ok(()) => done.to_string(), Err(e) => format!("not {done}: {e}") },
        }));
        match result {
            Ok(()) => ok.push(format!("{name} (n8n {n8n_id})")),
            Err(e) => failed.push(format!("{name} (n8n {n8n_id}): {e}")),
        }
    }
    actions::record_n8n(store, audit, serde_json::Value::Array(entries)).await;
    if !ok.is_empty() {
        report.message = format!("{} · n8n: {done} {}", report.message, ok.join(", "));
    }
    if !failed.is_empty() {
        let half = if pausing { "paused" } else { "resumed" };
        let still = if pausing {
            "it still runs in n8n"
        } else {
            "it stays inactive in n8n"
        };
        let w = format!(
            "{half} in the database, but n8n did not {verb} {} — {still}: {verb} it there",
            failed.join("; ")
        );
        report.warning = Some(match report.warning.take() {
            Some(prev) => format!("{prev}; {w}"),
            None => w,
        });
    }
}

/// An n8n action the login's role may not do (where the database enforces roles): the denied
/// report, with its audit row. None: go ahead.
async fn n8n_denied(store: &Store, actor: &Actor, action: &Action) -> Option<ActionReport> {
    if !actions::acts_by_function(store).await.unwrap_or(false) {
        return None;
    }
    let access = store.access().await.ok()?;
    let why = access.may(action.name()).err()?;
    let audit_id = actions::audit_alone(
        store,
        actor,
        action,
        chrono::Utc::now(),
        serde_json::Value::Null,
        serde_json::json!({"denied": why}),
        Outcome::Denied,
    )
    .await;
    Some(ActionReport {
        action: action.name(),
        outcome: Outcome::Denied,
        message: format!("{}: denied — {why}", action.summary()),
        changed: 0,
        conflicts: vec![],
        audit_id,
        warning: None,
    })
}

/// POSTs a decision to an n8n Wait node's resume_url: None when n8n took it (2xx, or 409
/// "already resumed"), else why not ("HTTP 500", "timed out", "cannot connect", …).
async fn post_decision(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> Option<String> {
    match http.post(url).json(body).send().await {
        Ok(r) if r.status().is_success() || r.status().as_u16() == 409 => None,
        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Some("timed out".to_string()),
        Err(e) if e.is_connect() => Some("cannot connect".to_string()),
        Err(e) => Some(crate::config::redact_in(&e.to_string())),
    }
}

/// POSTs the decision to n8n after the commit. 2xx and 409 ("already resumed") count as told;
/// anything else leaves the decision standing, marks the request `failed` (the console offers a
/// resend) and records it in the audit row. Returns the warning to show, if any.
async fn tell_n8n(store: &Store, ctx: &ActionCtx, call: &ResumeCall) -> Option<String> {
    let failure = post_decision(&ctx.http, &call.url, &call.body).await;
    actions::record_resume(store, call, failure.as_deref()).await;
    failure.map(|f| format!("n8n not told ({f}) — resend: R in Approvals, or `opsdeck resend`"))
}

/// Errors' R on a pattern whose errors came from n8n: each execution is retried in n8n as its
/// own n8n action (its own audit row); the report sums them up. Ok when at least one was
/// retried; otherwise the first refusal's outcome.
async fn retry_many(
    store: &Store,
    ctx: &ActionCtx,
    executions: &[String],
    label: &str,
) -> ActionReport {
    let mut retried = Vec::new();
    let mut not = Vec::new();
    let mut worst = None;
    let mut last_audit = None;
    for e in executions {
        let one = Action::N8nRetry {
            execution: e.clone(),
            label: e.clone(),
        };
        let r = crate::api::n8n::action::execute(store, ctx.n8n.as_ref(), &ctx.actor, &one).await;
        last_audit = r.audit_id.or(last_audit);
        if r.outcome == Outcome::Ok {
            retried.push(r.message.clone());
        } else {
            if worst.is_none() {
                worst = Some(r.outcome);
            }
            not.push(r.message.clone());
            if r.outcome == Outcome::Error {
                // n8n unreachable, key rejected, not configured: the rest would fail alike
                break;
            }
        }
    }
    let outcome = if retried.is_empty() {
        worst.unwrap_or(Outcome::Error)
    } else {
        Outcome::Ok
    };
    let mut message = format!(
        "retried {} of {} n8n executions behind {}",
        retried.len(),
        executions.len(),
        crate::domain::sanitize::clean(label)
    );
    if let Some(first) = not.first() {
        message.push_str(&format!("; {} not: {first}", not.len()));
    }
    ActionReport {
        action: "n8n.execution.retry",
        outcome,
        message,
        changed: retried.len() as u64,
        conflicts: not,
        audit_id: last_audit,
        warning: None,
    }
}
