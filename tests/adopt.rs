//! An automation database that already exists, in the seeds' shapes (tests/seeds/: their
//! CREATE TABLE statements copied as data, and the writers' own statements), on real Postgres:
//! `opsdeck migrate --plan` describes how opsdeck would adopt it and changes nothing (catalog and
//! rows fingerprinted before and after); `opsdeck migrate` adopts it, leaving every table,
//! column and row of the user's as it was; the writers' own statements run again afterwards;
//! `status` and the CLI actions give the right figures and make the right changes, checked
//! against direct SQL; a second `migrate` does nothing; an adoption stopped half-way resumes.

mod common;

use std::process::Output;

use common::cli::{text, url_of};

use opsdeck::api::Store;
use opsdeck::domain::refresh::{LoadKind, LoadReq, Payload, ViewId};

struct Seed {
    name: &'static str,
    schema: &'static str,
    writes: &'static str,
    /// What the plan must say about it.
    expect: &'static [&'static str],
}

const SEEDS: &[Seed] = &[
    Seed {
        name: "004",
        schema: include_str!("seeds/004_schema.sql"),
        writes: include_str!("seeds/004_writes.sql"),
        expect: &[
            "seed 004: is_active true = active, false = paused",
            "duration = completed_at - started_at",
            "no updated_at: the last change is completed_at",
            "no workflow_id: jobs belong to no workflow",
            "opsdeck.workflows_extra",
            "built CONCURRENTLY",
            "approval_requests",
        ],
    },
    Seed {
        name: "000",
        schema: include_str!("seeds/000_schema.sql"),
        writes: include_str!("seeds/000_writes.sql"),
        expect: &[
            "seed 000: workflow_id is n8n's workflow id (text)",
            "no error_type: classified from the message",
            "error_time is when",
            "read as the Reconciliation view's runs",
        ],
    },
    Seed {
        name: "001",
        schema: include_str!("seeds/001_schema.sql"),
        writes: include_str!("seeds/001_writes.sql"),
        expect: &[
            "seed 001's per-event workflow instances are the runs",
            "each (event, workflow_type) is a workflow",
            "step logs of automation_workflows, as the runs' step logs",
        ],
    },
];

fn opsdeck(args: &[&str], url: &str) -> Output {
    common::cli::opsdeck(args, &[("DATABASE_URL", url)])
}

async fn script(s: &Store, sql: &str) {
    let pool = s.db.pg_pool().expect("postgres");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .expect("run script");
}

/// A connection as the writers have it: the default search path, none of opsdeck's settings.
async fn writer(url: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .expect("writer connects")
}

/// The writers' statements, one per paragraph (comment-only paragraphs skipped), run as the
/// writers run them.
async fn writes(url: &str, sql: &str) {
    let pool = writer(url).await;
    let pool = &pool;
    for p in sql.split("\n\n") {
        if p.lines()
            .all(|l| l.trim().is_empty() || l.trim().starts_with("--"))
        {
            continue;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(p.to_string()))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("the writer's statement failed: {e}\n{p}"));
    }
}

/// Everything a migration could touch: schemas, tables and columns with their types and
/// defaults, indexes, constraints, triggers, functions, and every row of every table.
async fn fingerprint(s: &Store) -> String {
    fingerprint_of(s, false).await
}

/// The user's own: the columns (types, nullability, defaults) of the tables in `public` and
/// every row of them.
async fn users_own(s: &Store) -> String {
    fingerprint_of(s, true).await
}

async fn fingerprint_of(s: &Store, public_only: bool) -> String {
    if public_only {
        let pool = s.db.pg_pool().expect("postgres");
        let (cols,): (Option<String>,) = sqlx::query_as(
            "SELECT string_agg(format('%s.%s %s %s %s', table_name, column_name, data_type, \
               is_nullable, column_default), E'\n' ORDER BY table_name, ordinal_position) \
             FROM information_schema.columns WHERE table_schema = 'public'",
        )
        .fetch_one(pool)
        .await
        .expect("columns");
        let mut out = cols.unwrap_or_default();
        out.push_str(&rows_of(s, "table_schema = 'public'").await);
        return out;
    }
    let pool = s.db.pg_pool().expect("postgres");
    let catalog: (Option<String>,) = sqlx::query_as(
        "SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM ( \
           SELECT 'schema ' || nspname AS x FROM pg_namespace \
             WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' \
           UNION ALL SELECT format('column %s.%s.%s %s %s %s', table_schema, table_name, \
               column_name, data_type, is_nullable, column_default) \
             FROM information_schema.columns \
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
           UNION ALL SELECT 'index ' || schemaname || ' ' || indexdef FROM pg_indexes \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') \
           UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) \
             FROM pg_constraint WHERE connamespace NOT IN \
               (SELECT oid FROM pg_namespace WHERE nspname LIKE 'pg_%' OR nspname = 'information_schema') \
           UNION ALL SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname FROM pg_trigger \
             WHERE NOT tgisinternal \
           UNION ALL SELECT 'function ' || p.oid::regprocedure FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') \
         ) c",
    )
    .fetch_one(pool)
    .await
    .expect("catalog fingerprint");
    let mut out = format!("catalog {}\n", catalog.0.unwrap_or_default());
    out.push_str(
        &rows_of(
            s,
            "table_schema NOT IN ('pg_catalog', 'information_schema')",
        )
        .await,
    );
    out
}

