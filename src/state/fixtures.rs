//! Realistic, fixed data for snapshots, tests and benches: a Fashion Week afternoon at a fixed
//! `now`, so ages are stable. Not used by the running console.

use chrono::{Duration, NaiveDate, TimeZone};
use serde_json::json;
use uuid::Uuid;

use crate::domain::model::*;

/// 2026-09-14 14:30:00 UTC.
pub fn now() -> Ts {
    chrono::Utc
        .with_ymd_and_hms(2026, 9, 14, 14, 30, 0)
        .single()
        .unwrap_or_default()
}

fn ago(secs: i64) -> Ts {
    now() - Duration::seconds(secs)
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn wf(n: u128, name: &str, trigger: &str, status: &str) -> Workflow {
    Workflow {
        id: id(0x100 + n),
        name: name.into(),
        description: None,
        trigger_type: trigger.into(),
        status: status.into(),
        n8n_workflow_id: None,
        paused_by: None,
        paused_at: None,
        pause_reason: None,
        next_execution_at: None,
        updated_at: Some(ago(3600)),
    }
}

pub fn workflows() -> Vec<WorkflowStats> {
    let mut paused = wf(3, "social-post-scheduler", "schedule", "paused");
    paused.paused_by = Some("maria@control-room".into());
    paused.paused_at = Some(ago(1260));
    paused.pause_reason = Some("Instagram API rate limit — wait for reset".into());
    let mut sched = wf(2, "daily-payment-reconciliation", "schedule", "active");
    sched.next_execution_at = Some(now() + Duration::minutes(570));
    let s = |w: Workflow, runs, completed, failed, p95, err: Option<(&str, i64)>| WorkflowStats {
        workflow: w,
        runs,
        completed,
        failed,
        running: 2,
        waiting: 0,
        success_rate: (completed + failed > 0)
            .then(|| completed as f64 / (completed + failed) as f64),
        p95_ms: p95,
        last_error: err.map(|e| e.0.to_string()),
        last_error_at: err.map(|e| ago(e.1)),
    };
    vec![
        s(
            wf(1, "ticket-purchase-confirmation", "webhook", "active"),
            412,
            398,
            6,
            Some(1840),
            Some(("SMTP timeout after 30s (smtp.sendgrid.net)", 95)),
        ),
        s(sched, 1, 1, 0, Some(48_200), None),
        s(
            paused,
            37,
            22,
            15,
            Some(5_900),
            Some(("429 Too Many Requests", 1300)),
        ),
        s(
            wf(4, "model-rate-negotiation", "event", "active"),
            9,
            5,
            0,
            Some(3_100),
            None,
        ),
        s(
            wf(5, "capacity-monitor", "db_change", "active"),
            120,
            120,
            0,
            Some(210),
            None,
        ),
        s(
            wf(6, "emergency-broadcast", "webhook", "active"),
            0,
            0,
            0,
            None,
            None,
        ),
        s(
            wf(7, "vip-guest-sync", "schedule", "draining"),
            14,
            10,
            4,
            Some(12_400),
            Some((
                "auth: token expired for CRM \u{1b}[31mhubspot\u{1b}[0m",
                400,
            )),
        ),
    ]
}

pub fn runs() -> Vec<Run> {
    let r = |n: u128, wfn: u128, name: &str, status: &str, started: i64, dur: Option<i64>| Run {
        id: id(0x200 + n),
        workflow_id: id(0x100 + wfn),
        workflow_name: name.into(),
        status: status.into(),
        started_at: ago(started),
        completed_at: dur.map(|d| ago(started) + Duration::milliseconds(d)),
        duration_ms: dur,
        event_id: Some(id(0x500 + 1)),
        steps_total: 5,
        steps_completed: if status == "completed" { 5 } else { 2 },
        current_step: (status != "completed").then(|| "send-confirmation-email".to_string()),
        error_message: (status == "failed").then(|| "SMTP timeout after 30s".to_string()),
        context: json!({"order_id": "ord_8812", "attendee": {"name": "Aiko Tanaka", "tier": "vip"}, "seats": 2}),
        n8n_execution_id: None,
    };
    vec![
        r(1, 1, "ticket-purchase-confirmation", "running", 4, None),
        r(2, 4, "model-rate-negotiation", "waiting", 610, None),
        r(
            3,
            1,
            "ticket-purchase-confirmation",
            "failed",
            95,
            Some(30_410),
        ),
        r(4, 5, "capacity-monitor", "completed", 120, Some(180)),
        r(
            5,
            1,
            "ticket-purchase-confirmation",
            "completed",
            150,
            Some(1_210),
        ),
        r(6, 7, "vip-guest-sync", "timed_out", 400, Some(60_000)),
        r(
            7,
            2,
            "daily-payment-reconciliation",
            "completed",
            34_200,
            Some(48_200),
        ),
    ]
}

pub fn steps() -> Vec<StepLog> {
    let s = |i: i64, name: &str, status: &str, dur: Option<i64>, err: Option<&str>| StepLog {
        id: id(0x300 + i as u128),
        execution_id: id(0x203),
        step_index: i,
        step_name: name.into(),
        status: status.into(),
        input: None,
        output: None,
        error_message: err.map(String::from),
        duration_ms: dur,
        created_at: ago(95 - i * 3),
    };
    vec![
        s(
            2,
            "send-confirmation-email",
            "failed",
            Some(30_002),
            Some("SMTP timeout after 30s"),
        ),
        s(1, "generate-ticket-pdf", "completed", Some(312), None),
        s(0, "validate-order", "completed", Some(41), None),
    ]
}

pub fn depth() -> QueueDepth {
    QueueDepth {
        pending: 58,
        retrying: 6,
        processing: 8,
        failed: 3,
        by_type: vec![
            ("email.send".into(), "pending".into(), 41),
            ("email.send".into(), "processing".into(), 5),
            ("email.send".into(), "retrying".into(), 4),
            ("image.process".into(), "pending".into(), 12),
            ("image.process".into(), "processing".into(), 3),
            ("social.post".into(), "failed".into(), 3),
            ("social.post".into(), "retrying".into(), 2),
            ("analytics.sync".into(), "pending".into(), 5),
        ],
        oldest_pending_at: Some(ago(222)),
        completed_last_hour: Count::exact(1_284),
    }
}

pub fn jobs() -> Vec<Job> {
    let j = |n: u128, ty: &str, status: &str, prio: i64, att: i64, created: i64| Job {
        id: id(0x400 + n),
        job_type: ty.into(),
        payload: json!({"to": "guest@example.com", "template": "ticket-confirmation", "order_id": "ord_8812"}),
        status: status.into(),
        priority: prio,
        attempts: att,
        max_attempts: 3,
        scheduled_for: Some(ago(created)),
        started_at: None,
        completed_at: None,
        error_message: (status == "failed" || status == "retrying")
            .then(|| "429 Too Many Requests".to_string()),
        workflow_id: Some(id(0x101)),
        workflow_name: Some("ticket-purchase-confirmation".into()),
        locked_by: (status == "processing").then(|| "worker-2".to_string()),
        created_at: ago(created),
    };
    vec![
        j(1, "email.send", "pending", 5, 0, 3),
        j(2, "image.process", "processing", 3, 1, 20),
        j(3, "social.post", "retrying", 1, 2, 75),
        j(4, "email.send", "pending", 5, 0, 222),
        j(5, "social.post", "failed", 1, 3, 900),
        j(6, "broadcast.sms", "completed", 10, 1, 1_800),
    ]
}

pub fn patterns() -> Vec<ErrorPattern> {
    let p = |wfn: u128, name: &str, ty: &str, count: i64, first: i64, last: i64, ex: &[&str]| {
        ErrorPattern {
            workflow_id: Some(id(0x100 + wfn)),
            workflow_name: name.into(),
            error_type: ty.into(),
            count,
            first_seen: ago(first),
            last_seen: ago(last),
            examples: ex.iter().map(|s| s.to_string()).collect(),
        }
    };
    vec![
        p(
            3,
            "social-post-scheduler",
            "rate_limit",
            15,
            3_300,
            1_300,
            &[
                "429 Too Many Requests",
                "rate limit exceeded: retry after 900s",
            ],
        ),
        p(
            1,
            "ticket-purchase-confirmation",
            "timeout",
            6,
            2_900,
            95,
            &["SMTP timeout after 30s"],
        ),
        p(
            7,
            "vip-guest-sync",
            "authentication_failed",
            4,
            3_000,
            400,
            &["auth: token expired for CRM hubspot"],
        ),
        p(
            1,
            "ticket-purchase-confirmation",
            "network",
            3,
            2_000,
            700,
            &["connection reset by peer"],
        ),
        p(
            4,
            "model-rate-negotiation",
            "validation",
            1,
            1_500,
            1_500,
            &["proposed_rate missing"],
        ),
        p(
            4,
            "model-rate-negotiation",
            "quota_exceeded",
            1,
            900,
            900,
            &["OpenAI quota exceeded"],
        ),
    ]
}

pub fn events() -> Vec<EventCapacity> {
    let e = |n: u128, name: &str, venue: &str, start_h: i64, cap: i64, sold: i64, status: &str| {
        EventCapacity {
            id: id(0x500 + n),
            name: name.into(),
            venue_name: venue.into(),
            city: Some("Paris".into()),
            start_at: now() + Duration::hours(start_h),
            status: status.into(),
            capacity: cap,
            sold,
        }
    };
    vec![
        e(
            1,
            "Maison Lumière SS27",
            "Grand Palais",
            3,
            1_200,
            1_200,
            "active",
        ),
        e(
            2,
            "Atelier Noor Runway",
            "Palais de Tokyo",
            5,
            800,
            731,
            "published",
        ),
        e(
            3,
            "Emerging Designers Showcase",
            "Carreau du Temple",
            26,
            450,
            369,
            "published",
        ),
        e(
            4,
            "Press Preview: Vanta",
            "Hôtel de Crillon",
            28,
            120,
            41,
            "published",
        ),
        e(5, "Closing Gala", "Musée Rodin", 50, 10_000, 6_120, "draft"),
    ]
}

pub fn alerts() -> Vec<CapacityAlert> {
    vec![
        CapacityAlert {
            id: id(0x601),
            event_id: id(0x501),
            event_name: "Maison Lumière SS27".into(),
            threshold: 100,
            sold: 1_200,
            capacity: 1_200,
            created_at: ago(540),
            acknowledged_by: None,
        },
        CapacityAlert {
            id: id(0x602),
            event_id: id(0x502),
            event_name: "Atelier Noor Runway".into(),
            threshold: 90,
            sold: 722,
            capacity: 800,
            created_at: ago(1_900),
            acknowledged_by: None,
        },
    ]
}

pub fn recon_runs() -> Vec<ReconRun> {
    let r = |n: u128, day: u32, stripe, db, disc, status: &str, created: i64| ReconRun {
        id: id(0x700 + n),
        reconciliation_date: NaiveDate::from_ymd_opt(2026, 9, day),
        stripe_count: stripe,
        db_count: db,
        discrepancy_count: disc,
        status: status.into(),
        created_at: ago(created),
    };
    vec![
        r(1, 13, 4_212, 4_210, 3, "failed", 52_200),
        r(2, 12, 3_980, 3_980, 0, "success", 138_600),
        r(3, 11, 2_105, 2_104, 1, "failed", 225_000),
    ]
}

pub fn discrepancies() -> Vec<Discrepancy> {
    let d = |n: u128, kind: &str, sid: Option<&str>, dbid: Option<&str>, sa, da| Discrepancy {
        id: id(0x800 + n),
        run_id: id(0x701),
        kind: kind.into(),
        stripe_id: sid.map(String::from),
        db_id: dbid.map(String::from),
        stripe_amount: sa,
        db_amount: da,
        status: "open".into(),
        resolved_by: None,
        note: None,
        created_at: ago(52_200 - n as i64),
    };
    vec![
        d(
            1,
            "missing_in_db",
            Some("pi_3PzA1bLk"),
            None,
            Some(45_000),
            None,
        ),
        d(
            2,
            "amount_mismatch",
            Some("pi_3PzB7xQr"),
            Some("ord_8790"),
            Some(123_450),
            Some(120_000),
        ),
        d(
            3,
            "missing_in_stripe",
            None,
            Some("ord_8801"),
            None,
            Some(9_900),
        ),
    ]
}

pub fn approvals() -> Vec<Approval> {
    let a = |n: u128, prio: &str, created: i64, neg: Negotiation| Approval {
        id: id(0x900 + n),
        kind: "rate_negotiation".into(),
        data: json!({"model_id": "m_1", "note": "agency asks for a package deal"}),
        priority: prio.into(),
        requested_by: Some("model-rate-negotiation".into()),
        status: "pending".into(),
        decided_by: None,
        decided_at: None,
        decision_note: None,
        resume_url: Some("https://n8n.example.com/webhook-waiting/123".into()),
        execution_id: Some(id(0x202)),
        created_at: ago(created),
        expires_at: Some(ago(created) + Duration::hours(24)),
        resume_status: None,
        resume_error: None,
        negotiation: Some(neg),
    };
    let n = |model: &str, designer: &str, tier: &str, std, prop, shows| Negotiation {
        id: Uuid::nil(),
        model_name: model.into(),
        designer_name: designer.into(),
        designer_tier: tier.into(),
        standard_rate: std,
        proposed_rate: prop,
        show_count: shows,
        status: "pending".into(),
    };
    vec![
        a(
            1,
            "high",
            610,
            n(
                "Aiko Tanaka",
                "Maison Lumière",
                "luxury",
                500_000,
                420_000,
                2,
            ),
        ),
        a(
            2,
            "normal",
            3_700,
            n(
                "Lena Novak",
                "Atelier Noor",
                "established",
                250_000,
                180_000,
                4,
            ),
        ),
        a(
            3,
            "critical",
            7_300,
            n("Sade Okafor", "Vanta", "emerging", 120_000, 60_000, 6),
        ),
    ]
}

pub fn broadcasts() -> Vec<Broadcast> {
    vec![
        Broadcast {
            id: id(0xa01),
            level: "warning".into(),
            scope: "venue".into(),
            event_id: None,
            venue_name: Some("Grand Palais".into()),
            message: "Doors open 20 minutes late — queue at Gate B".into(),
            triggered_by: "maria@control-room".into(),
            status: "sent".into(),
            affected_count: 1_412,
            test: false,
            created_at: ago(2_400),
        },
        Broadcast {
            id: id(0xa02),
            level: "info".into(),
            scope: "event".into(),
            event_id: Some(id(0x502)),
            venue_name: None,
            message: "Drill: evacuation route test".into(),
            triggered_by: "ops@laptop".into(),
            status: "partially_failed".into(),
            affected_count: 96,
            test: true,
            created_at: ago(9_000),
        },
    ]
}

pub fn audit() -> Vec<OperatorAction> {
    let a = |n: u128,
             secs,
             who: &str,
             origin: &str,
             action: &str,
             tt: &str,
             tid: &str,
             outcome: &str,
             note: Option<&str>| OperatorAction {
        id: id(0xb00 + n),
        at: ago(secs),
        operator: who.into(),
        origin: Some(origin.into()),
        action: action.into(),
        target_type: tt.into(),
        target_id: Some(tid.into()),
        before: Some(json!({"status": "active"})),
        after: Some(json!({"status": "paused"})),
        note: note.map(String::from),
        outcome: outcome.into(),
    };
    vec![
        a(
            1,
            1_260,
            "maria@control-room",
            "10.0.4.12 (ssh)",
            "pause",
            "workflow",
            "social-post-scheduler",
            "ok",
            Some("Instagram API rate limit"),
        ),
        a(
            2,
            2_400,
            "maria@control-room",
            "10.0.4.12 (ssh)",
            "broadcast",
            "venue",
            "Grand Palais",
            "ok",
            None,
        ),
        a(
            3,
            3_100,
            "ops@laptop",
            "192.168.1.20 (ssh)",
            "retry",
            "job",
            "0000…0405",
            "conflict",
            Some("already retried by maria"),
        ),
    ]
}

pub fn overview() -> Overview {
    Overview {
        queue: depth(),
        runs_last_hour: vec![
            ("completed".into(), 512),
            ("failed".into(), 25),
            ("running".into(), 4),
            ("waiting".into(), 3),
        ],
        completed_last_hour: 556,
        failed_last_hour: 25,
        top_failing: vec![
            FailingWorkflow {
                workflow_id: id(0x103),
                name: "social-post-scheduler".into(),
                failures: 15,
            },
            FailingWorkflow {
                workflow_id: id(0x101),
                name: "ticket-purchase-confirmation".into(),
                failures: 6,
            },
            FailingWorkflow {
                workflow_id: id(0x107),
                name: "vip-guest-sync".into(),
                failures: 4,
            },
        ],
        capacity: events(),
        open_alerts: alerts(),
        open_discrepancies: vec![
            ("amount_mismatch".into(), 1),
            ("missing_in_db".into(), 2),
            ("missing_in_stripe".into(), 1),
        ],
        pending_approvals: 3,
        oldest_pending_approval_at: Some(ago(7_300)),
        last_broadcasts: broadcasts(),
        metrics: Some(Metrics {
            measured_at: ago(60),
            cpu_usage: Some(41.5),
            memory_usage: Some(63.0),
            queue_depth: Some(64),
        }),
        depth_history: vec![
            12, 14, 18, 22, 30, 41, 38, 35, 44, 52, 61, 58, 49, 55, 63, 70, 66, 64,
        ],
        workflows_paused: 1,
        runs_waiting: 3,
        window_minutes: 60.0,
    }
}

/// What the store would return for `req` on the fixture database (`empty`: a fresh database).
pub fn payload_for(
    req: &crate::domain::refresh::LoadReq,
    empty: bool,
) -> crate::domain::refresh::Payload {
    use crate::domain::refresh::{LoadKind, Payload, ViewId};
    fn e<T>(empty: bool, v: Vec<T>) -> Vec<T> {
        if empty { Vec::new() } else { v }
    }
    match (req.view, req.kind) {
        (ViewId::Overview, _) => Payload::Overview(Box::new(if empty {
            Overview::default()
        } else {
            overview()
        })),
        (ViewId::Workflows, _) => Payload::Workflows(e(empty, workflows())),
        (ViewId::Runs, LoadKind::Detail) => {
            let run = runs().into_iter().find(|r| Some(r.id) == req.id);
            Payload::RunDetail(run.map(Box::new), e(empty, steps()))
        }
        (ViewId::Runs, _) => Payload::Runs(e(empty, runs())),
        (ViewId::Queue, _) => Payload::Queue(
            Some(Box::new(if empty {
                QueueDepth::default()
            } else {
                depth()
            })),
            e(empty, jobs()),
        ),
        (ViewId::Errors, _) => Payload::Errors(e(empty, patterns())),
        (ViewId::Capacity, _) => Payload::Capacity(e(empty, events()), e(empty, alerts())),
        (ViewId::Reconciliation, LoadKind::Detail) => {
            Payload::Discrepancies(e(empty, discrepancies()))
        }
        (ViewId::Reconciliation, _) => Payload::Recon(e(empty, recon_runs())),
        (ViewId::Approvals, _) => Payload::Approvals(e(empty, approvals())),
        (ViewId::Audit, _) => Payload::Audit(e(empty, audit())),
    }
}
