//! `opsdeck pause|resume|retry|cancel|approve|reject|resolve|ack|resend`: the operator actions
//! from a shell or a script, through the same `api::actions::execute` as the console.
//! Exit codes: 0 done, 1 conflict (someone else got there first, or nothing matched), 2 error,
//! or denied (the login's role may not: the database refused it and recorded the attempt).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use uuid::Uuid;

use super::{Fail, Globals, load_config, open_store, target};
use crate::api::Store;
use crate::api::actions::{ActionCtx, execute};
use crate::api::store::{By, IdTable};
use crate::config;
use crate::domain::action::{Action, ActionReport, Actor, JobSelect, Named, Outcome};
use crate::domain::role::Basis;

/// What to do, before ids are resolved against the database.
#[derive(Debug, Clone)]
pub enum Request {
    Pause {
        workflows: Vec<String>,
        reason: String,
    },
    Resume {
        workflows: Vec<String>,
    },
    Retry {
        jobs: Vec<String>,
        all_failed: bool,
        job_type: Option<String>,
        workflow: Option<String>,
    },
    Cancel {
        jobs: Vec<String>,
    },
    RetryRun {
        run: String,
    },
    CancelRun {
        run: String,
    },
    Decide {
        request: String,
        approve: bool,
        note: Option<String>,
    },
    Resend {
        request: String,
    },
    Resolve {
        discrepancy: String,
        note: String,
        ignore: bool,
    },
    Ack {
        event: String,
    },
    /// Acknowledge (`minutes` None) or silence an alert (its id, or the first characters of it).
    Alert {
        alert: String,
        minutes: Option<i64>,
        comment: Option<String>,
    },
}

/// Output and prompting options shared by the action subcommands.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ActOpts {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub async fn run(g: &Globals, req: Request, o: ActOpts) -> ExitCode {
    match act(g, req, &o).await {
        Ok(r) => {
            print_report(&r, o.json);
            ExitCode::from(r.outcome.exit_code())
        }
        Err(f) => {
            if o.json {
                println!(
                    "{}",
                    serde_json::json!({"outcome": "error", "message": f.msg})
                );
            } else {
                eprintln!("opsdeck: {}", f.msg);
            }
            ExitCode::from(f.code)
        }
    }
}

fn print_report(r: &ActionReport, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(r).unwrap_or_else(|_| "{}".into())
        );
        return;
    }
    let word = match r.outcome {
        Outcome::Ok => "done",
        Outcome::Conflict => "conflict",
        Outcome::Error => "error",
        Outcome::Denied => "denied",
    };
    println!("{word}: {}", r.message);
    for c in r.conflicts.iter().skip(usize::from(r.changed == 0)) {
        println!("  not changed: {c}");
    }
    if let Some(w) = &r.warning {
        println!("warning: {w}");
    }
}

