//! The last two hours before the scenario's `now`, so the console is not empty at second 0:
//! finished and running runs with their step logs, failures and saga rollbacks, decided and
//! pending rate negotiations, jobs in every state, an error burst worth an alert, two payment
//! reconciliations (the latest with all three kinds of discrepancy), a capacity alert, a venue
//! broadcast with a bad number in it, and system metrics every five minutes.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::approvals;
use super::batch::{Rows, ms_between, pick, uuid, weighted};
use super::broadcast::valid_phone;
use super::catalog::{self, Kind, SAGA_ERRORS, SAGA_RESOURCES, TWILIO_INVALID, WHATSAPP_429};
use super::config::EngineConfig;
use super::recon::{self, Recon};
use super::seed::{SeedReport, VENUE_B, World};
use super::steps::LOG_COLS;
use crate::api::db::{Tx, Val};

const EXEC_COLS: &[&str] = &[
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
const ERR_COLS: &[&str] = &[
    "id",
    "workflow_id",
    "execution_id",
    "error_type",
    "error_message",
    "created_at",
];
const JOB_COLS: &[&str] = &[
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

struct H {
    execs: Rows,
    logs: Rows,
    errors: Rows,
    jobs: Rows,
    approvals: Rows,
    negs: Rows,
    recons: Vec<Recon>,
    recon_at: Vec<DateTime<Utc>>,
}

/// How a historical run ends.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Done,
    Fail,
    FailAt(usize),
    /// Still running at `now`, at this step.
    Running(usize),
    Waiting,
    Approved,
    Rejected,
}

fn err_row(
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
fn log_row(
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
fn run(
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
        let mut log_status = "completed";
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
            log_status,
            out,
            None,
            ms,
            t,
        ));
        log_status = "completed";
        let _ = log_status;
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
fn job_vals(
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

pub(crate) async fn seed(
    tx: &mut Tx,
    w: &World,
    rng: &mut SmallRng,
    rep: &mut SeedReport,
) -> Result<(), sqlx::Error> {
    let now = w.now;
    let mut h = H {
        execs: Rows::new("workflow_executions", EXEC_COLS),
        logs: Rows::new("workflow_step_logs", LOG_COLS),
        errors: Rows::new("workflow_errors", ERR_COLS),
        jobs: Rows::new("job_queue", JOB_COLS),
        approvals: Rows::new(
            "approval_requests",
            &[
                "id",
                "type",
                "data",
                "priority",
                "requested_by",
                "status",
                "decided_by",
                "decided_at",
                "decision_note",
                "execution_id",
                "created_at",
                "expires_at",
            ],
        ),
        negs: Rows::new(
            "rate_negotiations",
            &[
                "id",
                "approval_request_id",
                "model_id",
                "model_name",
                "designer_id",
                "designer_name",
                "designer_tier",
                "standard_rate",
                "proposed_rate",
                "show_count",
                "status",
                "created_at",
            ],
        ),
        recons: Vec::new(),
        recon_at: Vec::new(),
    };
    let idx = |name: &str| {
        w.workflows
            .iter()
            .position(|x| x.def.name == name)
            .expect("catalog workflow")
    };
    let window = 120 * 60;
    // event-triggered runs over two hours
    let cands: Vec<usize> = (0..w.workflows.len())
        .filter(|&i| {
            let d = w.workflows[i].def;
            d.every_s == 0
                && d.weight > 0
                && d.kind != Kind::Sequence
                && d.kind != Kind::Negotiation
        })
        .collect();
    for _ in 0..110 {
        let i = cands[weighted(rng, &cands, |&i| w.workflows[i].def.weight)];
        let paused = w.workflows[i].status == "paused";
        let ago = if paused {
            rng.random_range(45 * 60..window)
        } else {
            rng.random_range(30..window)
        };
        let fail_p = if w.workflows[i].def.kind == Kind::Saga {
            0.3
        } else {
            (w.workflows[i].def.fail_p * 3.0).max(0.04)
        };
        let end = if rng.random_bool(fail_p) {
            End::Fail
        } else {
            End::Done
        };
        run(&mut h, w, rng, i, now - Duration::seconds(ago), end, false);
    }
    // the provisioning saga: one clean run, one that failed at Vercel and rolled back
    let cp = idx("Client Provisioning");
    run(
        &mut h,
        w,
        rng,
        cp,
        now - Duration::minutes(95),
        End::Done,
        false,
    );
    run(
        &mut h,
        w,
        rng,
        cp,
        now - Duration::minutes(33),
        End::FailAt(3),
        false,
    );
    // in flight right now
    for name in [
        "Model Booking Request",
        "Unified Messaging",
        "Payment Processing Hub",
        "Client Provisioning",
    ] {
        let i = idx(name);
        let at = rng.random_range(1..w.workflows[i].def.steps.len());
        let start = now - Duration::seconds(rng.random_range(2..15));
        run(&mut h, w, rng, i, start, End::Running(at), false);
    }
    // rate negotiations: auto-approved, decided by people, and two waiting for one
    let rn = idx("Rate Negotiation");
    for k in 0..8 {
        let start = now - Duration::minutes(rng.random_range(30..115));
        let end = if k < 5 {
            End::Done
        } else if k == 5 {
            End::Rejected
        } else {
            End::Approved
        };
        run(&mut h, w, rng, rn, start, end, false);
    }
    run(
        &mut h,
        w,
        rng,
        rn,
        now - Duration::minutes(24),
        End::Waiting,
        false,
    );
    run(
        &mut h,
        w,
        rng,
        rn,
        now - Duration::minutes(9),
        End::Waiting,
        false,
    );
    // scheduled workflows at (a sparser version of) their period
    for (name, every_min) in [
        ("Capacity Monitoring", 10),
        ("Event Countdown", 60),
        ("Automated Payout", 60),
        ("Payment Reconciliation", 60),
        ("Error Analysis & Recovery", 30),
    ] {
        let i = idx(name);
        let mut m = 118;
        while m > 2 {
            let latest = m <= every_min;
            run(
                &mut h,
                w,
                rng,
                i,
                now - Duration::minutes(m),
                End::Done,
                latest,
            );
            m -= every_min;
        }
    }
    // seed 001 sequences: each mid-way, the next step due within minutes
    for d in catalog::WORKFLOWS
        .iter()
        .filter(|d| d.kind == Kind::Sequence)
    {
        let i = idx(d.name);
        let at = rng.random_range(1..d.steps.len() - 1);
        let start = now - Duration::hours(rng.random_range(3..72));
        run(&mut h, w, rng, i, start, End::Running(at), false);
    }

    // jobs across the window (besides those the runs enqueued)
    let kinds: Vec<&catalog::JobDef> = catalog::JOBS.iter().filter(|j| j.weight > 0).collect();
    for _ in 0..1200 {
        let d = kinds[weighted(rng, &kinds, |k| k.weight)];
        let wf = catalog::WORKFLOWS
            .iter()
            .position(|x| x.jobs.contains(&d.job_type))
            .filter(|_| rng.random_bool(0.7))
            .map(|i| w.workflows[i].id);
        let ago = rng.random_range(0..window);
        let created = now - Duration::seconds(ago);
        let fin = created + Duration::milliseconds(ms_between(rng, d.ms) as i64 + 50);
        let id = uuid(rng);
        let payload = json!({ "source": "history" });
        let (status, attempts, done, err) = if ago < 40 {
            ("pending", 0, None, None)
        } else if rng.random_bool(0.03) {
            let e = *pick(rng, d.errors);
            h.errors.push(err_row(
                rng,
                wf.unwrap_or(w.workflows[0].id),
                None,
                (e.0, &format!("{}: {}", d.job_type, e.1)),
                fin,
            ));
            ("failed", d.max_attempts, Some(fin), Some(e.1))
        } else if ago < 600 && rng.random_bool(0.02) {
            let e = *pick(rng, d.errors);
            (
                "retrying",
                1,
                Some(now + Duration::seconds(rng.random_range(20..240))),
                Some(e.1),
            )
        } else {
            ("completed", 1, Some(fin.min(now)), None)
        };
        h.jobs.push(job_vals(
            id,
            d.job_type,
            payload,
            status,
            d.priority,
            attempts,
            d.max_attempts,
            created,
            done,
            err,
            wf,
        ));
    }
    // an error burst: WhatsApp rate limits on Unified Messaging (> 10 in the hour: critical)
    let um = w.wf("Unified Messaging").id;
    for _ in 0..14 {
        let at = now - Duration::seconds(rng.random_range(60..50 * 60));
        h.errors.push(err_row(rng, um, None, WHATSAPP_429, at));
    }
    let pp = w.wf("Payment Processing Hub").id;
    for _ in 0..2 {
        let at = now - Duration::seconds(rng.random_range(300..3000));
        h.errors
            .push(err_row(rng, pp, None, catalog::STRIPE_SIG, at));
    }

    // the venue broadcast (Palais de Tokyo, today) with its deliveries and delivery jobs
    let bid = uuid(rng);
    let b_at = now - Duration::minutes(35);
    let mut recipients = BTreeSet::new();
    for e in w
        .events
        .iter()
        .filter(|e| e.venue == VENUE_B && (e.start - now).num_hours().abs() < 12)
    {
        recipients.extend(e.attendees.iter().copied());
        recipients.extend(e.models.iter().filter(|m| m.1 == "confirmed").map(|m| m.0));
        recipients.extend(e.staff.iter().map(|s| s.0));
    }
    let mut dels = Rows::new(
        "broadcast_deliveries",
        &[
            "id",
            "broadcast_id",
            "person_id",
            "channel",
            "status",
            "error",
            "sent_at",
        ],
    );
    let ebs = w.wf("Emergency Broadcast System").id;
    let (mut ok, mut bad) = (0, 0);
    for &p in &recipients {
        let person = &w.people[p];
        let Some(ch) = person.channel else { continue };
        let did = uuid(rng);
        let reachable = match ch {
            "email" => person.email.is_some(),
            _ => person.phone.as_deref().is_some_and(valid_phone),
        };
        let sent = b_at + Duration::seconds(rng.random_range(1..40));
        let (st, err) = if reachable {
            ("delivered", None)
        } else {
            ("failed", Some(TWILIO_INVALID.1))
        };
        if reachable {
            ok += 1
        } else {
            bad += 1
        }
        dels.push(vec![
            Val::Uuid(did),
            Val::Uuid(bid),
            Val::Uuid(person.id),
            Val::Text(ch.into()),
            Val::Text(st.into()),
            Val::OptText(err.map(str::to_string)),
            Val::OptTs(Some(sent)),
        ]);
        let jt = format!("broadcast.{ch}");
        h.jobs.push(job_vals(
            uuid(rng),
            &jt,
            json!({ "delivery_id": did.to_string(), "broadcast_id": bid.to_string() }),
            if reachable { "completed" } else { "failed" },
            100,
            if reachable { 1 } else { 3 },
            3,
            b_at,
            Some(sent),
            err,
            Some(ebs),
        ));
        if !reachable {
            h.errors.push(err_row(
                rng,
                ebs,
                None,
                (TWILIO_INVALID.0, &format!("{jt}: {}", TWILIO_INVALID.1)),
                sent,
            ));
        }
    }
    let b_status = if bad == 0 {
        "sent"
    } else if ok == 0 {
        "failed"
    } else {
        "partially_failed"
    };
    tx.execute(
        "INSERT INTO emergency_broadcasts (id, idempotency_key, level, scope, event_id, venue_name, message, \
           triggered_by, status, affected_count, test, created_at, completed_at) \
         VALUES ($1, $2, 'warning', 'venue', NULL, $3, $4, 'claire@ops', $5, $6, $7, $8, $9)",
        &[
            Val::Uuid(bid),
            Val::Text(format!("seed-{bid}")),
            Val::Text(VENUE_B.into()),
            Val::Text("Doors open 30 minutes late (stage rigging). Please wait at the east entrance.".into()),
            Val::Text(b_status.into()),
            Val::I64((ok + bad) as i64),
            Val::Bool(false),
            Val::Ts(b_at),
            Val::Ts(b_at + Duration::seconds(45)),
        ],
    )
    .await?;
    rep.broadcasts = 1;
    rep.deliveries = dels.len();

    rep.runs = h.execs.len();
    rep.step_logs = h.logs.len();
    rep.jobs = h.jobs.len();
    rep.errors = h.errors.len();
    rep.approvals = h.approvals.len();
    h.execs.insert(tx).await?;
    h.logs.insert(tx).await?;
    h.errors.insert(tx).await?;
    h.jobs.insert(tx).await?;
    h.approvals.insert(tx).await?;
    h.negs.insert(tx).await?;
    dels.insert(tx).await?;
    rep.reconciliation_runs = h.recons.len();
    for (r, at) in h.recons.iter().zip(&h.recon_at) {
        rep.discrepancies += r.discrepancies.len();
        r.insert(tx, (*at).min(now)).await?;
    }
    // the older discrepancy was looked at already
    tx.execute(
        "UPDATE reconciliation_discrepancies SET status = 'resolved', resolved_by = 'claire@ops', \
           resolved_at = $1, note = 'refund issued in Stripe, ledger corrected' \
         WHERE id IN (SELECT d.id FROM reconciliation_discrepancies d \
                      JOIN reconciliation_runs r ON r.id = d.run_id \
                      WHERE r.discrepancy_count = 1 ORDER BY r.created_at LIMIT 1)",
        &[Val::Ts(now - Duration::minutes(50))],
    )
    .await?;

    // the conference crossed 80 % an hour ago
    let conf = &w.events[0];
    tx.execute(
        "INSERT INTO capacity_alerts (id, event_id, threshold, sold, capacity, created_at) VALUES ($1, $2, 80, $3, $4, $5)",
        &[
            Val::Uuid(uuid(rng)),
            Val::Uuid(conf.id),
            Val::I64(conf.capacity * 80 / 100),
            Val::I64(conf.capacity),
            Val::Ts(now - Duration::minutes(55)),
        ],
    )
    .await?;
    rep.capacity_alerts = 1;

    let mut met = Rows::new(
        "system_metrics",
        &["measured_at", "cpu_usage", "memory_usage", "queue_depth"],
    );
    for i in (1..=24).rev() {
        let spike = i == 14 || i == 13;
        met.push(vec![
            Val::Ts(now - Duration::minutes(5 * i)),
            Val::F64(
                ((rng.random_range(18.0..45.0) + if spike { 30.0 } else { 0.0 }) * 10.0f64).round()
                    / 10.0,
            ),
            Val::F64((rng.random_range(44.0..58.0) * 10.0f64).round() / 10.0),
            Val::I64(if spike {
                rng.random_range(110..160)
            } else {
                rng.random_range(4..45)
            }),
        ]);
    }
    rep.metrics = met.len();
    met.insert(tx).await?;
    Ok(())
}
