//! Hostile rows for every table the views read: escape sequences (OSC title/clipboard/hyperlink,
//! CSI clear-screen and cursor-report requests, DCS/APC/PM/SOS strings, their 8-bit C1 forms,
//! alternate-screen and reset), BEL/CR/backspace, bidi and zero-width characters, emoji and CJK,
//! 1 MB messages, NULL in every nullable column and unknown status strings.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use opsdeck::api::Store;
use opsdeck::api::db::Val;
use opsdeck::sim::batch::Rows;
use serde_json::json;
use uuid::Uuid;

/// Text inside sequences that must vanish entirely (OSC/DCS/APC payloads): never on screen.
pub const MARKER: &str = "PWNED";

/// Hostile fragments. Visible text around them is harmless; the sequences must not survive.
pub const EVIL: &[&str] = &[
    "\u{1b}]0;PWNED title\u{7}osc-title",
    "\u{1b}[2J\u{1b}[Hclear",
    "\u{1b}[6nreport",
    "\u{1b}P+q544e;PWNED\u{1b}\\dcs",
    "bell\u{7}bs\u{8}\u{8}cr\rFAIL",
    "\u{9b}6n\u{9d}0;PWNED\u{9c}c1",
    "🎉 表示テスト 🧑\u{200d}🚀 ﷽ 한국어",
    "\u{1b}]52;c;PWNED=\u{7}clip",
    "\u{1b}]8;;http://PWNED.example/\u{1b}\\link\u{1b}]8;;\u{1b}\\",
    "\u{202e}rtl\u{200b}zw\u{feff}",
    "\u{1b}_PWNED apc\u{1b}\\\u{1b}^PWNED pm\u{1b}\\\u{1b}X PWNED sos\u{1b}\\",
    "\u{1b}[?1049l\u{1b}[?25lmodes",
    "\u{1b}creset\u{1b}(0lines",
    "soh\u{1}del\u{7f}tab\tlf\nx",
    "trail\u{1b}]0;PWNED",
];

/// Byte strings that must never reach the terminal from data (the console itself emits none of
/// them while running; `ESC[?1049l` is checked only before quitting).
/// (The payload text itself is checked apart: JSON shows an ESC as `\u001b`, inert.)
pub const RAW_FORBIDDEN: &[&[u8]] = &[
    b"\x1b]0;",
    b"\x1b]52;",
    b"\x1b]8;",
    b"\x1b[6n",
    b"\x1b[2J\x1b[H",
    b"\x1bP",
    b"\x1b_",
    b"\x1b^",
    b"\x1bX",
    b"\x1bc",
    b"\x1b(0",
    b"\x1b[?1049l",
    b"\xc2\x9b",
    b"\xc2\x9d",
    b"\xc2\x90",
    b"\x07",
    b"\x08",
    b"\x00",
];

pub fn evil(i: usize) -> String {
    format!("{}#{i}", EVIL[i % EVIL.len()])
}

/// A 1 MB message: hostile sequences repeated, newlines included.
pub fn huge() -> String {
    let mut s = String::with_capacity(1 << 20);
    let mut i = 0;
    while s.len() < (1 << 20) {
        s.push_str(&evil(i));
        s.push('\n');
        i += 1;
    }
    s
}

pub fn status(i: usize, known: &[&str]) -> String {
    match i % 7 {
        5 => "\u{1b}[5mzombie\u{1b}]0;PWNED\u{7}".into(),
        6 => "状態🤖".into(),
        _ => known[i % known.len()].into(),
    }
}

fn ev_json(i: usize) -> serde_json::Value {
    json!({ evil(i): evil(i + 1), "nested": [evil(i + 2), {"k": evil(i + 3)}], "n": i })
}

pub struct Filled {
    pub rows: usize,
    pub newest_run: Uuid,
}

