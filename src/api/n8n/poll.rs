//! The console's n8n poller: every `every`, workflows + recent executions (+ waiting
//! executions, as a hint) in one snapshot, sent on a channel (app.rs wraps it in a message). Runs as its own task, so a slow
//! or dead n8n never holds up drawing; each request has the client's timeout.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{ExecFilter, N8nClient, N8nError};
use crate::domain::n8n::{N8nDown, N8nPolled, N8nSnapshot};

/// Executions fetched per poll (the newest).
pub const RECENT: u32 = 50;

/// One snapshot. Waiting executions are optional: a failure there does not fail the poll.
pub async fn snapshot(c: &N8nClient) -> Result<N8nSnapshot, N8nError> {
    let recent = ExecFilter::default().limit(RECENT);
    let (workflows, executions) = tokio::join!(c.list_workflows(), c.list_executions(&recent));
    let workflows = workflows?;
    let executions = executions?;
    let waiting = c
        .list_executions(&ExecFilter::status("waiting").limit(RECENT))
        .await
        .map(|p| p.data)
        .unwrap_or_default();
    Ok(N8nSnapshot {
        workflows: workflows.items,
        executions: executions.data,
        waiting,
        truncated: workflows.truncated,
    })
}

/// Polls until the receiver is gone. The first poll is immediate.
pub async fn run(c: N8nClient, every: Duration, tx: mpsc::Sender<N8nPolled>) {
    let every = every.max(Duration::from_secs(1));
    loop {
        let result = snapshot(&c).await.map_err(|e| {
            tracing::info!(error = %e, "n8n poll failed");
            N8nDown {
                short: e.short(),
                full: e.to_string(),
            }
        });
        let polled = N8nPolled {
            at: chrono::Utc::now(),
            result,
        };
        if tx.send(polled).await.is_err() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}
