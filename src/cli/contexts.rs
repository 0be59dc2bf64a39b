//! `opsdeck contexts [--json]`: every automation stack the config names, one line each —
//! reachable or why not, queue depth, critical error patterns, pending approvals, open alerts —
//! read side by side, each within a few seconds: a dead context never holds up the others.

use std::process::ExitCode;
use std::time::Duration;

use super::{Fail, Globals, finish, load_config_file};
use crate::config::{self, DbTarget};

/// How long one context may take to answer.
pub const PROBE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, serde::Serialize)]
pub struct ContextLine {
    pub name: String,
    pub production: bool,
    /// The config's default context (`context =`).
    pub default: bool,
    pub database: String,
    pub reachable: bool,
    pub error: Option<String>,
    pub depth: Option<i64>,
    pub critical_errors: Option<usize>,
    pub pending_approvals: Option<i64>,
    pub open_alerts: Option<usize>,
}

pub async fn run(g: &Globals, json: bool) -> ExitCode {
    let mut down = false;
    let r = async {
        let file = load_config_file(g)?;
        let names = file.context_names();
        if names.is_empty() {
            return Err(Fail::new(
                2,
                "the config names no contexts: add [contexts.NAME] sections (see the README)",
            ));
        }
        let probes = names.iter().map(|n| {
            let cfg = file.clone().with_context(Some(n));
            let default = file.context.as_deref() == Some(n.as_str());
            async move {
                let cfg = cfg.map_err(|e| Fail::new(2, e))?;
                Ok::<ContextLine, Fail>(probe(n.clone(), default, &cfg).await)
            }
        });
        let lines: Vec<ContextLine> = futures::future::join_all(probes)
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        down = lines.iter().any(|l| !l.reachable);
        if json {
            println!("{}", serde_json::json!({ "contexts": lines }));
        } else {
            print_lines(&lines);
        }
        Ok(())
    }
    .await;
    match r {
        Ok(()) if down => ExitCode::from(1),
        other => finish(other),
    }
}

fn print_lines(lines: &[ContextLine]) {
    println!(
        "  {:<18} {:<5} {:<28} {:>6} {:>9} {:>10} {:>7}",
        "context", "", "database", "depth", "critical", "approvals", "alerts"
    );
    for l in lines {
        let n = |v: Option<i64>| v.map_or("—".to_string(), |x| x.to_string());
        let mark = if l.default { "*" } else { " " };
        let prod = if l.production { "PROD" } else { "" };
        if l.reachable {
            println!(
                "{mark} {:<18} {:<5} {:<28} {:>6} {:>9} {:>10} {:>7}",
                l.name,
                prod,
                l.database,
                n(l.depth),
                n(l.critical_errors.map(|x| x as i64)),
                n(l.pending_approvals),
                n(l.open_alerts.map(|x| x as i64)),
            );
        } else {
            println!(
                "{mark} {:<18} {:<5} {:<28} unreachable: {}",
                l.name,
                prod,
                l.database,
                l.error.as_deref().unwrap_or("?")
            );
        }
    }
}

/// One context's line (never longer than [`PROBE`]).
pub async fn probe(name: String, default: bool, cfg: &crate::config::FileConfig) -> ContextLine {
    let production = cfg.active.as_ref().is_some_and(|a| a.production);
    let mut line = ContextLine {
        name,
        production,
        default,
        database: String::new(),
        reachable: false,
        error: None,
        depth: None,
        critical_errors: None,
        pending_approvals: None,
        open_alerts: None,
    };
    let Some(url) = config::resolve_database_url(None, cfg) else {
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
