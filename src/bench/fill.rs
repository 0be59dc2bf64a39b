//! Set-based fill of a fresh Postgres database for `opsdeck bench refresh`: everything is
//! `INSERT … SELECT … FROM generate_series(…)`, so a million runs take seconds, not hours.

use anyhow::{Context, Result, bail};

use crate::api::Store;
use crate::api::db::Val;
use crate::domain::model::Ts;

use super::Shape;

/// The contract tables, children first (TRUNCATE order does not matter with CASCADE).
pub const TABLES: &[&str] = &[
    "workflow_step_logs",
    "workflow_errors",
    "broadcast_deliveries",
    "emergency_broadcasts",
    "event_attendees",
    "event_models",
    "event_staff",
    "people",
    "rate_negotiations",
    "approval_requests",
    "reconciliation_discrepancies",
    "reconciliation_runs",
    "capacity_alerts",
    "tickets",
    "job_queue",
    "workflow_executions",
    "events",
    "workflows",
    "system_metrics",
    "operator_actions",
];

/// Rows already in the contract tables (0 on a fresh database).
pub async fn existing_rows(store: &Store) -> Result<i64> {
    let mut n = 0;
    for t in TABLES {
        n += store
            .db
            .fetch_one(
                &format!("SELECT count(*) AS n FROM (SELECT 1 FROM {t} LIMIT 1) x"),
                &[],
            )
            .await?
            .n("n");
    }
    Ok(n)
}

pub async fn truncate(store: &Store) -> Result<()> {
    store
        .db
        .execute(&format!("TRUNCATE {} CASCADE", TABLES.join(", ")), &[])
        .await?;
    if has_run_minutes(store).await? {
        store.db.execute("TRUNCATE run_minutes", &[]).await?;
    }
    for t in ["job_minutes", "run_totals"] {
        if has_table(store, t).await? {
            store.db.execute(&format!("TRUNCATE {t}"), &[]).await?;
        }
    }
    Ok(())
}

async fn has_run_minutes(store: &Store) -> Result<bool> {
    has_table(store, "run_minutes").await
}

async fn has_table(store: &Store, table: &str) -> Result<bool> {
    Ok(store
        .db
        .fetch_one(
            "SELECT to_regclass($1) IS NOT NULL AS x",
            &[Val::Text(table.into())],
        )
        .await?
        .bool("x")
        .unwrap_or(false))
}

/// The completed-jobs rollup (migration 0006), rebuilt from the filled rows.
async fn rebuild_job_minutes(store: &Store) -> Result<()> {
    let db = &store.db;
    db.execute("DELETE FROM job_minutes", &[]).await?;
    db.execute(
        "INSERT INTO job_minutes SELECT date_trunc('minute', completed_at), 0, count(*) \
         FROM job_queue WHERE status = 'completed' AND completed_at IS NOT NULL GROUP BY 1",
        &[],
    )
    .await?;
    Ok(())
}

async fn rebuild_run_minutes(store: &Store) -> Result<()> {
    let db = &store.db;
    db.execute("DELETE FROM run_minutes", &[]).await?;
    db.execute(
        "INSERT INTO run_minutes SELECT 'started', date_trunc('minute', started_at), workflow_id, \
         status, count(*) FROM workflow_executions GROUP BY 2, 3, 4",
        &[],
    )
    .await?;
    db.execute(
        "INSERT INTO run_minutes SELECT 'finished', date_trunc('minute', completed_at), workflow_id, \
         status, count(*) FROM workflow_executions WHERE completed_at IS NOT NULL GROUP BY 2, 3, 4",
        &[],
    )
    .await?;
    // a live rollup is written minute after minute, so a window's buckets sit on a few pages;
    // the rebuild's GROUP BY scatters them: put them back in key order
    db.execute("CLUSTER run_minutes USING run_minutes_pkey", &[])
        .await?;
    // the all-workflows totals (migration 0008), from the per-workflow buckets
    if has_table(store, "run_totals").await? {
        db.execute("DELETE FROM run_totals", &[]).await?;
        db.execute(
            "INSERT INTO run_totals SELECT kind, minute, status, 0, sum(n) FROM run_minutes \
             GROUP BY kind, minute, status",
            &[],
        )
        .await?;
    }
    Ok(())
}

