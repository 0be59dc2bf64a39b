//! Reading the config's contexts side by side (`opsdeck contexts`, `:ctx` in the console):
//! each on a connection of its own, each within [`PROBE`], so a dead context is a line saying
//! why and never holds up the others.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{self, DbTarget, FileConfig};
use crate::domain::context::ContextLine;

/// How long one context may take to answer.
pub const PROBE: Duration = Duration::from_secs(5);

/// One context to read: its name, whether it is the config's default, and the config with it
/// applied.
#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub default: bool,
    pub cfg: FileConfig,
}

/// The config's contexts, ready to read (cheap to clone: the console's effects share it).
#[derive(Debug, Clone, Default)]
pub struct Probes(Arc<Vec<Probe>>);

impl Probes {
    /// Every context of the raw config file (before any context is applied); one that cannot
    /// be applied is an error naming it.
    pub fn of(file: &FileConfig) -> Result<Probes, String> {
        let mut v = Vec::new();
        for name in file.context_names() {
            let cfg = file.clone().with_context(Some(&name))?;
            v.push(Probe {
                default: file.context.as_deref() == Some(name.as_str()),
                name,
                cfg,
            });
        }
        Ok(Probes(Arc::new(v)))
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|p| p.name.clone()).collect()
    }

    pub fn get(&self, name: &str) -> Option<&Probe> {
        self.0.iter().find(|p| p.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Probe> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (name, production, default) of each, in name order.
    pub fn marks(&self) -> Vec<(String, bool, bool)> {
        self.0
            .iter()
            .map(|p| (p.name.clone(), p.production(), p.default))
            .collect()
    }
}

impl Probe {
    pub fn production(&self) -> bool {
        self.cfg.active.as_ref().is_some_and(|a| a.production)
    }

    /// This context's line (never longer than [`PROBE`]).
    pub async fn read(&self) -> ContextLine {
        let mut line = ContextLine::unread(&self.name, self.production(), self.default);
        let Some(url) = config::resolve_database_url(None, &self.cfg) else {
            line.error = Some("no database_url".into());
            return line;
        };
        let t = match DbTarget::parse(&url) {
            Ok(t) => t,
            Err(e) => {
                line.error = Some(e);
                return line;
            }
        };
        line.database = t.short_name();
        match tokio::time::timeout(PROBE, read(&t)).await {
            Err(_) => line.error = Some(format!("no answer in {} s", PROBE.as_secs())),
            Ok(Err(e)) => line.error = Some(config::redact_in(&e)),
            Ok(Ok((depth, critical, approvals, alerts))) => {
                line.reachable = true;
                line.depth = Some(depth);
                line.critical_errors = Some(critical);
                line.pending_approvals = Some(approvals);
                line.open_alerts = alerts;
            }
        }
        line
    }
}

/// Depth, critical error patterns of the hour, pending approvals and open alerts, on one
/// connection that is closed afterwards.
async fn read(t: &DbTarget) -> Result<(i64, usize, i64, Option<usize>), String> {
    let store = crate::api::Store::open(t, 1)
        .await
        .map_err(|e| e.to_string())?;
    let now = chrono::Utc::now();
    let r = async {
        let o = store.overview(now).await.map_err(|e| format!("{e:#}"))?;
        let p = store
            .error_patterns(now - chrono::Duration::hours(1))
            .await
            .map_err(|e| format!("{e:#}"))?;
        let alerts = store
            .alerts(now)
            .await
            .ok()
            .map(|v| v.iter().filter(|a| a.cleared_at.is_none()).count());
        Ok((
            o.queue.depth(),
            p.iter().filter(|p| p.is_critical()).count(),
            o.pending_approvals,
            alerts,
        ))
    }
    .await;
    store.db.close().await;
    r
}