async fn act(g: &Globals, req: Request, o: &ActOpts) -> Result<ActionReport, Fail> {
    let file = load_config(g)?;
    if g.read_only || file.read_only.unwrap_or(false) {
        return Err(Fail::new(
            2,
            "read-only: actions are disabled (--read-only or config)",
        ));
    }
    let t = target(g, &file)?.ok_or_else(|| {
        Fail::new(
            2,
            "actions need a database: --database-url URL or DATABASE_URL",
        )
    })?;
    let store = open_store(&t, 2).await?;
    if store.pending_migrations().await > 0 {
        return Err(Fail::new(
            2,
            format!(
                "{}: the schema is missing or out of date: run `opsdeck migrate` first",
                t.display_addr()
            ),
        ));
    }
    // who acts: a login the database judges (roles, or grants) goes on, and a refusal comes
    // back from the database as `denied`, on record; where nothing enforces roles (an adopted
    // database) a login without write rights is refused here, as before roles
    match store.access().await {
        Ok(a) if a.basis == (Basis::Unenforced { write: false }) => {
            return Err(Fail::new(
                2,
                format!(
                    "read-only: the database role on {} may not change the action tables",
                    t.display_addr()
                ),
            ));
        }
        Ok(_) => {}
        Err(e) => return Err(Fail::new(2, crate::api::db::describe_sqlx(&e))),
    }
    // `n8n:ID` targets n8n itself (pause/resume = deactivate/activate, retry an execution)
    use super::n8n::{N8nVerb, n8n_action, parse_n8n_ref};
    let one_n8n = |v: &[String]| v.len() == 1 && parse_n8n_ref(&v[0]).is_some();
    let n8n = match &req {
        Request::Pause { workflows, reason } if one_n8n(workflows) => {
            Some(n8n_action(N8nVerb::Pause, &workflows[0], Some(reason)))
        }
        Request::Resume { workflows } if one_n8n(workflows) => {
            Some(n8n_action(N8nVerb::Resume, &workflows[0], None))
        }
        Request::Retry {
            jobs,
            all_failed: false,
            ..
        } if one_n8n(jobs) => Some(n8n_action(N8nVerb::Retry, &jobs[0], None)),
        _ => None,
    };
    let action = match n8n {
        Some(a) => a.map_err(|e| Fail::new(2, e))?,
        None => resolve(&store, req).await?,
    };
    action.validate().map_err(|e| Fail::new(2, e))?;
    let count = match &action {
        Action::RetryFailed { select, .. } => Some(count_failed(&store, select).await?),
        _ => None,
    };
    let action = match action {
        Action::RetryFailed { select, .. } => Action::RetryFailed {
            select,
            expected: count,
        },
        a => a,
    };
    if !o.yes {
        confirm(&action, count)?;
    }
    let ctx = ActionCtx::new(Actor {
        operator: config::resolve_operator(g.operator.as_deref(), &file),
        origin: config::origin(),
    })
    .with_n8n(super::n8n::n8n_client(&file)?);
    let r = execute(&store, &ctx, &action).await;
    store.db.close().await;
    Ok(r)
}

/// Asks on the terminal; refuses when stdin is not one (scripts pass --yes).
fn confirm(action: &Action, count: Option<i64>) -> Result<(), Fail> {
    if !std::io::stdin().is_terminal() {
        return Err(Fail::new(
            2,
            format!(
                "refusing to {} without confirmation: stdin is not a terminal (pass --yes)",
                action.summary()
            ),
        ));
    }
    let mut err = std::io::stderr();
    for l in action.confirm_lines(count) {
        let _ = writeln!(err, "{l}");
    }
    let typed = action.typed_confirmation(count);
    match &typed {
        Some(n) => {
            let _ = write!(err, "Type {n} to confirm: ");
        }
        None => {
            let _ = write!(err, "Proceed? [y/N] ");
        }
    }
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Fail::new(2, e.to_string()))?;
    let line = line.trim();
    let yes = match &typed {
        Some(n) => line == n,
        None => matches!(line, "y" | "Y" | "yes"),
    };
    if yes {
        Ok(())
    } else {
        Err(Fail::new(2, "not confirmed; nothing changed"))
    }
}

async fn count_failed(store: &Store, s: &JobSelect) -> Result<i64, Fail> {
    crate::api::store::actions::count_failed(store, s)
        .await
        .map_err(|e| Fail::new(2, crate::api::db::describe_sqlx(&e)))
}

