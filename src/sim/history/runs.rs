//! One historical run of a workflow, played out step by step from its start: step logs,
//! failures (saga rollbacks included), negotiations with their approval requests, the
//! reconciliations it wrote and the jobs its steps enqueued.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::api::db::Val;
use crate::sim::approvals;
use crate::sim::batch::{Rows, ms_between, pick, uuid};
use crate::sim::catalog::{self, Kind, SAGA_ERRORS, SAGA_RESOURCES};
use crate::sim::config::EngineConfig;
use crate::sim::recon::{self, Recon};
use crate::sim::world::World;

pub(super) const EXEC_COLS: &[&str] = &[
    "id",
    "workflow_id",
    "status",
    "started_at",
    "completed_at",
    "duration_ms",
    "event_id",
    "steps_total",
    "steps_completed",
    "current_step",
    "error_message",
    "context",
    "updated_at",
];
pub(super) const ERR_COLS: &[&str] = &[
    "id",
    "workflow_id",
    "execution_id",
    "error_type",
    "error_message",
    "created_at",
];
pub(super) const JOB_COLS: &[&str] = &[
    "id",
    "job_type",
    "payload",
    "status",
    "priority",
    "attempts",
    "max_attempts",
    "scheduled_for",
    "started_at",
    "completed_at",
    "error_message",
    "workflow_id",
    "locked_by",
    "created_at",
    "updated_at",
];

pub(super) struct H {
    pub execs: Rows,
    pub logs: Rows,
    pub errors: Rows,
    pub jobs: Rows,
    pub approvals: Rows,
    pub negs: Rows,
    pub recons: Vec<Recon>,
    pub recon_at: Vec<DateTime<Utc>>,
}

/// How a historical run ends.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum End {
    Done,
    Fail,
    FailAt(usize),
    /// Still running at `now`, at this step.
    Running(usize),
    Waiting,
    Approved,
    Rejected,
}

pub(super) fn err_row(
    rng: &mut SmallRng,
    wf: Uuid,
    exec: Option<Uuid>,
    (t, m): (&str, &str),
    at: DateTime<Utc>,
) -> Vec<Val> {
    vec![
        Val::Uuid(uuid(rng)),
        Val::Uuid(wf),
        Val::OptUuid(exec),
        Val::Text(t.into()),
        Val::Text(m.into()),
        Val::Ts(at),
    ]
}

#[allow(clippy::too_many_arguments)]
pub(super) fn log_row(
    id: Uuid,
    exec: Uuid,
    k: usize,
    name: &str,
    status: &str,
    out: Json,
    err: Option<&str>,
    ms: u64,
    at: DateTime<Utc>,
) -> Vec<Val> {
    vec![
        Val::Uuid(id),
        Val::Uuid(exec),
        Val::I64(k as i64),
        Val::Text(name.into()),
        Val::Text(status.into()),
        Val::Json(json!({ "step": name })),
        Val::Json(out),
        Val::OptText(err.map(str::to_string)),
        Val::I64(ms as i64),
        Val::Ts(at),
    ]
}