/// Fills every table the views read with ~10,000 hostile rows around `now`.
pub async fn fill(store: &Store, now: DateTime<Utc>) -> Filled {
    let mut tx = store.db.begin().await.expect("begin");
    let mut total = 0usize;
    let ts = |secs: i64| Val::Ts(now - Duration::seconds(secs));
    let ots = |secs: i64| Val::OptTs(Some(now - Duration::seconds(secs)));
    let big = huge();

    // workflows: 40, the last 5 with NULL in every nullable column
    let mut wfs = Vec::new();
    let mut w = Rows::new(
        "workflows",
        &[
            "id",
            "name",
            "description",
            "trigger_type",
            "status",
            "n8n_workflow_id",
            "paused_by",
            "paused_at",
            "pause_reason",
            "next_execution_at",
        ],
    );
    let mut wmin = Rows::new("workflows", &["id", "name"]);
    for i in 0..40 {
        let id = Uuid::new_v4();
        wfs.push(id);
        if i >= 35 {
            wmin.push(vec![Val::Uuid(id), Val::Text(evil(i))]);
            continue;
        }
        w.push(vec![
            Val::Uuid(id),
            Val::Text(evil(i)),
            Val::Text(if i == 0 { big.clone() } else { evil(i + 1) }),
            Val::Text(evil(i + 2)),
            Val::Text(status(i, &["active", "paused", "disabled"])),
            Val::Text(evil(i + 3)),
            Val::Text(evil(i + 4)),
            ots(60),
            Val::Text(evil(i + 5)),
            ots(-600),
        ]);
    }
    total += w.insert(&mut tx).await.expect("workflows") as usize;
    total += wmin.insert(&mut tx).await.expect("workflows min") as usize;

    // events: 20 (5 minimal)
    let mut evs = Vec::new();
    let mut e = Rows::new(
        "events",
        &[
            "id",
            "name",
            "venue_name",
            "city",
            "start_at",
            "end_at",
            "capacity",
            "status",
            "tickets_sold",
        ],
    );
    let mut emin = Rows::new(
        "events",
        &["id", "name", "venue_name", "start_at", "capacity"],
    );
    for i in 0..20 {
        let id = Uuid::new_v4();
        evs.push(id);
        if i >= 15 {
            emin.push(vec![
                Val::Uuid(id),
                Val::Text(evil(i)),
                Val::Text(evil(i + 1)),
                ts(-3600 * i as i64),
                Val::I64(if i == 19 { 0 } else { 100 }),
            ]);
            continue;
        }
        e.push(vec![
            Val::Uuid(id),
            Val::Text(evil(i)),
            Val::Text(evil(i + 1)),
            Val::Text(evil(i + 2)),
            ts(-3600 * i as i64),
            ots(-3600 * (i as i64 + 3)),
            Val::I64(100 + i as i64),
            Val::Text(status(i, &["published", "sold_out", "cancelled"])),
            Val::I64(if i == 3 { 1_000_000 } else { 90 + i as i64 }),
        ]);
    }
    total += e.insert(&mut tx).await.expect("events") as usize;
    total += emin.insert(&mut tx).await.expect("events min") as usize;

    // runs: 3,000 over the last ~8 h; every 10th minimal (NULLs); a few 1 MB errors
    let mut runs = Vec::new();
    let mut r = Rows::new(
        "workflow_executions",
        &[
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
            "n8n_execution_id",
        ],
    );
    let mut rmin = Rows::new(
        "workflow_executions",
        &["id", "workflow_id", "status", "started_at"],
    );
    for i in 0..3000usize {
        let id = Uuid::new_v4();
        runs.push(id);
        let started = 5 + i as i64 * 10;
        if i % 10 == 9 {
            rmin.push(vec![
                Val::Uuid(id),
                Val::Uuid(wfs[i % wfs.len()]),
                Val::Text(status(i, &["running", "waiting"])),
                ts(started),
            ]);
            continue;
        }
        r.push(vec![
            Val::Uuid(id),
            Val::Uuid(wfs[i % wfs.len()]),
            Val::Text(status(i, &["completed", "failed", "running", "waiting"])),
            ts(started),
            ots(started - 3),
            Val::OptI64(Some(if i == 1 {
                i64::MAX
            } else {
                (i as i64 * 37) % 9000
            })),
            Val::OptUuid(Some(evs[i % evs.len()])),
            Val::I64(if i == 2 { -5 } else { 8 }),
            Val::I64(if i == 2 { 99 } else { 3 }),
            Val::Text(evil(i)),
            Val::Text(if i < 3 { big.clone() } else { evil(i + 1) }),
            Val::Json(ev_json(i)),
            Val::Text(evil(i + 2)),
        ]);
    }
    total += r.insert(&mut tx).await.expect("runs") as usize;
    total += rmin.insert(&mut tx).await.expect("runs min") as usize;

    // step logs: 5 for each of the 300 newest runs
    let mut s = Rows::new(
        "workflow_step_logs",
        &[
            "id",
            "execution_id",
            "step_index",
            "step_name",
            "status",
            "input",
            "output",
            "error_message",
            "duration_ms",
            "created_at",
        ],
    );
    let mut smin = Rows::new(
        "workflow_step_logs",
        &["id", "execution_id", "step_index", "step_name", "status"],
    );
    for (ri, run) in runs.iter().take(300).enumerate() {
        for k in 0..5usize {
            let i = ri * 5 + k;
            if k == 4 {
                smin.push(vec![
                    Val::Uuid(Uuid::new_v4()),
                    Val::Uuid(*run),
                    Val::I64(k as i64),
                    Val::Text(evil(i)),
                    Val::Text(status(i, &["failed"])),
                ]);
                continue;
            }
            s.push(vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(*run),
                Val::I64(k as i64),
                Val::Text(evil(i)),
                Val::Text(status(i, &["completed", "failed", "skipped"])),
                Val::Json(ev_json(i)),
                Val::Json(if i == 0 {
                    json!({ "blob": big })
                } else {
                    ev_json(i + 1)
                }),
                Val::Text(if i == 1 { big.clone() } else { evil(i + 2) }),
                Val::OptI64(Some(i as i64)),
                ts(ri as i64 * 10 + k as i64),
            ]);
        }
    }
    total += s.insert(&mut tx).await.expect("steps") as usize;
    total += smin.insert(&mut tx).await.expect("steps min") as usize;

    // errors: 1,500 (every 10th with NULL workflow, execution and message)
    let mut x = Rows::new(
        "workflow_errors",
        &[
            "id",
            "workflow_id",
            "execution_id",
            "error_type",
            "error_message",
            "created_at",
        ],
    );
    let mut xmin = Rows::new("workflow_errors", &["id", "error_type", "created_at"]);
    for i in 0..1500usize {
        if i % 10 == 9 {
            xmin.push(vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Text(evil(i)),
                ts(i as i64 * 7),
            ]);
            continue;
        }
        x.push(vec![
            Val::Uuid(Uuid::new_v4()),
            Val::Uuid(wfs[i % wfs.len()]),
            Val::Uuid(runs[i % runs.len()]),
            Val::Text(evil(i % 30)),
            Val::Text(if i < 2 { big.clone() } else { evil(i + 1) }),
            ts(i as i64 * 7),
        ]);
    }
    total += x.insert(&mut tx).await.expect("errors") as usize;
    total += xmin.insert(&mut tx).await.expect("errors min") as usize;

    // jobs: 2,000
    let mut j = Rows::new(
        "job_queue",
        &[
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
        ],
    );
    let mut jmin = Rows::new("job_queue", &["id", "job_type", "status", "created_at"]);
    for i in 0..2000usize {
        if i % 10 == 9 {
            jmin.push(vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Text(evil(i)),
                Val::Text(status(i, &["pending", "failed"])),
                ts(i as i64 * 5),
            ]);
            continue;
        }
        j.push(vec![
            Val::Uuid(Uuid::new_v4()),
            Val::Text(evil(i % 20)),
            Val::Json(if i == 0 {
                json!({ "blob": big })
            } else {
                ev_json(i)
            }),
            Val::Text(status(
                i,
                &["pending", "retrying", "processing", "failed", "completed"],
            )),
            Val::I64(if i == 3 {
                i64::from(i32::MAX)
            } else {
                i as i64 % 5
            }),
            Val::I64(i as i64 % 4),
            Val::I64(3),
            ts(i as i64 * 5 - 60),
            ots(i as i64 * 5),
            ots(i as i64 * 5 - 2),
            Val::Text(if i == 1 { big.clone() } else { evil(i + 1) }),
            Val::OptUuid(Some(wfs[i % wfs.len()])),
            Val::Text(evil(i + 2)),
            ts(i as i64 * 5),
        ]);
    }
    total += j.insert(&mut tx).await.expect("jobs") as usize;
    total += jmin.insert(&mut tx).await.expect("jobs min") as usize;

    total += fill_rest(&mut tx, now, &evs, &runs, &big).await;
    tx.commit().await.expect("commit");
    if store.backend() == opsdeck::api::db::Backend::Sqlite {
        // Postgres text cannot hold NUL; SQLite can
        for (table, col) in [
            ("workflows", "description"),
            ("workflow_executions", "error_message"),
            ("workflow_errors", "error_message"),
            ("job_queue", "error_message"),
            ("operator_actions", "note"),
        ] {
            store
                .db
                .execute(
                    &format!("UPDATE {table} SET {col} = 'nul' || char(0) || '\u{1b}]0;PWNED' || char(7) || 'x' WHERE rowid % 3 = 0"),
                    &[],
                )
                .await
                .expect("nul");
        }
    }
    Filled {
        rows: total,
        newest_run: runs[0],
    }
}