/// Turns names, full ids and the 8-character short ids the console shows into targets.
async fn resolve(store: &Store, req: Request) -> Result<Action, Fail> {
    Ok(match req {
        Request::Pause { workflows, reason } => Action::PauseWorkflows {
            workflows: workflows_of(store, &workflows).await?,
            reason,
        },
        Request::Resume { workflows } => Action::ResumeWorkflows {
            workflows: workflows_of(store, &workflows).await?,
        },
        Request::Retry {
            jobs,
            all_failed,
            job_type,
            workflow,
        } => {
            if all_failed {
                if !jobs.is_empty() {
                    return Err(Fail::new(2, "give job ids or --all-failed, not both"));
                }
                let wf = match workflow {
                    Some(w) => Some(one_workflow(store, &w).await?),
                    None => None,
                };
                Action::RetryFailed {
                    select: JobSelect {
                        job_type,
                        workflow_id: wf.as_ref().map(|w| w.id),
                        workflow_label: wf.map(|w| w.label),
                        text: None,
                        // what is counted (and confirmed) is what is retried
                        failed_by: Some(chrono::Utc::now()),
                    },
                    expected: None,
                }
            } else {
                if job_type.is_some() || workflow.is_some() {
                    return Err(Fail::new(
                        2,
                        "--job-type and --workflow select failed jobs: use them with --all-failed",
                    ));
                }
                Action::RetryJobs {
                    jobs: jobs_of(store, &jobs).await?,
                }
            }
        }
        Request::Cancel { jobs } => Action::CancelJobs {
            jobs: jobs_of(store, &jobs).await?,
        },
        Request::RetryRun { run } => {
            let id = id_of(store, IdTable::Runs, "run", &run).await?;
            Action::RetryRun {
                run: id,
                label: short(&id),
            }
        }
        Request::CancelRun { run } => {
            let id = id_of(store, IdTable::Runs, "run", &run).await?;
            Action::CancelRun {
                run: id,
                label: short(&id),
            }
        }
        Request::Decide {
            request,
            approve,
            note,
        } => {
            let id = id_of(
                store,
                IdTable::ApprovalRequests,
                "approval request",
                &request,
            )
            .await?;
            Action::Decide {
                request: id,
                label: approval_label(store, id).await,
                approve,
                note,
            }
        }
        Request::Resend { request } => {
            let id = id_of(
                store,
                IdTable::ApprovalRequests,
                "approval request",
                &request,
            )
            .await?;
            Action::ResendDecision {
                request: id,
                label: approval_label(store, id).await,
            }
        }
        Request::Resolve {
            discrepancy,
            note,
            ignore,
        } => {
            let id = id_of(store, IdTable::Discrepancies, "discrepancy", &discrepancy).await?;
            Action::Resolve {
                discrepancy: id,
                label: short(&id),
                ignore,
                note,
            }
        }
        Request::Ack { event } => {
            let e = event_of(store, &event).await?;
            Action::AckCapacity {
                event: e.id,
                label: e.label,
            }
        }
        Request::Alert {
            alert,
            minutes,
            comment,
        } => {
            let a = alert_of(store, &alert).await?;
            Action::AlertAct {
                alert: a.id,
                label: a.label(),
                minutes,
                comment,
            }
        }
    })
}

fn short(id: &Uuid) -> String {
    id.to_string()[..8].to_string()
}

fn db_err(e: sqlx::Error) -> Fail {
    Fail::new(2, crate::api::db::describe_sqlx(&e))
}

/// A full uuid, or a unique prefix of at least 6 hex characters.
async fn id_of(store: &Store, table: IdTable, what: &str, s: &str) -> Result<Uuid, Fail> {
    let s = s.trim();
    if let Ok(id) = Uuid::parse_str(s) {
        return Ok(id);
    }
    let hex_ok = s.len() >= 6 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if !hex_ok {
        return Err(Fail::new(
            2,
            format!(
                "'{}' is not a {what} id (a uuid or its first 8 characters)",
                crate::domain::sanitize::clean(s)
            ),
        ));
    }
    let ids = store.ids_with_prefix(table, s).await.map_err(db_err)?;
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => Err(Fail::new(2, format!("no {what} with id {s}"))),
        _ => Err(Fail::new(
            2,
            format!("{s} matches several {what}s: give more characters"),
        )),
    }
}

async fn ids_of(
    store: &Store,
    table: IdTable,
    what: &str,
    v: &[String],
) -> Result<Vec<Uuid>, Fail> {
    if v.is_empty() {
        return Err(Fail::new(2, format!("give at least one {what} id")));
    }
    let mut out = Vec::new();
    for s in v {
        out.push(id_of(store, table, what, s).await?);
    }
    Ok(out)
}