/// Every row of every base table the filter selects.
async fn rows_of(s: &Store, filter: &str) -> String {
    let pool = s.db.pg_pool().expect("postgres");
    let tables: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables \
         WHERE {filter} AND table_type = 'BASE TABLE' ORDER BY 1"
    )))
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut out = String::new();
    for (t,) in tables {
        let (rows,): (Option<String>,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT md5(string_agg(r::text, E'\\n' ORDER BY r::text)) FROM {t} r"
        )))
        .fetch_one(pool)
        .await
        .expect("rows");
        out.push_str(&format!("{t} {}\n", rows.unwrap_or_default()));
    }
    out
}

/// A fresh database holding a seed's tables, with its writers' statements run once when
/// `written`: the test's store and URL.
async fn seeded(seed: &Seed, written: bool) -> Option<(common::TestStore, String)> {
    let s = common::pg_store_unmigrated().await?;
    let url = url_of(&s);
    script(&s, seed.schema).await;
    if written {
        writes(&url, seed.writes).await;
    }
    Some((s, url))
}

/// Plans, adopts and re-adopts a seed's database; returns it adopted, with the writers'
/// statements run before and after.
async fn seed_shape(seed: &Seed) -> Option<(common::TestStore, String)> {
    let s = common::pg_store_unmigrated().await?;
    let url = url_of(&s);
    script(&s, seed.schema).await;
    writes(&url, seed.writes).await;
    let before = fingerprint(&s).await;

    // the plan: what opsdeck makes of it, and nothing changed
    let o = opsdeck(&["migrate", "--plan"], &url);
    assert!(o.status.success(), "seed {}: {}", seed.name, text(&o));
    let plan = text(&o);
    assert!(plan.contains("An existing automation database"), "{plan}");
    for e in seed.expect {
        assert!(
            plan.contains(e),
            "seed {}: the plan does not say {e:?}:\n{plan}",
            seed.name
        );
    }
    // the exact SQL, under add
    assert!(
        plan.contains("| CREATE SCHEMA IF NOT EXISTS opsdeck"),
        "{plan}"
    );
    assert!(plan.contains("Nothing was changed."), "{plan}");
    let o = opsdeck(&["migrate", "--plan", "--sql"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let sql = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        sql.contains("BEGIN;\nCREATE SCHEMA IF NOT EXISTS opsdeck"),
        "{sql}"
    );
    let o = opsdeck(&["migrate", "--plan", "--json"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    assert_eq!(v["kind"], "existing", "{v}");
    assert_eq!(v["changed"], false, "{v}");
    assert!(
        v["steps"].as_array().is_some_and(|s| s
            .iter()
            .any(|s| s["group"] == "add" && s["sql"].is_string())),
        "{v}"
    );
    assert_eq!(
        fingerprint(&s).await,
        before,
        "seed {}: --plan changed the database",
        seed.name
    );

    // migrate adopts: the user's tables, columns and rows are exactly as they were
    let own = users_own(&s).await;
    let o = opsdeck(&["migrate"], &url);
    assert!(o.status.success(), "seed {}: {}", seed.name, text(&o));
    assert!(text(&o).contains("adopted ("), "{}", text(&o));
    assert_eq!(
        users_own(&s).await,
        own,
        "seed {}: adoption changed the user's tables or rows",
        seed.name
    );
    // and a second migrate does nothing at all
    let adopted = fingerprint(&s).await;
    let o = opsdeck(&["migrate"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("nothing to do"), "{}", text(&o));
    assert_eq!(
        fingerprint(&s).await,
        adopted,
        "the second migrate changed something"
    );
    let o = opsdeck(&["migrate", "--plan", "--json"], &url);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    assert_eq!(v["kind"], "adopted", "{v}");

    // the simulated engine does not write invented rows into the user's tables
    let o = opsdeck(&["simulate", "--duration", "1s"], &url);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nothing was written"), "{}", text(&o));
    assert_eq!(
        users_own(&s).await,
        own,
        "simulate wrote into the user's tables"
    );

    // the writers go on as before, with opsdeck's triggers on their tables
    writes(&url, seed.writes).await;
    Some((s, url))
}

async fn one(s: &Store, sql: &str) -> i64 {
    let pool = s.db.pg_pool().expect("postgres");
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    n
}

async fn text_of(s: &Store, sql: &str) -> String {
    let pool = s.db.pg_pool().expect("postgres");
    let (t,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    t
}

fn status_json(url: &str) -> serde_json::Value {
    let o = opsdeck(&["status", "--json"], url);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_queue_and_engine() {
    let Some((s, url)) = seed_shape(&SEEDS[0]).await else {
        return;
    };
    // the writers' own shapes: failed jobs (markJobAsFailed), pending ones, a failed run
    let w = writer(&url).await;
    sqlx::raw_sql(
        "INSERT INTO job_queue (job_type, payload, status, attempts, error_message) \
           SELECT 'email.send', '{}', 'failed', 3, 'SMTP 550' FROM generate_series(1, 3); \
         INSERT INTO job_queue (job_type, payload, priority) \
           SELECT 'sms.send', '{}', g FROM generate_series(1, 4) g; \
         INSERT INTO workflow_executions (workflow_id, status, context, error_message, completed_at) \
           SELECT id, 'failed', '{}', 'boom', NOW() FROM workflows WHERE name = 'Ticket Sales Funnel'; \
         INSERT INTO workflow_executions (workflow_id, status, context, completed_at) \
           SELECT id, s, '{}', NOW() FROM workflows, (VALUES ('error'), ('success')) w(s) \
           WHERE name = 'Ticket Sales Funnel';",
    )
    .execute(&w)
    .await
    .expect("writers");

    // status: figures against direct SQL on the user's tables
    let v = status_json(&url);
    let depth = one(
        &s,
        "SELECT count(*) FROM public.job_queue WHERE status IN ('pending', 'retrying')",
    )
    .await;
    let failed = one(
        &s,
        "SELECT count(*) FROM public.job_queue WHERE status = 'failed'",
    )
    .await;
    assert_eq!(v["queue"]["depth"], depth, "{v}");
    assert_eq!(v["queue"]["failed"], failed, "{v}");
    // n8n's words count as opsdeck's: error = failed, success = completed
    let runs_failed = one(
        &s,
        "SELECT count(*) FROM public.workflow_executions WHERE status IN ('failed', 'error')",
    )
    .await;
    assert_eq!(runs_failed, 4);
    assert_eq!(v["runs_last_hour"]["failed"], runs_failed, "{v}");
    assert!(v["queue"]["oldest_pending_age_s"].is_number(), "{v}");
    // absent tables are left out of the figures, never an error
    assert!(v.get("open_capacity_alerts").is_none(), "{v}");
    assert!(
        v["not_in_database"].to_string().contains("capacity_alerts"),
        "{v}"
    );
    let o = opsdeck(&["status"], &url);
    assert!(!text(&o).contains("capacity alerts"), "{}", text(&o));

    // retry one failed job: pending again, one audit row; a second retry is a conflict
    let job = text_of(
        &s,
        "SELECT id::text FROM public.job_queue WHERE status = 'failed' ORDER BY id LIMIT 1",
    )
    .await;
    let o = opsdeck(&["retry", &job, "-y", "--operator", "ana"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        text_of(
            &s,
            &format!("SELECT status || ' ' || attempts FROM public.job_queue WHERE id = '{job}'")
        )
        .await,
        "pending 0"
    );
    let o = opsdeck(&["retry", &job, "-y", "--operator", "bo"], &url);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already pending by ana"), "{}", text(&o));
    // cancel a pending job
    let pending = text_of(&s, "SELECT id::text FROM public.job_queue WHERE status = 'pending' AND job_type = 'sms.send' ORDER BY id LIMIT 1").await;
    let o = opsdeck(&["cancel", &pending, "-y"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        text_of(
            &s,
            &format!("SELECT status FROM public.job_queue WHERE id = '{pending}'")
        )
        .await,
        "cancelled"
    );
    // bulk retry of the rest
    let o = opsdeck(&["retry", "--all-failed", "-y"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        one(
            &s,
            "SELECT count(*) FROM public.job_queue WHERE status = 'failed'"
        )
        .await,
        0
    );

    // pause writes is_active; who and why go to opsdeck's own table; resume undoes it. The
    // seed's names are not unique (its writes ran twice): a name that is ambiguous is refused
    let o = opsdeck(
        &["pause", "Ticket Sales Funnel", "--reason", "drill", "-y"],
        &url,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("more than one workflow is named"),
        "{}",
        text(&o)
    );
    let wf = text_of(
        &s,
        "SELECT id::text FROM public.workflows WHERE name = 'Ticket Sales Funnel' ORDER BY created_at, id LIMIT 1",
    )
    .await;
    let active = format!("SELECT is_active::text FROM public.workflows WHERE id = '{wf}'");
    let o = opsdeck(
        &["pause", &wf, "--reason", "drill", "-y", "--operator", "ana"],
        &url,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text_of(&s, &active).await, "false");
    assert_eq!(
        text_of(
            &s,
            "SELECT paused_by || ': ' || pause_reason FROM opsdeck.workflows_extra"
        )
        .await,
        "ana: drill"
    );
    let o = opsdeck(&["pause", &wf, "--reason", "again", "-y"], &url);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already paused by ana"), "{}", text(&o));
    let o = opsdeck(&["workflows"], &url);
    assert!(text(&o).contains("paused"), "{}", text(&o));
    let o = opsdeck(&["resume", &wf, "-y"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text_of(&s, &active).await, "true");

    // retry a failed run: a new pending run in the user's table, linked in opsdeck's
    let run = text_of(
        &s,
        "SELECT id::text FROM public.workflow_executions WHERE status = 'failed' LIMIT 1",
    )
    .await;
    let o = opsdeck(&["retry-run", &run, "-y"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let new = text_of(
        &s,
        &format!(
            "SELECT retried_as::text FROM opsdeck.workflow_executions_extra WHERE id = '{run}'"
        ),
    )
    .await;
    assert_eq!(
        text_of(
            &s,
            &format!("SELECT status FROM public.workflow_executions WHERE id = '{new}'")
        )
        .await,
        "pending"
    );
    let o = opsdeck(&["retry-run", &run, "-y"], &url);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already retried"), "{}", text(&o));
    let o = opsdeck(&["cancel-run", &new, "-y"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        text_of(
            &s,
            &format!("SELECT status FROM public.workflow_executions WHERE id = '{new}'")
        )
        .await,
        "cancelled"
    );
    // the rollups the overview reads agree with the table
    assert_eq!(
        one(
            &s,
            "SELECT CAST(sum(n) AS bigint) FROM opsdeck.run_totals WHERE kind = 'started'"
        )
        .await,
        one(&s, "SELECT count(*) FROM public.workflow_executions").await
    );
    // every action wrote one audit row
    assert_eq!(
        one(
            &s,
            "SELECT count(*) FROM opsdeck.operator_actions WHERE outcome = 'ok'"
        )
        .await,
        7
    );
    // the console's reads: every view's first page, as the console loads it
    console_reads(&s).await;
    let jobs = one(&s, "SELECT count(*) FROM public.job_queue").await;
    match load(&s, ViewId::Queue).await {
        Payload::Queue(depth, page) => {
            assert_eq!(page.len() as i64, jobs.min(50));
            let depth = depth.expect("the first page has the depth");
            assert!(!format!("{depth:?}").is_empty());
        }
        other => panic!("{other:?}"),
    }
    match load(&s, ViewId::Workflows).await {
        Payload::Workflows(w) => {
            assert_eq!(
                w.len() as i64,
                one(&s, "SELECT count(*) FROM public.workflows").await
            );
        }
        other => panic!("{other:?}"),
    }
    // and the writers' loop still runs over all of it
    writes(&url, SEEDS[0].writes).await;
}

async fn load(s: &Store, view: ViewId) -> Payload {
    let req = LoadReq {
        view,
        kind: LoadKind::Main,
        filter: opsdeck::domain::model::ListFilter::default(),
        id: None,
        now: chrono::Utc::now(),
        seq: 0,
    };
    opsdeck::api::refresh::load(s, &req)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", view.title()))
}

/// Every view's first page loads on an adopted database, as the console loads it.
async fn console_reads(s: &Store) {
    for v in ViewId::ALL {
        load(s, v).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_error_handler() {
    let Some((s, url)) = seed_shape(&SEEDS[1]).await else {
        return;
    };
    // the Global Error Handler's rows: n8n's ids as text, error_time, no error_type
    let w = writer(&url).await;
    sqlx::raw_sql(
        "INSERT INTO workflow_errors (workflow_id, error_message, error_time, execution_id) \
           SELECT 'wf_9', 'ETIMEDOUT connecting to api.stripe.com', NOW(), g::text FROM generate_series(1, 3) g; \
         INSERT INTO workflow_errors (workflow_id, error_message, error_time, execution_id) \
           SELECT 'wf_7', 'Request failed with status code 429', NOW(), g::text FROM generate_series(4, 20) g;",
    )
    .execute(&w)
    .await
    .expect("error handler");
    assert_eq!(
        text_of(&s, "SELECT string_agg(DISTINCT error_type, ',' ORDER BY error_type) FROM opsdeck.workflow_errors").await,
        "rate_limit,timeout"
    );
    // criticality works on the real rows: timeout (any count) and rate_limit past 10
    let v = status_json(&url);
    assert_eq!(v["status"], "CRITICAL", "{v}");
    let pats = v["critical_error_patterns"].to_string();
    // named by n8n's workflow id (the handler writes no name here): seen by the trigger
    assert!(pats.contains("wf_9/timeout (3)"), "{v}");
    assert!(pats.contains("wf_7/rate_limit (17)"), "{v}");
    // those workflows live in n8n: pausing one here says so and changes nothing
    let o = opsdeck(&["pause", "wf_9", "--reason", "drill", "-y"], &url);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("wf_9 lives in n8n: pause it there"),
        "{}",
        text(&o)
    );
    assert_eq!(
        one(
            &s,
            "SELECT count(*) FROM opsdeck.operator_actions WHERE outcome = 'ok'"
        )
        .await,
        0
    );
    // tables seed 000 does not have are left out, not errors
    assert!(v.get("queue").is_none(), "{v}");
    assert!(
        v["not_in_database"].to_string().contains("job_queue"),
        "{v}"
    );
    // the reconciliation workflow's log rows are the Reconciliation view's runs
    assert!(
        !v["not_in_database"]
            .to_string()
            .contains("reconciliation_runs"),
        "{v}"
    );
    let runs = s
        .recon_runs(&opsdeck::domain::model::ListFilter::default())
        .await
        .expect("reconciliation runs");
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].discrepancy_count, 2, "{runs:?}");
    assert_eq!(runs[0].status, "failed", "{runs:?}");
    // and each element of their details is a discrepancy, open until resolved
    assert_eq!(v["open_discrepancies"], 4, "{v}");
    let d = text_of(
        &s,
        "SELECT id::text FROM opsdeck.reconciliation_discrepancies WHERE kind = 'amount_mismatch' \
         ORDER BY created_at LIMIT 1",
    )
    .await;
    let o = opsdeck(
        &[
            "resolve",
            &d,
            "--note",
            "refunded by hand",
            "-y",
            "--operator",
            "ana",
        ],
        &url,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = opsdeck(
        &["resolve", &d, "--note", "again", "-y", "--operator", "bo"],
        &url,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("ana"), "{}", text(&o));
    assert_eq!(status_json(&url)["open_discrepancies"], 3);
    assert_eq!(
        text_of(
            &s,
            &format!(
                "SELECT status || ' by ' || resolved_by || ': ' || note FROM opsdeck.reconciliation_discrepancies_extra WHERE id = '{d}'"
            )
        )
        .await,
        "resolved by ana: refunded by hand"
    );
    console_reads(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_event_workflows() {
    let Some((s, url)) = seed_shape(&SEEDS[2]).await else {
        return;
    };
    // the engine's instances in the seed's shapes: one running with progress, one failed
    let w = writer(&url).await;
    sqlx::raw_sql(
        "INSERT INTO automation_workflows (event_id, name, workflow_type, definition, status, \
           current_step, steps_completed, steps_total, started_at, next_execution_at) \
           SELECT id, 'Sponsors: Paris FW', 'sponsor_outreach', '{}', 'active', 'step_2', 1, 3, \
             NOW() - interval '5 minutes', NOW() + interval '1 hour' FROM events LIMIT 1; \
         INSERT INTO automation_workflows (event_id, name, workflow_type, definition, status, \
           last_error, started_at, completed_at) \
           SELECT id, 'Nurture: Paris FW', 'attendee_nurture', '{}', 'failed', \
             'SendGrid 401 Unauthorized', NOW() - interval '2 minutes', NOW() FROM events LIMIT 1;",
    )
    .execute(&w)
    .await
    .expect("the engine's instances");

    // each (event, workflow type) is a workflow; the seed's pause shows
    let o = opsdeck(&["workflows"], &url);
    let list = text(&o);
    assert!(o.status.success(), "{list}");
    assert!(list.contains("Paris Fashion Week · event_launch"), "{list}");
    assert!(
        list.contains("Paris Fashion Week · sponsor_outreach"),
        "{list}"
    );
    let line = |name: &str| {
        list.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no {name}: {list}"))
            .to_string()
    };
    assert!(line("event_launch").contains("paused"), "{list}");
    assert!(line("sponsor_outreach").contains("active"), "{list}");

    // resume and pause act on that event's instances of that type, as manageWorkflows does
    let o = opsdeck(&["resume", "Paris Fashion Week · event_launch", "-y"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        text_of(&s, "SELECT string_agg(DISTINCT status, ',') FROM public.automation_workflows WHERE workflow_type = 'event_launch'").await,
        "active"
    );
    let o = opsdeck(
        &[
            "pause",
            "Paris Fashion Week · sponsor_outreach",
            "--reason",
            "sponsor call",
            "-y",
            "--operator",
            "ana",
        ],
        &url,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        text_of(&s, "SELECT status FROM public.automation_workflows WHERE workflow_type = 'sponsor_outreach'").await,
        "paused"
    );
    let o = opsdeck(
        &[
            "pause",
            "Paris Fashion Week · sponsor_outreach",
            "--reason",
            "x",
            "-y",
        ],
        &url,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already paused by ana"), "{}", text(&o));
    // the other types were not touched
    assert_eq!(
        text_of(&s, "SELECT status FROM public.automation_workflows WHERE workflow_type = 'attendee_nurture'").await,
        "failed"
    );

    // the instances are the runs: a failed one counts, with its error
    let v = status_json(&url);
    assert_eq!(v["runs_last_hour"]["failed"], 1, "{v}");
    let failed = text_of(
        &s,
        "SELECT id::text FROM public.automation_workflows WHERE status = 'failed'",
    )
    .await;
    let o = opsdeck(&["retry-run", &failed, "-y"], &url);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("seed 001 retries a workflow instance itself"),
        "{}",
        text(&o)
    );
    assert_eq!(
        text_of(
            &s,
            &format!("SELECT status FROM public.automation_workflows WHERE id = '{failed}'")
        )
        .await,
        "failed",
        "a refused retry changes nothing"
    );
    // cancel an instance: the seed's own word
    let launch = text_of(&s, "SELECT id::text FROM public.automation_workflows WHERE workflow_type = 'event_launch' ORDER BY created_at LIMIT 1").await;
    let o = opsdeck(&["cancel-run", &launch, "-y"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        text_of(
            &s,
            &format!("SELECT status FROM public.automation_workflows WHERE id = '{launch}'")
        )
        .await,
        "cancelled"
    );
    // its step logs are the run's
    assert_eq!(
        one(&s, "SELECT count(*) FROM opsdeck.workflow_step_logs").await,
        one(&s, "SELECT count(*) FROM public.workflow_execution_logs").await
    );
    console_reads(&s).await;
    writes(&url, SEEDS[2].writes).await;
}

/// An adoption that stops half-way (here: a writer's open transaction outlasts the
/// lock_timeout of a CONCURRENTLY build, which leaves an invalid index behind) resumes where
/// it stopped on the next `migrate`, drops the invalid index and builds it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_applied_adoption_resumes() {
    let Some((s, url)) = seeded(&SEEDS[0], true).await else {
        return;
    };
    let w = writer(&url).await;
    let mut busy = w.begin().await.expect("begin");
    sqlx::query("UPDATE job_queue SET priority = priority WHERE true")
        .execute(&mut *busy)
        .await
        .expect("a writer's open transaction");
    let impatient = if url.contains('?') {
        format!("{url}&options=-c%20lock_timeout%3D500")
    } else {
        format!("{url}?options=-c%20lock_timeout%3D500")
    };
    let o = opsdeck(&["migrate"], &impatient);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("resumes at this one"), "{}", text(&o));
    let invalid = one(
        &s,
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE c.relname LIKE 'opsdeck_%' AND NOT i.indisvalid",
    )
    .await;
    assert_eq!(invalid, 1, "the interrupted build left its invalid index");
    let done = one(&s, "SELECT CAST(done AS bigint) FROM opsdeck.adoption").await;
    // the console knows it is half-way
    let o = opsdeck(&["status"], &url);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("stopped half-way"), "{}", text(&o));

    busy.rollback().await.expect("rollback");
    let o = opsdeck(&["migrate"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("resumed at statement {}", done + 1)),
        "{}",
        text(&o)
    );
    let invalid = one(
        &s,
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE c.relname LIKE 'opsdeck_%' AND NOT i.indisvalid",
    )
    .await;
    assert_eq!(invalid, 0);
    let o = opsdeck(&["status"], &url);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// Adoption without triggers: nothing of opsdeck's fires on the writers' tables, and the
/// figures still come right (read from the tables through the indexes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_without_triggers_polls_and_counts_right() {
    let Some((s, url)) = seeded(&SEEDS[0], true).await else {
        return;
    };
    let o = opsdeck(&["migrate", "--no-triggers"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("without triggers"), "{}", text(&o));
    assert_eq!(
        one(
            &s,
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT t.tgisinternal",
        )
        .await,
        0
    );
    writes(&url, SEEDS[0].writes).await;
    let w = writer(&url).await;
    sqlx::raw_sql(
        "INSERT INTO workflow_executions (workflow_id, status, context, completed_at) \
           SELECT id, 'failed', '{}', NOW() FROM workflows; \
         INSERT INTO job_queue (job_type, payload) SELECT 'email.send', '{}' FROM generate_series(1, 5);",
    )
    .execute(&w)
    .await
    .expect("writers");
    let v = status_json(&url);
    assert_eq!(
        v["runs_last_hour"]["started"],
        one(&s, "SELECT count(*) FROM public.workflow_executions").await,
        "{v}"
    );
    assert_eq!(v["runs_last_hour"]["failed"], 2, "{v}");
    assert_eq!(
        v["queue"]["depth"],
        one(
            &s,
            "SELECT count(*) FROM public.job_queue WHERE status = 'pending'"
        )
        .await,
        "{v}"
    );
    // switching to triggers later is one more migrate
    let o = opsdeck(&["migrate"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let v2 = status_json(&url);
    assert_eq!(v2["runs_last_hour"], v["runs_last_hour"]);
    // and back: opsdeck's triggers come off the writers' tables, which keep working
    let o = opsdeck(&["migrate", "--no-triggers"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        one(
            &s,
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT t.tgisinternal",
        )
        .await,
        0
    );
    writes(&url, SEEDS[0].writes).await;
    let v3 = status_json(&url);
    assert_eq!(
        v3["runs_last_hour"]["started"],
        one(&s, "SELECT count(*) FROM public.workflow_executions").await,
        "{v3}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_status_words_are_warnings() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    script(&s, SEEDS[0].schema).await;
    script(
        &s,
        "INSERT INTO job_queue (job_type, payload, status) \
         SELECT 'email.send', '{}', (ARRAY['pending', 'failed', 'zombie'])[1 + g % 3] \
         FROM generate_series(1, 30) g",
    )
    .await;
    let o = opsdeck(&["migrate", "--plan"], &url_of(&s));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("status 'zombie' (10 rows) is unknown to opsdeck"),
        "{}",
        text(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_database_gets_the_contract() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let url = url_of(&s);
    let before = fingerprint(&s).await;
    let o = opsdeck(&["migrate", "--plan"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("`opsdeck migrate` creates opsdeck's contract"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("0001 contract"), "{}", text(&o));
    assert_eq!(
        fingerprint(&s).await,
        before,
        "--plan changed a fresh database"
    );
    let o = opsdeck(&["status"], &url);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("no opsdeck schema"), "{}", text(&o));

    let o = opsdeck(&["migrate"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let o = opsdeck(&["migrate", "--plan"], &url);
    assert!(
        text(&o).contains("up to date: `opsdeck migrate` does nothing"),
        "{}",
        text(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_sqlite_file_gets_the_contract() {
    let s = common::sqlite_store_unmigrated().await;
    let url = url_of(&s);
    let o = opsdeck(&["migrate", "--plan"], &url);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("`opsdeck migrate` creates opsdeck's contract"),
        "{}",
        text(&o)
    );
    let tables =
        s.db.fetch_one(
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'",
            &[],
        )
        .await
        .expect("count")
        .n("n");
    assert_eq!(tables, 0, "--plan created tables");
}

/// Live updates on an adopted database: the console's listener hears the writers' own
/// statements on their tables (through the adoption's gated NOTIFY triggers), in a burst and
/// again in a later quarter second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_hears_the_writers_of_an_adopted_database() {
    use opsdeck::api::notify::{Note, listen};
    use opsdeck::domain::refresh::Listen;
    let Some((s, url)) = seeded(&SEEDS[0], false).await else {
        return;
    };
    let o = opsdeck(&["migrate"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let task = tokio::spawn(listen(
        s.db.pg_pool().expect("postgres").clone(),
        s.store.clone(),
        tx,
    ));
    assert_eq!(next_note(&mut rx).await, Note::State(Listen::Up));
    for round in 0..2 {
        writes(&url, SEEDS[0].writes).await;
        loop {
            match next_note(&mut rx).await {
                Note::Changed(t) if t == "job_queue" => break,
                _ => {}
            }
        }
        if round == 0 {
            // the next quarter second is a new slot of the gate
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            while rx.try_recv().is_ok() {}
        }
    }
    task.abort();
}

async fn next_note(
    rx: &mut tokio::sync::mpsc::Receiver<opsdeck::api::notify::Note>,
) -> opsdeck::api::notify::Note {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("a note within 10 s")
        .expect("listener alive")
}

/// A login that may not create the schema nor index the tables gets the way forward, exit 2,
/// and nothing changed; with the tables' owner it adopts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_without_ddl_rights_is_told_to_ask_a_dba() {
    let Some((s, url)) = seeded(&SEEDS[0], false).await else {
        return;
    };
    let role = format!(
        "opsdeck_t_ro_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let db = s.pg_db_name().expect("postgres").to_string();
    script(
        &s,
        &format!(
            "CREATE ROLE {role} LOGIN; GRANT CONNECT ON DATABASE \"{db}\" TO {role}; \
             GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}; \
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
        ),
    )
    .await;
    let before = fingerprint(&s).await;
    let mut as_role = url::Url::parse(&url).expect("url");
    as_role.set_username(&role).expect("user");
    let o = opsdeck(&["migrate"], as_role.as_str());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("Ask a DBA to run the adoption"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--plan --sql"), "{}", text(&o));
    assert_eq!(
        fingerprint(&s).await,
        before,
        "a refused adoption changed something"
    );
    // the plan is theirs to read all the same
    let o = opsdeck(&["migrate", "--plan", "--sql"], as_role.as_str());
    assert!(o.status.success(), "{}", text(&o));
    script(&s, &format!("DROP OWNED BY {role}; DROP ROLE {role};")).await;
}

/// A database adopted by a newer opsdeck (a later shape of adoption) is refused, unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adoption_by_a_newer_opsdeck_is_refused() {
    let Some((s, url)) = seeded(&SEEDS[0], false).await else {
        return;
    };
    let o = opsdeck(&["migrate"], &url);
    assert!(o.status.success(), "{}", text(&o));
    script(
        &s,
        "UPDATE opsdeck.adoption SET version = version + 1, script = 'v99'",
    )
    .await;
    let before = fingerprint(&s).await;
    let o = opsdeck(&["migrate"], &url);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("adopted by a newer opsdeck"),
        "{}",
        text(&o)
    );
    assert_eq!(fingerprint(&s).await, before);
    let o = opsdeck(&["status"], &url);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

/// Seed 000 adopted without triggers: an n8n workflow first seen after the adoption is still
/// named in the error patterns (read from the last hours' errors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_without_triggers_names_new_n8n_workflows() {
    let Some((_s, url)) = seeded(&SEEDS[1], true).await else {
        return;
    };
    let o = opsdeck(&["migrate", "--no-triggers"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let w = writer(&url).await;
    sqlx::raw_sql(
        "INSERT INTO workflow_errors (workflow_id, error_message, error_time, execution_id) \
         VALUES ('wf_new', 'invalid api key', NOW(), '77')",
    )
    .execute(&w)
    .await
    .expect("error handler");
    let v = status_json(&url);
    let pats = v["critical_error_patterns"].to_string();
    assert!(pats.contains("wf_new/authentication_failed (1)"), "{v}");
}

/// Eight operators retry the same failed run of an adopted seed 004 database at once: the run's
/// link to its retry lives in opsdeck's extra table, and exactly one of them starts a new run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_retried_by_eight_operators_at_once_is_retried_once() {
    use opsdeck::api::actions::{ActionCtx, execute};
    use opsdeck::domain::action::{Action, Actor, Outcome};
    let Some((s, url)) = seeded(&SEEDS[0], true).await else {
        return;
    };
    let o = opsdeck(&["migrate"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let w = writer(&url).await;
    sqlx::raw_sql(
        "INSERT INTO workflow_executions (workflow_id, status, context, completed_at) \
         SELECT id, 'failed', '{}', NOW() FROM workflows LIMIT 1",
    )
    .execute(&w)
    .await
    .expect("a failed run");
    let run: uuid::Uuid = text_of(
        &s,
        "SELECT id::text FROM public.workflow_executions WHERE status = 'failed'",
    )
    .await
    .parse()
    .expect("uuid");
    let before = one(&s, "SELECT count(*) FROM public.workflow_executions").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = s.store.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = ActionCtx::new(Actor {
                operator: format!("op{i}"),
                origin: "local:test".into(),
            });
            execute(
                &store,
                &ctx,
                &Action::RetryRun {
                    run,
                    label: "run".into(),
                },
            )
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.expect("task");
        match r.outcome {
            Outcome::Ok => ok += 1,
            Outcome::Conflict => {}
            Outcome::Error | Outcome::Denied => panic!("{r:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        one(&s, "SELECT count(*) FROM public.workflow_executions").await,
        before + 1
    );
}

/// The contract the adoption's views reproduce (`script::CONTRACT`: each table's columns and
/// types) is the one opsdeck's own migrations create, and names the same tables as the
/// domain's list of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adoptions_contract_is_the_migrations() {
    use opsdeck::api::store::adopt::script::CONTRACT;
    use opsdeck::domain::adopt::CONTRACT_TABLES;
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    s.migrate().await.expect("migrate");
    for (t, cols) in CONTRACT {
        assert!(CONTRACT_TABLES.contains(t), "{t} is not in CONTRACT_TABLES");
        let rows =
            s.db.fetch_all(
                "SELECT column_name AS c, udt_name AS u FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                &[opsdeck::api::db::Val::Text(t.to_string())],
            )
            .await
            .expect("columns");
        let made: Vec<(String, String)> = rows.iter().map(|r| (r.s("c"), r.s("u"))).collect();
        let want: Vec<(String, String)> = cols
            .iter()
            .map(|(c, u)| (c.to_string(), u.to_string()))
            .collect();
        assert_eq!(made, want, "{t}");
    }
    // every contract table but opsdeck's own audit trail has its view
    for t in CONTRACT_TABLES.iter().filter(|t| **t != "operator_actions") {
        assert!(CONTRACT.iter().any(|(c, _)| c == t), "{t} has no view");
    }
}

/// Issue 18 on an adopted database: the adoption adds the action functions in `opsdeck`,
/// `roles init` grants the roles its schema (and nothing of the user's), and the database
/// decides by role: a viewer's retry is denied and on record, an operator's goes through the
/// views to the user's table, and neither can write the user's table directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_on_an_adopted_database() {
    let Some((s, url)) = seed_shape(&SEEDS[0]).await else {
        return;
    };
    let plan = opsdeck(&["roles", "init", "--plan"], &url);
    assert!(
        text(&plan).contains("GRANT SELECT ON ALL TABLES IN SCHEMA opsdeck TO opsdeck_viewer"),
        "{}",
        text(&plan)
    );
    let o = opsdeck(&["roles", "init"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let (viewer, operator) = (format!("t18a_{tag}_v"), format!("t18a_{tag}_o"));
    script(
        &s,
        &format!(
            "CREATE ROLE {viewer} LOGIN; GRANT opsdeck_viewer TO {viewer}; \
             CREATE ROLE {operator} LOGIN; GRANT opsdeck_operator TO {operator};"
        ),
    )
    .await;
    let as_login = |l: &str| {
        let mut u = url::Url::parse(&url).unwrap();
        u.set_username(l).unwrap();
        u.to_string()
    };
    script(
        &s,
        "INSERT INTO public.job_queue (job_type, payload, status, attempts, error_message) \
         VALUES ('email.send', '{}', 'failed', 3, 'SMTP 550')",
    )
    .await;
    let job = text_of(
        &s,
        "SELECT id::text FROM public.job_queue WHERE status = 'failed' ORDER BY id LIMIT 1",
    )
    .await;
    let o = opsdeck(&["retry", &job, "-y"], &as_login(&viewer));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("needs opsdeck_operator"), "{}", text(&o));
    assert_eq!(
        text_of(
            &s,
            &format!("SELECT status FROM public.job_queue WHERE id = '{job}'")
        )
        .await,
        "failed"
    );
    let o = opsdeck(&["retry", &job, "-y"], &as_login(&operator));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        text_of(
            &s,
            &format!("SELECT status FROM public.job_queue WHERE id = '{job}'")
        )
        .await,
        "pending"
    );
    assert_eq!(
        text_of(
            &s,
            &format!(
                "SELECT string_agg(operator || ':' || outcome, ',' ORDER BY at) \
                 FROM opsdeck.operator_actions WHERE target_id = '{job}'"
            )
        )
        .await,
        format!("{viewer}:denied,{operator}:ok")
    );
    // the views are readable, the user's tables and opsdeck's are not writable
    let w = writer(&as_login(&operator)).await;
    for sql in [
        "UPDATE public.job_queue SET status = 'pending'",
        "UPDATE opsdeck.job_queue SET status = 'pending'",
        "INSERT INTO opsdeck.operator_actions (operator, action, target_type, outcome) \
         VALUES ('x', 'job.retry', 'job', 'ok')",
    ] {
        let e = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&w)
            .await
            .map(|_| ())
            .expect_err(sql);
        assert!(e.to_string().contains("permission denied"), "{sql}: {e}");
    }
    sqlx::raw_sql("SELECT count(*) FROM opsdeck.workflows")
        .execute(&w)
        .await
        .expect("a role reads the views");
    w.close().await;
    let o = opsdeck(&["whoami", "--json"], &as_login(&operator));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["role"], "opsdeck_operator", "{}", text(&o));
    drop(s);
    let a = opsdeck::api::Store::open(
        &opsdeck::config::DbTarget::Postgres(opsdeck::config::SecretUrl::new(
            common::pg_admin_url(),
        )),
        1,
    )
    .await
    .unwrap();
    for l in [viewer, operator] {
        let _ = a.db.execute(&format!("DROP ROLE IF EXISTS {l}"), &[]).await;
    }
    a.db.close().await;
}