/// One historical run of `wf_idx`, started at `start`.
pub(super) fn run(
    h: &mut H,
    w: &World,
    rng: &mut SmallRng,
    wf_idx: usize,
    start: DateTime<Utc>,
    end: End,
    recon_kinds: bool,
) {
    let wf = &w.workflows[wf_idx];
    let def = wf.def;
    let now = w.now;
    let exec = uuid(rng);
    let event = (!w.events.is_empty() && rng.random_bool(0.5))
        .then(|| w.events[rng.random_range(0..w.events.len())].id);
    let steps = def.steps;
    let fail_at = match end {
        End::Fail => Some(rng.random_range(0..steps.len())),
        End::FailAt(k) => Some(k.min(steps.len() - 1)),
        _ => None,
    };
    let mut t = start;
    let mut status = "completed";
    let mut error: Option<String> = None;
    let mut done = steps.len();
    let mut current: Option<String> = None;
    let mut ctx = json!({ "trigger": "history" });
    for (k, s) in steps.iter().enumerate() {
        if let End::Running(at) = end
            && k == at
        {
            status = "running";
            done = k;
            current = Some(s.name.into());
            ctx["next_at"] = json!((now + Duration::seconds(rng.random_range(1..6))).to_rfc3339());
            ctx["step_ms"] = json!(ms_between(rng, s.ms));
            break;
        }
        let ms = ms_between(rng, s.ms);
        t += Duration::milliseconds(ms as i64);
        if fail_at == Some(k) {
            let (et, msg) = if def.kind == Kind::Saga {
                SAGA_ERRORS[k]
            } else {
                *pick(
                    rng,
                    if def.errors.is_empty() {
                        catalog::GENERIC_ERRORS
                    } else {
                        def.errors
                    },
                )
            };
            h.logs.push(log_row(
                uuid(rng),
                exec,
                k,
                s.name,
                "failed",
                Json::Null,
                Some(msg),
                ms,
                t,
            ));
            h.errors.push(err_row(rng, wf.id, Some(exec), (et, msg), t));
            let mut m = msg.to_string();
            if def.kind == Kind::Saga {
                for (idx, j) in (k + 1..).zip((0..k).rev()) {
                    t += Duration::milliseconds(ms_between(rng, (200, 1500)) as i64);
                    let (key, name) = SAGA_RESOURCES[j];
                    h.logs.push(log_row(
                        uuid(rng),
                        exec,
                        idx,
                        name,
                        "completed",
                        json!({ "deleted": key }),
                        None,
                        600,
                        t,
                    ));
                }
                m.push_str(&format!(" (rolled back {k} resource(s) in reverse order)"));
            }
            if def.kind == Kind::Reconciliation {
                h.recons.push(Recon::failed(rng, t));
                h.recon_at.push(t);
            }
            status = "failed";
            error = Some(m);
            done = k;
            current = Some(s.name.into());
            break;
        }
        let mut out = json!({ "ok": true, "items": rng.random_range(1..40) });

        if def.kind == Kind::Negotiation && s.name == "approval" {
            let want_auto = end == End::Done;
            let mut neg = approvals::generate(rng, t, &EngineConfig::default());
            for _ in 0..50 {
                if neg.auto == want_auto {
                    break;
                }
                neg = approvals::generate(rng, t, &EngineConfig::default());
            }
            out = neg.step_output();
            let (a_status, by, note, n_status) = match end {
                End::Done => (
                    "approved",
                    Some("auto-approval rule"),
                    Some("passes the seed's auto-approval rule"),
                    "auto_approved",
                ),
                End::Approved => (
                    "approved",
                    Some("claire@ops"),
                    Some("agency relationship, approved"),
                    "approved",
                ),
                End::Rejected => (
                    "rejected",
                    Some("marc@ops"),
                    Some("discount too deep for a single show"),
                    "rejected",
                ),
                _ => ("pending", None, None, "pending"),
            };
            let decided = by.map(|_| t + Duration::minutes(rng.random_range(2..20)).min(now - t));
            h.approvals.push(vec![
                Val::Uuid(neg.approval_id),
                Val::Text("rate_negotiation".into()),
                Val::Json(neg.data(event)),
                Val::Text(neg.priority.into()),
                Val::Text(format!("{} (Rate Negotiation)", neg.designer_name)),
                Val::Text(a_status.into()),
                Val::OptText(by.map(str::to_string)),
                Val::OptTs(decided),
                Val::OptText(note.map(str::to_string)),
                Val::Uuid(exec),
                Val::Ts(t),
                Val::Ts(t + Duration::hours(24)),
            ]);
            h.negs.push(vec![
                Val::Uuid(neg.negotiation_id),
                Val::Uuid(neg.approval_id),
                Val::Text(neg.model_id.clone()),
                Val::Text(neg.model_name.clone()),
                Val::Text(neg.designer_id.clone()),
                Val::Text(neg.designer_name.clone()),
                Val::Text(neg.tier.clone()),
                Val::I64(neg.standard),
                Val::I64(neg.proposed),
                Val::I64(neg.shows),
                Val::Text(n_status.into()),
                Val::Ts(t),
            ]);
            match end {
                End::Waiting => {
                    h.logs.push(log_row(
                        uuid(rng),
                        exec,
                        k,
                        s.name,
                        "waiting",
                        out,
                        None,
                        ms,
                        t,
                    ));
                    status = "waiting";
                    done = k;
                    current = Some(s.name.into());
                    ctx["approval_id"] = json!(neg.approval_id.to_string());
                    break;
                }
                End::Rejected => {
                    let at = decided.unwrap_or(t);
                    let msg = "rejected by marc@ops: discount too deep for a single show";
                    h.logs.push(log_row(
                        uuid(rng),
                        exec,
                        k,
                        s.name,
                        "cancelled",
                        json!({ "decision": "rejected", "decided_by": "marc@ops" }),
                        Some(msg),
                        ms,
                        at,
                    ));
                    status = "cancelled";
                    error = Some(msg.into());
                    done = k;
                    current = Some(s.name.into());
                    t = at;
                    break;
                }
                End::Approved => {
                    t = decided.unwrap_or(t);
                    out = json!({ "decision": "approved", "decided_by": "claire@ops" });
                }
                _ => {}
            }
        }
        if def.kind == Kind::Reconciliation && s.name == "compare" {
            let rec = if recon_kinds {
                let mut ds = Vec::new();
                for k in [
                    "missing_in_db",
                    "missing_in_db",
                    "amount_mismatch",
                    "missing_in_stripe",
                ] {
                    ds.push(recon::discrepancy(
                        rng,
                        match k {
                            "missing_in_db" => "missing_in_db",
                            "amount_mismatch" => "amount_mismatch",
                            _ => "missing_in_stripe",
                        },
                    ));
                }
                let n = rng.random_range(180..320);
                Recon::new(rng, t, n, ds)
            } else {
                let n = rng.random_range(120..260);
                let d = recon::discrepancy(rng, "amount_mismatch");
                Recon::new(rng, t, n, vec![d])
            };
            out = rec.summary();
            h.recons.push(rec);
            h.recon_at.push(t);
        }
        if def.kind == Kind::Saga {
            out = json!({ "created": SAGA_RESOURCES[k].0 });
            ctx[SAGA_RESOURCES[k].0] = json!(format!(
                "{}-{}",
                SAGA_RESOURCES[k].0,
                rng.random_range(1000..9999)
            ));
        }
        if let Some(jt) = s.job {
            let jd = catalog::job(jt);
            let jid = uuid(rng);
            out["job_id"] = json!(jid.to_string());
            let fin = t + Duration::milliseconds(ms_between(rng, jd.ms) as i64);
            h.jobs.push(job_vals(
                jid,
                jt,
                json!({ "execution_id": exec.to_string(), "step": s.name }),
                "completed",
                jd.priority,
                1,
                jd.max_attempts,
                t,
                Some(fin.min(now)),
                None,
                Some(wf.id),
            ));
        }
        h.logs.push(log_row(
            uuid(rng),
            exec,
            k,
            s.name,
            "completed",
            out,
            None,
            ms,
            t,
        ));
    }
    let finished = matches!(status, "completed" | "failed" | "cancelled");
    h.execs.push(vec![
        Val::Uuid(exec),
        Val::Uuid(wf.id),
        Val::Text(status.into()),
        Val::Ts(start),
        Val::OptTs(finished.then_some(t)),
        Val::OptI64(finished.then(|| (t - start).num_milliseconds())),
        Val::OptUuid(event),
        Val::I64(steps.len() as i64),
        Val::I64(done as i64),
        Val::OptText(if finished && status == "completed" {
            None
        } else {
            current
        }),
        Val::OptText(error),
        Val::Json(ctx),
        Val::Ts(if finished {
            t
        } else {
            now - Duration::seconds(1)
        }),
    ]);
}