/// Job ids labelled "1a2b3c4d email.send (failed)" for the confirmation.
async fn jobs_of(store: &Store, v: &[String]) -> Result<Vec<Named>, Fail> {
    let mut out = Vec::new();
    for id in ids_of(store, IdTable::Jobs, "job", v).await? {
        let label = store
            .job_type_status(id)
            .await
            .map_err(db_err)?
            .map(|(t, st)| format!("{} {t} ({st})", short(&id)))
            .unwrap_or_else(|| short(&id));
        out.push(Named::new(id, label));
    }
    Ok(out)
}

async fn one_workflow(store: &Store, s: &str) -> Result<Named, Fail> {
    let by_name = store
        .named(IdTable::Workflows, By::Name(s.to_string()))
        .await
        .map_err(db_err)?;
    if by_name.len() > 1 {
        // the contract keeps names unique; an adopted table may not (seed 004's does not)
        return Err(Fail::new(
            2,
            format!(
                "more than one workflow is named '{}': give its id (`opsdeck workflows` lists them); nothing was changed",
                crate::domain::sanitize::clean(s)
            ),
        ));
    }
    if let Some(w) = by_name.into_iter().next() {
        return Ok(w);
    }
    let id = id_of(store, IdTable::Workflows, "workflow", s)
        .await
        .map_err(|_| {
            Fail::new(
                2,
                format!(
                    "no workflow named or with id '{}'",
                    crate::domain::sanitize::clean(s)
                ),
            )
        })?;
    store
        .named(IdTable::Workflows, By::Id(id))
        .await
        .map_err(db_err)?
        .into_iter()
        .next()
        .ok_or_else(|| Fail::new(2, format!("no workflow with id {id}")))
}

async fn workflows_of(store: &Store, v: &[String]) -> Result<Vec<Named>, Fail> {
    if v.is_empty() {
        return Err(Fail::new(2, "give at least one workflow (name or id)"));
    }
    let mut out = Vec::new();
    for s in v {
        out.push(one_workflow(store, s).await?);
    }
    Ok(out)
}

async fn event_of(store: &Store, s: &str) -> Result<Named, Fail> {
    let mut named = store
        .named(IdTable::Events, By::Name(s.to_string()))
        .await
        .map_err(db_err)?;
    match named.len() {
        1 => return Ok(named.remove(0)),
        2 => {
            return Err(Fail::new(
                2,
                format!(
                    "several events are named '{}': give the id",
                    crate::domain::sanitize::clean(s)
                ),
            ));
        }
        _ => {}
    }
    let id = id_of(store, IdTable::Events, "event", s).await?;
    store
        .named(IdTable::Events, By::Id(id))
        .await
        .map_err(db_err)?
        .into_iter()
        .next()
        .ok_or_else(|| Fail::new(2, format!("no event with id {id}")))
}

/// "Kai Duarte × Maison Noor" for a rate negotiation, else the short id.
async fn approval_label(store: &Store, id: Uuid) -> String {
    store
        .negotiation_label(id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| short(&id))
}

/// The alert an id (or the first characters of one) names among the last day's.
async fn alert_of(store: &Store, given: &str) -> Result<crate::domain::alert::Alert, Fail> {
    let g = given.trim().to_ascii_lowercase();
    if let Ok(id) = g.parse::<uuid::Uuid>() {
        return store
            .alert(id)
            .await
            .map_err(|e| Fail::new(2, crate::api::db::describe_sqlx(&e)))?
            .ok_or_else(|| Fail::new(2, format!("no alert {given}")));
    }
    if g.len() < 4 {
        return Err(Fail::new(
            2,
            "give the alert's id, or at least its first 4 characters (opsdeck alerts lists them)",
        ));
    }
    let all = store
        .alerts(chrono::Utc::now() - chrono::Duration::days(7))
        .await
        .map_err(|e| Fail::new(2, crate::api::db::describe_sqlx(&e)))?;
    let hits: Vec<crate::domain::alert::Alert> = all
        .into_iter()
        .filter(|a| a.id.to_string().starts_with(&g))
        .collect();
    match hits.len() {
        0 => Err(Fail::new(2, format!("no alert starts with {given}"))),
        1 => Ok(hits.into_iter().next().expect("one")),
        n => Err(Fail::new(
            2,
            format!("{n} alerts start with {given}: give more of the id"),
        )),
    }
}
