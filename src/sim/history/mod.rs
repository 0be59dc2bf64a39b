//! The last two hours before the scenario's `now`, so the console is not empty at second 0:
//! finished and running runs with their step logs, failures and saga rollbacks, decided and
//! pending rate negotiations, jobs in every state, an error burst worth an alert, two payment
//! reconciliations (the latest with all three kinds of discrepancy), a capacity alert, a venue
//! broadcast with a bad number in it, and system metrics every five minutes.

mod broadcast;
mod runs;

use chrono::Duration;
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

use super::batch::{Rows, ms_between, pick, uuid, weighted};
use super::catalog::{self, Kind, WHATSAPP_429};
use super::steps::LOG_COLS;
use super::world::{SeedReport, World};
use crate::api::db::{Tx, Val};
use runs::{ERR_COLS, EXEC_COLS, End, H, JOB_COLS, err_row, job_vals, run};

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

    rep.deliveries = broadcast::seed(tx, w, rng, &mut h).await?;
    rep.broadcasts = 1;

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
