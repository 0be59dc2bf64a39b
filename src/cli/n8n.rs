//! `opsdeck workflows [--json]` (every source: the database and n8n), and the pieces the action
//! subcommands use for n8n targets: `opsdeck pause n8n:ID --reason …`, `resume n8n:ID`,
//! `retry n8n:EXECUTION_ID` ([`parse_n8n_ref`], [`n8n_action`], [`n8n_client`]).

use std::process::ExitCode;

use serde::Serialize;

use super::{Fail, Globals, load_config, open_store, target};
use crate::api::n8n::N8nClient;
use crate::config::{self, FileConfig};
use crate::domain::action::Action;
use crate::domain::sanitize::clean;

/// `n8n:ID` → `ID` (None for anything else, e.g. a database workflow name or uuid).
pub fn parse_n8n_ref(s: &str) -> Option<&str> {
    let id = s.trim().strip_prefix("n8n:")?.trim();
    (!id.is_empty()).then_some(id)
}

/// Which action an n8n target gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum N8nVerb {
    /// Deactivate a workflow.
    Pause,
    /// Activate a workflow.
    Resume,
    /// Retry an execution.
    Retry,
}

/// The action for `opsdeck pause|resume|retry n8n:ID`. `reason` is the pause reason (required
/// for a pause, as for a database workflow). Errors are input errors (exit 2).
pub fn n8n_action(verb: N8nVerb, reference: &str, reason: Option<&str>) -> Result<Action, String> {
    let id = parse_n8n_ref(reference)
        .ok_or_else(|| format!("'{}' is not an n8n reference (n8n:ID)", clean(reference)))?;
    let a = match verb {
        N8nVerb::Pause | N8nVerb::Resume => Action::N8nSetActive {
            workflow: id.to_string(),
            label: format!("n8n:{id}"),
            active: verb == N8nVerb::Resume,
            reason: reason.map(str::to_string),
        },
        N8nVerb::Retry => Action::N8nRetry {
            execution: id.to_string(),
            label: format!("n8n:{id}"),
        },
    };
    a.validate()?;
    Ok(a)
}

/// The configured n8n (env, else the config file), or None. A half configuration is an error.
pub fn n8n_client(file: &FileConfig) -> Result<Option<N8nClient>, Fail> {
    config::resolve_n8n(file)
        .map(|s| s.as_ref().map(N8nClient::from_settings))
        .map_err(|e| Fail::new(2, e))
}

/// One workflow, whatever its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowLine {
    /// "db" or "n8n".
    pub source: &'static str,
    pub id: String,
    pub name: String,
    /// db: active/paused/…; n8n: active/inactive (archived).
    pub status: String,
    /// db: runs in the last hour, failed; n8n: tags.
    pub detail: String,
}

#[derive(Debug, Serialize)]
struct SourceError {
    source: &'static str,
    error: String,
}

/// `opsdeck workflows`: exit 0 when every configured source answered, 2 when one failed (the
/// others are still listed) or none is configured.
pub async fn workflows(g: &Globals, json: bool) -> ExitCode {
    let file = match load_config(g) {
        Ok(f) => f,
        Err(f) => return super::finish(Err(f)),
    };
    let mut lines: Vec<WorkflowLine> = Vec::new();
    let mut errors: Vec<SourceError> = Vec::new();
    let mut sources = 0;

    match target(g, &file) {
        Ok(Some(t)) => {
            sources += 1;
            match db_workflows(&t).await {
                Ok(mut l) => lines.append(&mut l),
                Err(e) => errors.push(SourceError {
                    source: "db",
                    error: e,
                }),
            }
        }
        Ok(None) => {}
        Err(f) => errors.push(SourceError {
            source: "db",
            error: f.msg,
        }),
    }
    match n8n_client(&file) {
        Ok(Some(c)) => {
            sources += 1;
            match c.list_workflows().await {
                Ok(w) => {
                    if w.truncated {
                        errors.push(SourceError {
                            source: "n8n",
                            error: format!("more than {} workflows: list truncated", w.items.len()),
                        });
                    }
                    lines.extend(w.items.into_iter().map(|w| {
                        WorkflowLine {
                            source: "n8n",
                            id: format!("n8n:{}", w.id),
                            name: w.name,
                            status: if w.is_archived {
                                "archived".into()
                            } else if w.active {
                                "active".into()
                            } else {
                                "inactive".into()
                            },
                            detail: w
                                .tags
                                .iter()
                                .map(|t| t.name.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        }
                    }))
                }
                Err(e) => errors.push(SourceError {
                    source: "n8n",
                    error: e.to_string(),
                }),
            }
        }
        Ok(None) => {}
        Err(f) => errors.push(SourceError {
            source: "n8n",
            error: f.msg,
        }),
    }
    if sources == 0 && errors.is_empty() {
        errors.push(SourceError {
            source: "config",
            error: "no source configured: --database-url / DATABASE_URL, or N8N_URL + N8N_API_KEY"
                .into(),
        });
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"workflows": lines, "errors": errors})
        );
    } else {
        print_table(&lines);
        for e in &errors {
            eprintln!("opsdeck: {}: {}", e.source, e.error);
        }
    }
    let failed = errors.iter().any(|e| !e.error.contains("truncated"));
    ExitCode::from(if failed { 2 } else { 0 })
}

