//! `opsdeck bench adopt`: what adopting seed 004's database costs its writers, and what the
//! console's refresh costs on it.
//!
//! On a throwaway database: seed 004's tables (tests/seeds/004_schema.sql, the seed's own
//! CREATE TABLEs) filled with N runs and N jobs over the last 24 h. Then, in rounds, the same
//! writer loop runs for a fixed time in each of three states: not adopted, adopted without
//! triggers, adopted with triggers (the database is un-adopted between rounds: opsdeck's schema
//! and indexes dropped). The loop is seed 004's queue worker, as the seed writes it, on
//! connections with the writers' own settings: `createJob` (INSERT), `getNextPendingJob` +
//! `markJobAsProcessing` (one UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)),
//! `markJobAsCompleted` (UPDATE). Reported: loops per second, the median per state, and the
//! ratios to "not adopted".
//!
//! Then the console's refresh on the adopted database (with triggers) is timed
//! ([`measure::measure`]) beside the same on opsdeck's own schema filled with as many rows
//! ([`fill::fill`], in a second database `<name>_native`, dropped afterwards).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use sqlx::postgres::PgPoolOptions;

use super::{Shape, fill, measure};
use crate::api::Store;
use crate::api::store::adopt::script::Options;

pub const SEED_004: &str = include_str!("../../tests/seeds/004_schema.sql");

/// Seed 004's tables filled: 40 workflows, `n` runs (10 % failed) and `n` jobs (1 % failed,
/// the rest completed, none open) spread over the last 24 hours.
pub async fn fill_seed_004(url: &str, n: i64) -> Result<()> {
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(SEED_004.to_string()))
        .execute(&pool)
        .await
        .context("seed 004's tables")?;
    let fill = format!(
        "INSERT INTO workflows (name, trigger_type, trigger_config, steps) \
           SELECT 'Workflow ' || g, 'event', '{{}}', '[]' FROM generate_series(1, 40) g;
         CREATE TEMP TABLE wf AS SELECT row_number() OVER () AS k, id FROM workflows;
         INSERT INTO workflow_executions (workflow_id, status, started_at, completed_at, context, error_message, created_at)
           SELECT wf.id, CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END,
                  t, t + interval '3 seconds', '{{}}', CASE WHEN g % 10 = 0 THEN 'boom' END, t
           FROM generate_series(1, {n}) g
           CROSS JOIN LATERAL (SELECT now() - interval '24 hours' * (g::float8 / {n}) AS t) ts
           JOIN wf ON wf.k = 1 + g % 40;
         INSERT INTO job_queue (job_type, payload, status, priority, attempts, scheduled_for, started_at, completed_at, error_message, created_at)
           SELECT (ARRAY['email.send', 'analytics.sync', 'social.post', 'broadcast.sms'])[1 + g % 4], '{{}}',
                  CASE WHEN g % 100 = 0 THEN 'failed' ELSE 'completed' END, g % 5, 1, t, t, t + interval '1 second',
                  CASE WHEN g % 100 = 0 THEN 'SMTP 550' END, t
           FROM generate_series(1, {n}) g
           CROSS JOIN LATERAL (SELECT now() - interval '24 hours' * (g::float8 / {n}) AS t) ts;"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(fill))
        .execute(&pool)
        .await
        .context("filling seed 004's tables")?;
    // as `fill::fill` leaves opsdeck's own schema (and autovacuum a live table): visibility
    // map set, statistics current
    for t in ["workflows", "workflow_executions", "job_queue"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("VACUUM (ANALYZE) {t}")))
            .execute(&pool)
            .await?;
    }
    pool.close().await;
    Ok(())
}

/// Takes the adoption back off a throwaway database: opsdeck's schema (its views, tables,
/// functions, and with them the triggers that call them) and its indexes on the seed's tables.
pub async fn unadopt(url: &str) -> Result<()> {
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
    sqlx::raw_sql(
        "DROP SCHEMA IF EXISTS opsdeck CASCADE;
         DO $d$ DECLARE i record; BEGIN
           FOR i IN SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'opsdeck\\_%' LOOP
             EXECUTE format('DROP INDEX public.%I', i.indexname);
           END LOOP;
         END $d$;",
    )
    .execute(&pool)
    .await
    .context("un-adopting")?;
    pool.close().await;
    Ok(())
}

/// Seed 004's queue worker loop on `workers` connections for `d`: completed loops per second.
pub async fn writer_loop(url: &str, workers: usize, d: Duration) -> Result<f64> {
    let pool = PgPoolOptions::new()
        .max_connections(workers as u32)
        .connect(url)
        .await?;
    let deadline = Instant::now() + d;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                sqlx::query(
                    "INSERT INTO job_queue (job_type, payload, priority) VALUES ($1, $2, $3)",
                )
                .bind("email.send")
                .bind(serde_json::json!({"to": "ana@example.com", "template": "receipt"}))
                .bind((w % 5) as i32)
                .execute(&pool)
                .await?;
                let claimed: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "UPDATE job_queue SET status = 'processing', started_at = NOW(), attempts = attempts + 1 \
                     WHERE id = (SELECT id FROM job_queue WHERE status IN ('pending', 'retrying') \
                       AND scheduled_for <= NOW() ORDER BY priority DESC, created_at LIMIT 1 \
                       FOR UPDATE SKIP LOCKED) RETURNING id",
                )
                .fetch_optional(&pool)
                .await?;
                if let Some((id,)) = claimed {
                    sqlx::query(
                        "UPDATE job_queue SET status = 'completed', completed_at = NOW() WHERE id = $1",
                    )
                    .bind(id)
                    .execute(&pool)
                    .await?;
                    done += 1;
                }
            }
            Ok::<u64, sqlx::Error>(done)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.context("writer task")??;
    }
    let secs = started.elapsed().as_secs_f64();
    pool.close().await;
    Ok(total as f64 / secs)
}

/// The three states a round measures, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Before,
    NoTriggers,
    Triggers,
}

impl State {
    pub const ALL: [State; 3] = [State::Before, State::NoTriggers, State::Triggers];

    pub fn label(self) -> &'static str {
        match self {
            State::Before => "not adopted",
            State::NoTriggers => "adopted, no triggers",
            State::Triggers => "adopted, triggers",
        }
    }
}

/// Puts the database in `s` (from any state).
pub async fn enter(store: &Store, url: &str, s: State) -> Result<()> {
    unadopt(url).await?;
    if s == State::Before {
        return Ok(());
    }
    let c = store.inspect().await?;
    let o = Options {
        triggers: s == State::Triggers,
        ..Options::default()
    };
    store.adopt(&c, &o).await?;
    Ok(())
}

/// The refresh on opsdeck's own schema with `n` rows, in a second database on the same
/// server (created and dropped here), for comparison.
pub async fn native_refresh(url: &str, n: i64, iterations: usize) -> Result<measure::Report> {
    let mut u = url::Url::parse(url)?;
    let name = format!("{}_native", u.path().trim_start_matches('/'));
    let admin = PgPoolOptions::new().max_connections(1).connect(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\""
    )))
    .execute(&admin)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&admin)
        .await
        .context("the comparison needs CREATEDB on this server")?;
    u.set_path(&name);
    let target = crate::config::DbTarget::Postgres(crate::config::SecretUrl::new(u.to_string()));
    let r = async {
        let store = Store::open(&target, 4).await?;
        store.migrate().await?;
        fill::fill(&store, n, Shape::Burst, Utc::now()).await?;
        let r = measure::measure(&store, iterations, true, |_| {}).await;
        store.db.close().await;
        r
    }
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    admin.close().await;
    r
}

/// The median of some figures.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}