async fn fill_rest(
    tx: &mut opsdeck::api::db::Tx,
    now: DateTime<Utc>,
    evs: &[Uuid],
    runs: &[Uuid],
    big: &str,
) -> usize {
    let ts = |secs: i64| Val::Ts(now - Duration::seconds(secs));
    let ots = |secs: i64| Val::OptTs(Some(now - Duration::seconds(secs)));
    let mut total = 0usize;

    // capacity alerts: two per event, half acknowledged
    let mut a = Rows::new(
        "capacity_alerts",
        &[
            "id",
            "event_id",
            "threshold",
            "sold",
            "capacity",
            "created_at",
            "acknowledged_by",
            "acknowledged_at",
        ],
    );
    for (i, ev) in evs.iter().enumerate() {
        for (k, th) in [80i64, 90].iter().enumerate() {
            let ack = (i + k) % 2 == 0;
            a.push(vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(*ev),
                Val::I64(*th),
                Val::I64(if i == 1 { -7 } else { 95 }),
                Val::I64(if i == 2 { 0 } else { 100 }),
                ts(i as i64 * 60 + k as i64),
                Val::OptText(ack.then(|| evil(i))),
                Val::OptTs(ack.then(|| now - Duration::seconds(5))),
            ]);
        }
    }
    total += a.insert(tx).await.expect("alerts") as usize;

    // approvals: 400 (every 10th minimal), 200 with a rate negotiation
    let mut ap = Rows::new(
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
            "resume_url",
            "execution_id",
            "created_at",
            "expires_at",
        ],
    );
    let mut apmin = Rows::new("approval_requests", &["id", "type", "created_at"]);
    let mut neg = Rows::new(
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
        ],
    );
    for i in 0..400usize {
        let id = Uuid::new_v4();
        if i % 10 == 9 {
            apmin.push(vec![Val::Uuid(id), Val::Text(evil(i)), ts(i as i64 * 11)]);
            continue;
        }
        ap.push(vec![
            Val::Uuid(id),
            Val::Text(if i % 3 == 0 {
                "rate_negotiation".into()
            } else {
                evil(i)
            }),
            Val::Json(if i == 0 {
                json!({ "blob": big })
            } else {
                ev_json(i)
            }),
            Val::Text(status(i, &["urgent", "high", "normal", "low"])),
            Val::Text(evil(i + 1)),
            Val::Text(status(i, &["pending", "approved", "rejected", "expired"])),
            Val::Text(evil(i + 2)),
            ots(i as i64 * 3),
            Val::Text(if i == 1 { big.to_string() } else { evil(i + 3) }),
            Val::Text(evil(i + 4)),
            Val::OptUuid(Some(runs[i % runs.len()])),
            ts(i as i64 * 11),
            ots(-(i as i64) * 60),
        ]);
        if i % 2 == 0 {
            neg.push(vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(id),
                Val::Text(evil(i)),
                Val::Text(evil(i + 1)),
                Val::Text(evil(i + 2)),
                Val::Text(evil(i + 3)),
                Val::Text(status(i, &["A", "B", "C"])),
                Val::I64(if i == 2 { i64::MAX } else { 150_000 }),
                Val::I64(if i == 4 { i64::MIN } else { 120_000 }),
                Val::I64(i as i64 % 9),
                Val::Text(status(i, &["pending", "accepted"])),
            ]);
        }
    }
    total += ap.insert(tx).await.expect("approvals") as usize;
    total += apmin.insert(tx).await.expect("approvals min") as usize;
    total += neg.insert(tx).await.expect("negotiations") as usize;

    // reconciliation: 100 runs, 600 discrepancies
    let mut rr = Rows::new(
        "reconciliation_runs",
        &[
            "id",
            "reconciliation_date",
            "stripe_count",
            "db_count",
            "discrepancy_count",
            "status",
            "created_at",
        ],
    );
    let mut rids = Vec::new();
    for i in 0..100usize {
        let id = Uuid::new_v4();
        rids.push(id);
        rr.push(vec![
            Val::Uuid(id),
            Val::Date((now - Duration::days(i as i64)).date_naive()),
            Val::I64(1000 + i as i64),
            Val::I64(if i == 1 { -1 } else { 990 }),
            Val::I64(6),
            Val::Text(status(i, &["success", "discrepancies", "failed"])),
            ts(i as i64 * 86_400),
        ]);
    }
    total += rr.insert(tx).await.expect("recon runs") as usize;
    let mut d = Rows::new(
        "reconciliation_discrepancies",
        &[
            "id",
            "run_id",
            "kind",
            "stripe_id",
            "db_id",
            "stripe_amount",
            "db_amount",
            "status",
            "resolved_by",
            "resolved_at",
            "note",
            "created_at",
        ],
    );
    let mut dmin = Rows::new(
        "reconciliation_discrepancies",
        &["id", "run_id", "kind", "created_at"],
    );
    for i in 0..600usize {
        if i % 10 == 9 {
            dmin.push(vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(rids[i % 6]),
                Val::Text(evil(i)),
                ts(i as i64 * 13),
            ]);
            continue;
        }
        d.push(vec![
            Val::Uuid(Uuid::new_v4()),
            Val::Uuid(rids[i % 6]),
            Val::Text(status(
                i,
                &["missing_in_db", "missing_in_stripe", "amount_mismatch"],
            )),
            Val::Text(evil(i)),
            Val::Text(evil(i + 1)),
            Val::OptI64(Some(if i == 0 { i64::MAX } else { 1299 })),
            Val::OptI64(Some(if i == 0 { i64::MIN } else { 1300 })),
            Val::Text(status(i, &["open", "resolved", "ignored"])),
            Val::Text(evil(i + 2)),
            ots(i as i64),
            Val::Text(if i == 1 { big.to_string() } else { evil(i + 3) }),
            ts(i as i64 * 13),
        ]);
    }
    total += d.insert(tx).await.expect("discrepancies") as usize;
    total += dmin.insert(tx).await.expect("discrepancies min") as usize;

    // broadcasts: 100
    let mut b = Rows::new(
        "emergency_broadcasts",
        &[
            "id",
            "idempotency_key",
            "level",
            "scope",
            "event_id",
            "venue_name",
            "message",
            "triggered_by",
            "status",
            "affected_count",
            "test",
            "created_at",
            "completed_at",
        ],
    );
    for i in 0..100usize {
        let full = i % 10 != 9;
        b.push(vec![
            Val::Uuid(Uuid::new_v4()),
            Val::Text(format!("k{i}")),
            Val::Text(status(i, &["info", "warning", "critical"])),
            Val::Text(status(i, &["event", "venue", "all"])),
            Val::OptUuid(full.then(|| evs[i % evs.len()])),
            Val::OptText(full.then(|| evil(i))),
            Val::Text(if i == 0 { big.to_string() } else { evil(i + 1) }),
            Val::Text(evil(i + 2)),
            Val::Text(status(i, &["queued", "sending", "completed"])),
            Val::I64(if i == 1 { i64::from(i32::MAX) } else { 12 }),
            Val::Bool(i % 2 == 0),
            ts(i as i64 * 60),
            Val::OptTs(full.then(|| now - Duration::seconds(i as i64 * 60 - 5))),
        ]);
    }
    total += b.insert(tx).await.expect("broadcasts") as usize;

    // metrics: 100, every 4th all NULL
    // (one row per statement: F64 and NULL binds would clash in Postgres' cached types)
    for i in 0..100usize {
        let null = i % 4 == 3;
        let sql = if null {
            "INSERT INTO system_metrics (measured_at, queue_depth) VALUES ($1, $2)"
        } else {
            "INSERT INTO system_metrics (measured_at, cpu_usage, memory_usage, queue_depth) VALUES ($1, $2, $3, $4)"
        };
        let mut args = vec![ts(i as i64 * 30)];
        if !null {
            args.push(Val::F64(if i == 0 { f64::MAX } else { 55.5 }));
            args.push(Val::F64(-1.0));
        }
        args.push(Val::OptI64((!null).then_some(if i == 1 {
            i64::from(i32::MAX)
        } else {
            40
        })));
        total += tx.execute(sql, &args).await.expect("metrics") as usize;
    }

    // operator actions: 500
    let mut o = Rows::new(
        "operator_actions",
        &[
            "id",
            "at",
            "operator",
            "origin",
            "action",
            "target_type",
            "target_id",
            "before",
            "after",
            "note",
            "outcome",
        ],
    );
    let mut omin = Rows::new(
        "operator_actions",
        &["id", "at", "operator", "action", "target_type", "outcome"],
    );
    for i in 0..500usize {
        if i % 10 == 9 {
            omin.push(vec![
                Val::Uuid(Uuid::new_v4()),
                ts(i as i64 * 17),
                Val::Text(evil(i)),
                Val::Text(evil(i + 1)),
                Val::Text(evil(i + 2)),
                Val::Text(status(i, &["ok"])),
            ]);
            continue;
        }
        o.push(vec![
            Val::Uuid(Uuid::new_v4()),
            ts(i as i64 * 17),
            Val::Text(evil(i)),
            Val::Text(evil(i + 1)),
            Val::Text(status(
                i,
                &["job.retry", "workflow.pause", "approval.approve"],
            )),
            Val::Text(evil(i + 2)),
            Val::Text(evil(i + 3)),
            Val::Json(ev_json(i)),
            Val::Json(if i == 0 {
                json!({ "blob": big })
            } else {
                ev_json(i + 1)
            }),
            Val::Text(if i == 1 { big.to_string() } else { evil(i + 4) }),
            Val::Text(status(i, &["ok", "conflict", "error"])),
        ]);
    }
    total += o.insert(tx).await.expect("actions") as usize;
    total += omin.insert(tx).await.expect("actions min") as usize;
    total
}
