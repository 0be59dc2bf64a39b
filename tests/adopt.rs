//! An automation database that already exists, in the seeds' shapes (tests/seeds/: their
//! CREATE TABLE statements copied as data, and the writers' own statements), on real Postgres:
//! `opsdeck migrate --plan` describes how opsdeck would adopt it and changes nothing (catalog and
//! rows fingerprinted before and after); `opsdeck migrate` refuses and changes nothing;
//! `status` says what the database is; the writers' statements still run afterwards.

mod common;

use std::process::Output;

use common::cli::{text, url_of};

use opsdeck::api::Store;

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
            "opsdeck.workflow_pauses",
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
        ],
    },
    Seed {
        name: "001",
        schema: include_str!("seeds/001_schema.sql"),
        writes: include_str!("seeds/001_writes.sql"),
        expect: &[
            "seed 001: per-event workflow instances",
            "pause and resume act per (event, workflow_type)",
            "the step logs of automation_workflows",
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

/// The writers' statements, one per paragraph (comment-only paragraphs skipped).
async fn writes(s: &Store, sql: &str) {
    let pool = s.db.pg_pool().expect("postgres");
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
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' \
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut out = format!("catalog {}\n", catalog.0.unwrap_or_default());
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

async fn seed_shape(seed: &Seed) {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let url = url_of(&s);
    script(&s, seed.schema).await;
    writes(&s, seed.writes).await;
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
    assert!(plan.contains("Nothing was changed."), "{plan}");
    assert_eq!(
        fingerprint(&s).await,
        before,
        "seed {}: --plan changed the database",
        seed.name
    );

    let o = opsdeck(&["migrate", "--plan", "--json"], &url);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    assert_eq!(v["kind"], "existing", "{v}");
    assert_eq!(v["changed"], false, "{v}");
    assert!(
        v["steps"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["group"] == "adopt")),
        "{v}"
    );

    // migrate: refused, with the way forward, and still nothing changed
    let o = opsdeck(&["migrate"], &url);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nothing was changed"), "{}", text(&o));
    assert!(text(&o).contains("opsdeck migrate --plan"), "{}", text(&o));
    assert!(!text(&o).contains("already exists"), "{}", text(&o));
    assert_eq!(
        fingerprint(&s).await,
        before,
        "seed {}: migrate changed the database",
        seed.name
    );

    // status says what the database is (UNKNOWN, not a missing function)
    let o = opsdeck(&["status"], &url);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("not an opsdeck database yet"),
        "{}",
        text(&o)
    );

    // the writers go on as before
    writes(&s, seed.writes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_queue_and_engine() {
    seed_shape(&SEEDS[0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_error_handler() {
    seed_shape(&SEEDS[1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_event_workflows() {
    seed_shape(&SEEDS[2]).await;
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