#[allow(clippy::too_many_arguments)]
pub(super) fn job_vals(
    id: Uuid,
    jt: &str,
    payload: Json,
    status: &str,
    prio: i64,
    attempts: i64,
    max: i64,
    created: DateTime<Utc>,
    done: Option<DateTime<Utc>>,
    err: Option<&str>,
    wf: Option<Uuid>,
) -> Vec<Val> {
    let started = (attempts > 0).then(|| created + Duration::milliseconds(40));
    let sched = if status == "retrying" {
        done.unwrap_or(created)
    } else {
        created
    };
    let completed = if matches!(status, "completed" | "failed") {
        done
    } else {
        None
    };
    vec![
        Val::Uuid(id),
        Val::Text(jt.into()),
        Val::Json(payload),
        Val::Text(status.into()),
        Val::I64(prio),
        Val::I64(attempts),
        Val::I64(max),
        Val::Ts(sched),
        Val::OptTs(started),
        Val::OptTs(completed),
        Val::OptText(err.map(str::to_string)),
        Val::OptUuid(wf),
        Val::OptText(
            matches!(status, "completed" | "failed").then(|| "opsdeck-sim-history-w0".to_string()),
        ),
        Val::Ts(created),
        Val::Ts(completed.unwrap_or(created)),
    ]
}
