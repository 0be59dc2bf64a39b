//! The IO behind a view: one [`LoadReq`] becomes one bounded read of the store, returned as a
//! [`Payload`]. Runs in a spawned task (app.rs wraps the result in a message); the event loop
//! never awaits it.

use chrono::Duration;

use super::Store;
use crate::domain::refresh::{LoadKind, LoadReq, Payload, ViewId, WINDOW_HOURS};

/// Reads what `req` asks for.
pub async fn load(store: &Store, req: &LoadReq) -> anyhow::Result<Payload> {
    let f = &req.filter;
    let since = req.now - Duration::hours(WINDOW_HOURS);
    Ok(match (req.view, req.kind) {
        (ViewId::Overview, _) => Payload::Overview(Box::new(store.overview(req.now).await?)),
        (ViewId::Workflows, _) => Payload::Workflows(store.workflow_stats(since).await?),
        (ViewId::Runs, LoadKind::Detail) => match req.id {
            Some(id) => {
                let run = store.run(id).await?;
                let steps = store.step_logs(id, None, 200).await?;
                Payload::RunDetail(run.map(Box::new), steps)
            }
            None => Payload::RunDetail(None, Vec::new()),
        },
        (ViewId::Runs, _) => Payload::Runs(store.runs(f).await?),
        (ViewId::Queue, LoadKind::Detail) => match req.id {
            Some(id) => Payload::JobDetail(store.job(id).await?.map(Box::new)),
            None => Payload::JobDetail(None),
        },
        (ViewId::Queue, LoadKind::More) => Payload::Queue(None, store.jobs(f).await?),
        (ViewId::Queue, _) => {
            let depth = store.queue_depth(req.now).await?;
            Payload::Queue(Some(Box::new(depth)), store.jobs(f).await?)
        }
        (ViewId::Errors, _) => Payload::Errors(store.error_patterns(since).await?),
        (ViewId::Capacity, _) => Payload::Capacity(
            store.capacity().await?,
            store.open_capacity_alerts(50).await?,
        ),
        (ViewId::Reconciliation, LoadKind::Detail) => Payload::Discrepancies(
            store
                .discrepancies(
                    &crate::domain::model::ListFilter::page(f.limit.max(1)),
                    req.id,
                )
                .await?,
        ),
        (ViewId::Reconciliation, _) => Payload::Recon(store.recon_runs(f).await?),
        (ViewId::Approvals, _) => Payload::Approvals(store.approvals(f).await?),
        (ViewId::Audit, _) => Payload::Audit(store.operator_actions(f).await?),
    })
}