/// What was inserted, per table.
pub type Filled = Vec<(&'static str, u64)>;

/// Fills the database with `n` runs (and the rest, see the module docs of `bench`).
pub async fn fill(store: &Store, n: i64, shape: Shape, now: Ts) -> Result<Filled> {
    if store.backend() != crate::api::db::Backend::Postgres {
        bail!("bench refresh fills Postgres only (set-based generate_series inserts)");
    }
    let span_s: i64 = match shape {
        Shape::Season => 30 * 86_400,
        Shape::Burst => 86_400,
    };
    let steps_per_run = 2;
    let tickets_per_event = (n / 4 / 50).max(1);
    let db = &store.db;
    let mut out: Filled = Vec::new();
    // no NOTIFY storm and no per-row tickets_sold updates while filling: triggers off, totals
    // recomputed once at the end
    for t in TABLES {
        db.execute(&format!("ALTER TABLE {t} DISABLE TRIGGER USER"), &[])
            .await?;
    }
    let args = |extra: Vec<Val>| {
        let mut v = vec![Val::I64(n), Val::Ts(now), Val::I64(span_s)];
        v.extend(extra);
        v
    };
    let steps: &[(&'static str, String)] = &[
        (
            "workflows",
            "INSERT INTO workflows (name, description, trigger_type, status, created_at, updated_at) \
             SELECT 'bench-workflow-' || lpad(g::text, 2, '0'), 'benchmark workflow', \
             CASE WHEN g % 3 = 0 THEN 'cron' ELSE 'webhook' END, \
             CASE WHEN g % 13 = 0 THEN 'paused' ELSE 'active' END, $2, $2 \
             FROM generate_series(1, 40 + 0 * $1 + 0 * $3) g"
                .into(),
        ),
        (
            "events",
            format!(
                "INSERT INTO events (name, venue_name, city, start_at, end_at, capacity, status) \
                 SELECT 'Bench Show ' || g, 'Hall ' || (g % 7), 'Paris', \
                 $2 + (g - 10) * interval '1 day', $2 + (g - 10) * interval '1 day' + interval '3 hours', \
                 {cap} + g * 10, 'published' \
                 FROM generate_series(1, 50 + 0 * $1 + 0 * $3) g",
                cap = tickets_per_event * 11 / 10 + 10
            ),
        ),
        // runs: ~10 % failed, open states only in the last 10 minutes
        (
            "workflow_executions",
            "INSERT INTO workflow_executions (workflow_id, status, started_at, completed_at, \
               duration_ms, event_id, steps_total, steps_completed, updated_at) \
             SELECT w.ids[1 + g % 40], s.status, s.t, \
               CASE WHEN s.status IN ('completed', 'failed') THEN s.t + s.d * interval '1 millisecond' END, \
               CASE WHEN s.status IN ('completed', 'failed') THEN s.d END, \
               ev.ids[1 + g % 50], 5, CASE WHEN s.status = 'completed' THEN 5 ELSE 2 END, \
               s.t + s.d * interval '1 millisecond' \
             FROM (SELECT array_agg(id ORDER BY name) AS ids FROM workflows) w, \
                  (SELECT array_agg(id ORDER BY name) AS ids FROM events) ev, \
                  LATERAL (SELECT g, t, d, \
                     CASE WHEN t > $2 - interval '10 minutes' AND g % 7 = 0 THEN 'running' \
                          WHEN t > $2 - interval '10 minutes' AND g % 11 = 0 THEN 'waiting' \
                          WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END AS status \
                     FROM (SELECT g, $2 - (random() * $3) * interval '1 second' AS t, \
                            (50 + random() * random() * 20000)::bigint AS d \
                           FROM generate_series(1, $1) g) r) s"
                .into(),
        ),
        (
            "workflow_step_logs",
            format!(
                "INSERT INTO workflow_step_logs (execution_id, step_index, step_name, status, \
                   input, output, duration_ms, created_at) \
                 SELECT e.id, k, 'step-' || k, CASE WHEN e.status = 'failed' AND k = {steps_per_run} THEN 'failed' ELSE 'completed' END, \
                   '{{\"k\": 1}}'::jsonb, '{{\"ok\": true}}'::jsonb, 10 * k, e.started_at + k * interval '1 millisecond' \
                 FROM workflow_executions e, generate_series(1, {steps_per_run}) k \
                 WHERE 0 * $1 + 0 * $3 = 0 AND $2 IS NOT NULL"
            ),
        ),
        (
            "workflow_errors",
            "INSERT INTO workflow_errors (workflow_id, execution_id, error_type, error_message, created_at) \
             SELECT e.workflow_id, e.id, (ARRAY['timeout', 'http_5xx', 'validation', 'rate_limit'])[1 + (abs(hashtext(e.id::text)) % 4)], \
               'bench failure #' || (abs(hashtext(e.id::text)) % 37), e.completed_at \
             FROM workflow_executions e WHERE e.status = 'failed' AND 0 * $1 + 0 * $3 = 0 AND $2 IS NOT NULL \
             LIMIT $1 / 10"
                .into(),
        ),
        (
            "job_queue",
            "INSERT INTO job_queue (job_type, payload, status, priority, attempts, scheduled_for, \
               started_at, completed_at, workflow_id, created_at, updated_at) \
             SELECT (ARRAY['email.send', 'sms.send', 'image.process', 'crm.sync', 'pdf.render'])[1 + g % 5], \
               '{}'::jsonb, s.status, g % 3, CASE WHEN s.status = 'completed' THEN 1 ELSE 0 END, s.t, \
               CASE WHEN s.status <> 'pending' THEN s.t END, \
               CASE WHEN s.status = 'completed' THEN s.t + interval '2 seconds' END, \
               w.ids[1 + g % 40], s.t, s.t \
             FROM (SELECT array_agg(id ORDER BY name) AS ids FROM workflows) w, \
                  LATERAL (SELECT g, t, CASE WHEN t > $2 - interval '5 minutes' AND g % 5 = 0 THEN 'pending' \
                     WHEN t > $2 - interval '5 minutes' AND g % 17 = 0 THEN 'processing' \
                     WHEN g % 501 = 0 THEN 'failed' ELSE 'completed' END AS status \
                   FROM (SELECT g, $2 - (random() * $3) * interval '1 second' AS t \
                         FROM generate_series(1, $1) g) r) s"
                .into(),
        ),
        (
            "tickets",
            format!(
                "INSERT INTO tickets (event_id, tier, status, sold_at) \
                 SELECT ev.id, CASE WHEN g % 10 = 0 THEN 'vip' ELSE 'general' END, \
                   CASE WHEN g % 50 = 0 THEN 'refunded' ELSE 'sold' END, $2 - (random() * $3) * interval '1 second' \
                 FROM events ev, generate_series(1, {tickets_per_event} + 0 * $1) g"
            ),
        ),
        (
            "capacity_alerts",
            "INSERT INTO capacity_alerts (event_id, threshold, sold, capacity, created_at) \
             SELECT ev.id, th, ev.capacity * th / 100, ev.capacity, $2 - (random() * $3) * interval '1 second' \
             FROM events ev, unnest(ARRAY[80, 90]) th WHERE 0 * $1 = 0"
                .into(),
        ),
        (
            "approval_requests",
            "INSERT INTO approval_requests (type, data, priority, requested_by, status, created_at, expires_at) \
             SELECT 'rate_negotiation', jsonb_build_object('model', 'Model ' || g), \
               (ARRAY['low', 'normal', 'high', 'critical'])[1 + g % 4], 'bench', \
               CASE WHEN g <= 20 THEN 'pending' ELSE 'approved' END, t, t + interval '2 days' \
             FROM (SELECT g, $2 - (random() * $3) * interval '1 second' AS t \
                   FROM generate_series(1, greatest($1 / 100, 20)) g) r"
                .into(),
        ),
        (
            "rate_negotiations",
            "INSERT INTO rate_negotiations (approval_request_id, model_name, designer_name, \
               designer_tier, standard_rate, proposed_rate, show_count, status, created_at) \
             SELECT a.id, 'Model', 'Designer', 'emerging', 150000, 120000, 2, 'pending', a.created_at \
             FROM approval_requests a WHERE 0 * $1 + 0 * $3 = 0 AND $2 IS NOT NULL"
                .into(),
        ),
        (
            "reconciliation_runs",
            "INSERT INTO reconciliation_runs (reconciliation_date, stripe_count, db_count, \
               discrepancy_count, status, created_at) \
             SELECT ($2 - g * interval '1 day')::date, 1000, 990, 10, 'discrepancies', $2 - g * interval '1 day' \
             FROM generate_series(0, greatest($3 / 86400, 1) - 1 + 0 * $1) g"
                .into(),
        ),
        (
            "reconciliation_discrepancies",
            "INSERT INTO reconciliation_discrepancies (run_id, kind, stripe_id, db_id, stripe_amount, \
               db_amount, status, created_at) \
             SELECT r.ids[1 + g % cardinality(r.ids)], \
               (ARRAY['missing_in_db', 'missing_in_stripe', 'amount_mismatch'])[1 + g % 3], \
               'pi_' || g, 'tk_' || g, 1299, 1300, CASE WHEN g % 10 = 0 THEN 'open' ELSE 'resolved' END, \
               $2 - (random() * $3) * interval '1 second' \
             FROM (SELECT array_agg(id) AS ids FROM reconciliation_runs) r, \
                  generate_series(1, greatest($1 / 100, 10)) g"
                .into(),
        ),
        (
            "emergency_broadcasts",
            "INSERT INTO emergency_broadcasts (idempotency_key, level, scope, message, triggered_by, \
               status, affected_count, test, created_at, completed_at) \
             SELECT 'bench-' || g, 'info', 'all', 'bench broadcast ' || g, 'bench', 'completed', 100, true, t, t \
             FROM (SELECT g, $2 - (random() * $3) * interval '1 second' AS t \
                   FROM generate_series(1, 20 + 0 * $1) g) r"
                .into(),
        ),
        (
            "system_metrics",
            "INSERT INTO system_metrics (measured_at, cpu_usage, memory_usage, queue_depth) \
             SELECT $2 - g * interval '1 minute', 20 + random() * 50, 40 + random() * 30, (random() * 100)::int \
             FROM generate_series(0, $3 / 60 - 1 + 0 * $1) g"
                .into(),
        ),
        (
            "operator_actions",
            "INSERT INTO operator_actions (at, operator, origin, action, target_type, target_id, outcome) \
             SELECT $2 - (random() * $3) * interval '1 second', 'bench', 'cli', 'job.retry', 'job', g::text, 'ok' \
             FROM generate_series(1, greatest($1 / 1000, 10)) g"
                .into(),
        ),
    ];
    let res: Result<()> = async {
        for (table, sql) in steps {
            let started = std::time::Instant::now();
            let k = db
                .execute(sql, &args(Vec::new()))
                .await
                .with_context(|| format!("filling {table}"))?;
            eprintln!("  {table:<30} {k:>10} rows  {:>7.1} s", started.elapsed().as_secs_f64());
            out.push((table, k));
        }
        db.execute(
            "UPDATE events ev SET tickets_sold = t.n FROM (SELECT event_id, count(*) AS n FROM tickets \
             WHERE status = 'sold' GROUP BY event_id) t WHERE t.event_id = ev.id",
            &[],
        )
        .await?;
        // rollups kept by triggers (migration 0005) are rebuilt once from the filled rows
        if has_run_minutes(store).await? {
            rebuild_run_minutes(store).await?;
        }
        if has_table(store, "job_minutes").await? {
            rebuild_job_minutes(store).await?;
        }
        Ok(())
    }
    .await;
    for t in TABLES {
        db.execute(&format!("ALTER TABLE {t} ENABLE TRIGGER USER"), &[])
            .await?;
    }
    res?;
    // VACUUM as well as ANALYZE: a database a season old has been through autovacuum, so its
    // visibility map is set and index-only scans stay index-only; measuring straight after a
    // bulk load would time heap fetches that a live database does not do
    let started = std::time::Instant::now();
    db.execute("VACUUM (ANALYZE)", &[]).await?;
    eprintln!(
        "  VACUUM (ANALYZE) {:>31.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// How many runs the database holds (the size of a reused fill).
pub async fn runs_held(store: &Store) -> Result<i64, sqlx::Error> {
    Ok(store
        .db
        .fetch_one("SELECT count(*) AS n FROM workflow_executions", &[])
        .await?
        .n("n"))
}
