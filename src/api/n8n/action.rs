//! n8n actions (pause/resume a workflow, retry an execution), reached through
//! `api::actions::execute` like every other action (it hands over the client and the actor).
//! n8n is not a transaction: the state is read first (the `before`), the change is asked of
//! n8n's API, and exactly one `operator_actions` row records the outcome — ok, conflict (already in that state, already retried, n8n refused it
//! on the target's state) or error (not configured, unreachable, key rejected, scope missing).

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};

use super::{N8nClient, N8nError};
use crate::api::store::Store;
use crate::api::store::actions::{audit_alone, last_n8n_retry};
use crate::domain::action::{Action, ActionReport, Actor, Outcome};
use crate::domain::sanitize::clean;

/// What n8n answered, before the audit row is written.
struct Done {
    outcome: Outcome,
    message: String,
    before: Json,
    after: Json,
}

impl Done {
    fn conflict(before: Json, message: String) -> Self {
        Done {
            outcome: Outcome::Conflict,
            after: json!({"unchanged": true, "why": message}),
            message,
            before,
        }
    }
    fn error(before: Json, e: &N8nError, what: String) -> Self {
        let outcome = if e.is_refusal() || matches!(e, N8nError::NotFound { .. }) {
            Outcome::Conflict
        } else {
            Outcome::Error
        };
        let message = format!("{what}: {e}");
        Done {
            outcome,
            after: json!({"error": e.to_string()}),
            message,
            before,
        }
    }
}

pub async fn execute(
    store: &Store,
    n8n: Option<&N8nClient>,
    actor: &Actor,
    action: &Action,
) -> ActionReport {
    let name = action.name();
    let now = Utc::now();
    let done = match n8n {
        None => Done {
            outcome: Outcome::Error,
            message: format!(
                "{}: n8n is not configured (set N8N_URL and N8N_API_KEY, or [n8n] in the config file)",
                action.summary()
            ),
            before: json!(null),
            after: json!({"error": "n8n not configured"}),
        },
        Some(c) => match action {
            Action::N8nSetActive {
                workflow,
                label,
                active,
                ..
            } => set_active(c, workflow, label, *active).await,
            Action::N8nRetry { execution, label } => retry(store, c, execution, label).await,
            _ => return ActionReport::error(name, "not an n8n action"),
        },
    };
    report(store, actor, action, now, done).await
}

async fn report(
    store: &Store,
    actor: &Actor,
    action: &Action,
    now: DateTime<Utc>,
    d: Done,
) -> ActionReport {
    let audit_id = audit_alone(
        store,
        actor,
        action,
        now,
        d.before.clone(),
        d.after.clone(),
        d.outcome,
    )
    .await;
    let changed = u64::from(d.outcome == Outcome::Ok);
    ActionReport {
        action: action.name(),
        outcome: d.outcome,
        conflicts: if d.outcome == Outcome::Conflict {
            vec![d.message.clone()]
        } else {
            vec![]
        },
        message: d.message,
        changed,
        audit_id,
        warning: audit_id
            .is_none()
            .then(|| "the audit row could not be written (database unreachable?)".to_string()),
    }
}

fn state(active: bool) -> &'static str {
    if active { "active" } else { "inactive" }
}

async fn set_active(c: &N8nClient, id: &str, label: &str, active: bool) -> Done {
    let verb = if active { "resume" } else { "pause" };
    let what = format!("{verb} n8n workflow {}", clean(label));
    // the state before; a key without workflow:read still may act (before is then unknown)
    let before = match c.get_workflow(id).await {
        Ok(w) => {
            if w.active == active {
                let b = json!({"active": w.active, "name": w.name});
                return Done::conflict(
                    b,
                    format!(
                        "n8n workflow {} is already {}",
                        clean(&w.name),
                        state(active)
                    ),
                );
            }
            json!({"active": w.active, "name": w.name})
        }
        Err(e @ N8nError::NotFound { .. }) => return Done::error(json!(null), &e, what),
        Err(N8nError::Forbidden { .. }) => json!({"active": null}),
        Err(e) => return Done::error(json!(null), &e, what),
    };
    match c.set_active(id, active).await {
        Ok(w) => Done {
            outcome: Outcome::Ok,
            message: format!(
                "n8n workflow {} {}",
                clean(&w.name),
                if active {
                    "resumed (active)"
                } else {
                    "paused (inactive)"
                }
            ),
            before,
            after: json!({"active": w.active}),
        },
        Err(e) => Done::error(before, &e, what),
    }
}

async fn retry(store: &Store, c: &N8nClient, id: &str, label: &str) -> Done {
    let what = format!("retry n8n execution {}", clean(label));
    // a second retry of the same execution (a double press, two operators) is a conflict, as
    // for a database run: retry the new execution instead
    if let Some(prev) = previous_retry(store, id).await {
        return Done::conflict(json!({"execution": id}), prev);
    }
    let before = match c.get_execution(id).await {
        Ok(e) => {
            if let Some(s) = &e.retry_success_id {
                let b = json!({"status": e.status_str(), "retrySuccessId": s});
                return Done::conflict(
                    b,
                    format!("n8n execution {id} was already retried successfully (as {s})"),
                );
            }
            json!({"status": e.status_str(), "workflowId": e.workflow_id})
        }
        Err(N8nError::Forbidden { .. }) => json!({"status": null}),
        Err(e) => return Done::error(json!(null), &e, what),
    };
    match c.retry(id).await {
        Ok(new) => Done {
            outcome: Outcome::Ok,
            message: format!(
                "n8n execution {id} retried as {} ({})",
                clean(&new.id),
                clean(new.status_str())
            ),
            before,
            after: json!({"retried_as": new.id, "status": new.status_str()}),
        },
        Err(e) => Done::error(before, &e, what),
    }
}

/// "already retried by maya@ops at 03:12 UTC (as 1043)" when an ok retry is on record.
async fn previous_retry(store: &Store, id: &str) -> Option<String> {
    let (operator, at, after) = last_n8n_retry(store, id).await.ok()??;
    let as_ = after
        .as_ref()
        .and_then(|a| a.get("retried_as"))
        .and_then(|v| v.as_str())
        .map(|s| format!(" (as {})", clean(s)))
        .unwrap_or_default();
    Some(format!(
        "n8n execution {} already retried by {}{}{as_}",
        clean(id),
        clean(&operator),
        at.map(|t| format!(" at {}", t.format("%H:%M UTC")))
            .unwrap_or_default()
    ))
}
