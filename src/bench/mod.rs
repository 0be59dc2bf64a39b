//! `opsdeck bench refresh`: fill a fresh Postgres database with a season (or an event-day
//! burst) of history, then time the console's reads against the seeds' own monitoring SQL.
//!
//! The fill (set-based, `generate_series`): N runs (~10 % failed; open states only in the last
//! 10 minutes) with 2 step logs each, N/10 errors (the failed runs), N jobs, 40 workflows,
//! 50 events with N/4 tickets between them and two capacity alerts each, N/100 approvals (20
//! pending) with rate negotiations, a reconciliation run a day with N/100 discrepancies (10 %
//! open), 20 broadcasts, a metrics row a minute and N/1000 operator actions. Timestamps are
//! uniform over the last 30 days (`season`) or the last 24 h (`burst`).
//!
//! What is timed, each at least 50 times after a warm-up: `Store::overview` (the refresh the
//! console does every poll), each view's first page through `api::refresh::load`, and the
//! seeds' SQL: seed 000 Phase 8's dashboard query (per workflow and status COUNT, AVG, MAX, MIN
//! and PERCENTILE_CONT(0.95) over runs started in the last 24 h) plus Phase 3's per-sale
//! capacity check (COUNT of an event's sold tickets).

mod fill;
mod measure;

use std::process::ExitCode;

use chrono::Utc;

use crate::cli::{self, Fail, Globals};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchWhat {
    /// Fill a fresh Postgres database and time the console's refresh against the seeds' SQL.
    Refresh(RefreshArgs),
}

#[derive(clap::Args, Debug)]
pub struct RefreshArgs {
    /// Runs (and jobs) to insert; the other tables scale from it.
    #[arg(long, default_value_t = 10_000)]
    pub rows: i64,
    /// History shape: a 30-day season or a 24 h event-day burst.
    #[arg(long, value_enum, default_value_t = Shape::Season)]
    pub shape: Shape,
    /// Timed repetitions per read (at least 50).
    #[arg(long, default_value_t = 60)]
    pub iterations: usize,
    /// Empty a non-fresh database first (TRUNCATE of every contract table). Never on real data.
    #[arg(long)]
    pub force: bool,
    /// Measure an already filled database (from an earlier run) without filling it.
    #[arg(long, conflicts_with = "force")]
    pub reuse: bool,
    /// Time only the overview refresh and the seeds' SQL (skip each view's first page).
    #[arg(long)]
    pub no_views: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Season,
    Burst,
}

pub async fn run(g: &Globals, args: BenchArgs) -> ExitCode {
    match args.what {
        BenchWhat::Refresh(r) => cli::finish(refresh(g, r).await),
    }
}

async fn refresh(g: &Globals, a: RefreshArgs) -> Result<(), Fail> {
    let file = cli::load_config(g)?;
    let t = cli::target(g, &file)?.ok_or_else(|| {
        Fail::new(
            2,
            "bench refresh needs a database: --database-url postgres://… (a fresh, throwaway one)",
        )
    })?;
    // the console's pool size (cli::console): the overview's reads run concurrently on it
    let store = cli::open_store(&t, 4).await?;
    let fail = |e: anyhow::Error| Fail::new(1, format!("{e:#}"));
    store
        .migrate()
        .await
        .map_err(|e| Fail::new(2, e.to_string()))?;
    let now = Utc::now();
    if !a.reuse {
        let existing = fill::existing_rows(&store).await.map_err(fail)?;
        if existing > 0 && !a.force {
            return Err(Fail::new(
                2,
                format!(
                    "{} is not empty: bench refresh only fills a fresh database (use --force to \
                     TRUNCATE every contract table first, or --reuse to measure it as it is)",
                    t.display_addr()
                ),
            ));
        }
        if existing > 0 {
            fill::truncate(&store).await.map_err(fail)?;
        }
        eprintln!(
            "filling {} with {} rows ({:?})",
            t.display_addr(),
            a.rows,
            a.shape
        );
        let started = std::time::Instant::now();
        fill::fill(&store, a.rows, a.shape, now)
            .await
            .map_err(fail)?;
        eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    }
    use std::io::Write as _;
    print!("{}", measure::header());
    let _ = std::io::stdout().flush();
    let r = measure::measure(&store, a.iterations.max(50), !a.no_views, |t| {
        print!("{}", t.line());
        let _ = std::io::stdout().flush();
    })
    .await
    .map_err(fail)?;
    // with --reuse the size is what the database holds, not --rows
    let rows = if a.reuse {
        store
            .db
            .fetch_one("SELECT count(*) AS n FROM workflow_executions", &[])
            .await
            .map_err(|e| fail(e.into()))?
            .n("n")
    } else {
        a.rows
    };
    println!(
        "refresh_p95_ms={:.2} seeds_sql_p95_ms={:.2} ratio={:.1} rows={}",
        r.refresh_p95_ms(),
        r.seeds_p95_ms(),
        r.seeds_p95_ms() / r.refresh_p95_ms().max(1e-9),
        rows
    );
    Ok(())
}