async fn db_workflows(t: &config::DbTarget) -> Result<Vec<WorkflowLine>, String> {
    let store = open_store(t, 1).await.map_err(|f| f.msg)?;
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let r = store.workflow_stats(since).await;
    store.db.close().await;
    let stats = r.map_err(|e| config::redact_in(&format!("{e:#}")))?;
    Ok(stats
        .into_iter()
        .map(|s| WorkflowLine {
            source: "db",
            id: s.workflow.id.to_string(),
            name: s.workflow.name,
            status: s.workflow.status,
            detail: format!("{} runs/1h, {} failed", s.runs, s.failed),
        })
        .collect())
}

fn print_table(lines: &[WorkflowLine]) {
    let w = |f: fn(&WorkflowLine) -> &str, min: usize| {
        lines
            .iter()
            .map(|l| clean(f(l)).chars().count())
            .max()
            .unwrap_or(0)
            .clamp(min, 40)
    };
    let (wi, wn, ws) = (
        w(|l| l.id.as_str(), 2),
        w(|l| l.name.as_str(), 4),
        w(|l| l.status.as_str(), 6),
    );
    println!(
        "SOURCE  {:wi$}  {:wn$}  {:ws$}  DETAIL",
        "ID", "NAME", "STATUS"
    );
    for l in lines {
        println!(
            "{:6}  {:wi$}  {:wn$}  {:ws$}  {}",
            l.source,
            trunc(&l.id, wi),
            trunc(&l.name, wn),
            trunc(&l.status, ws),
            clean(&l.detail)
        );
    }
}

fn trunc(s: &str, n: usize) -> String {
    let s = clean(s);
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n8n_refs() {
        assert_eq!(parse_n8n_ref("n8n:aB3dE5"), Some("aB3dE5"));
        assert_eq!(parse_n8n_ref(" n8n:1042 "), Some("1042"));
        assert_eq!(parse_n8n_ref("n8n:"), None);
        assert_eq!(parse_n8n_ref("Lead intake"), None);
        let a = n8n_action(N8nVerb::Retry, "n8n:1042", None).unwrap();
        assert_eq!(a.name(), "n8n.execution.retry");
        assert_eq!(a.target_id().as_deref(), Some("1042"));
        assert!(
            n8n_action(N8nVerb::Pause, "n8n:7", None)
                .unwrap_err()
                .contains("reason")
        );
        let p = n8n_action(N8nVerb::Pause, "n8n:7", Some("vendor outage")).unwrap();
        assert_eq!(p.name(), "n8n.workflow.pause");
        assert_eq!(p.note().as_deref(), Some("vendor outage"));
        assert_eq!(
            n8n_action(N8nVerb::Resume, "n8n:7", None).unwrap().name(),
            "n8n.workflow.resume"
        );
        assert!(n8n_action(N8nVerb::Resume, "7", None).is_err());
    }
}
