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
//!
//! `opsdeck bench load` (see [`load`]): the consoles' refresh idle and then while the simulated
//! engine runs at `--rate` jobs/s and an operator retries failed jobs in bulk; the ratio, the
//! engine's throughput and the deadlocks Postgres counted.

use std::process::ExitCode;

use chrono::Utc;

use crate::bench::{Shape, fill, load, measure};
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
    /// Refresh p50/p95 idle, then with the simulated engine at --rate jobs/s, --consoles
    /// watching and one operator retrying every failed job each second.
    Load(LoadArgs),
    /// The control room: N headless consoles on the Overview during an engine burst, each
    /// set-up (notify, poll, replica) with one console and with N: the primary's CPU and
    /// transactions, change → state p50/p95, connections. Makes its own primary and replica.
    Consoles(ConsolesArgs),
    /// Adopting seed 004's database: its queue workers' throughput not adopted, adopted without
    /// triggers and with them (ratios), and the refresh beside opsdeck's own schema.
    Adopt(AdoptArgs),
}

#[derive(clap::Args, Debug)]
pub struct AdoptArgs {
    /// Runs and jobs in seed 004's tables before the writers start.
    #[arg(long, default_value_t = 100_000)]
    pub rows: i64,
    /// Writer connections running seed 004's queue loop.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// How long the writers run in each state of each round.
    #[arg(long, default_value = "10s", value_parser = cli::parse_duration)]
    pub phase: std::time::Duration,
    /// Rounds of (not adopted, no triggers, triggers); the medians are reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Timed repetitions per read for the refresh comparison (at least 50).
    #[arg(long, default_value_t = 60)]
    pub iterations: usize,
    /// Skip the refresh comparison (it fills a second database with as many rows).
    #[arg(long)]
    pub no_refresh: bool,
}

#[derive(clap::Args, Debug)]
pub struct ConsolesArgs {
    /// Consoles in the big phases.
    #[arg(long, default_value_t = 50)]
    pub n: usize,
    /// Jobs enqueued per second by the simulated engine.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// How long each phase lasts (at least 10 s).
    #[arg(long, default_value = "20s", value_parser = cli::parse_duration)]
    pub phase: std::time::Duration,
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Jobs enqueued per second by the simulated engine.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Consoles refreshing (overview, queue, runs, … in turn).
    #[arg(long, default_value_t = 3)]
    pub consoles: usize,
    /// How long the load runs (the idle measurement before it takes a third of this, ≥ 10 s).
    #[arg(long, default_value = "60s", value_parser = cli::parse_duration)]
    pub duration: std::time::Duration,
    /// Empty a non-fresh database first (TRUNCATE of every contract table). Never on real data.
    #[arg(long)]
    pub force: bool,
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

pub async fn run(g: &Globals, args: BenchArgs) -> ExitCode {
    match args.what {
        BenchWhat::Refresh(r) => cli::finish(refresh(g, r).await),
        BenchWhat::Load(l) => cli::finish(load_bench(g, l).await),
        BenchWhat::Adopt(a) => cli::finish(adopt_bench(g, a).await),
        BenchWhat::Consoles(c) => cli::finish(consoles_bench(c).await),
    }
}

async fn consoles_bench(a: ConsolesArgs) -> Result<(), Fail> {
    if a.n == 0 {
        return Err(Fail::new(2, "--n must be at least 1"));
    }
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(Fail::new(
            2,
            "--rate must be more than zero jobs per second",
        ));
    }
    if a.phase < std::time::Duration::from_secs(10) {
        return Err(Fail::new(2, "--phase must be at least 10s"));
    }
    let cfg = crate::bench::consoles::ConsolesConfig {
        n: a.n,
        rate: a.rate,
        phase: a.phase,
    };
    let r = crate::bench::consoles::run(&cfg, |m| eprintln!("{m}"))
        .await
        .map_err(|e| Fail::new(1, format!("{e:#}")))?;
    print!("{}", crate::bench::consoles::table(&r));
    println!("engine: {}", r.engine);
    Ok(())
}

async fn adopt_bench(g: &Globals, a: AdoptArgs) -> Result<(), Fail> {
    use crate::bench::adopt::{self, State};
    use std::io::Write as _;
    let file = cli::load_config(g)?;
    let t = cli::target(g, &file)?.ok_or_else(|| {
        Fail::new(
            2,
            "bench adopt needs a database: --database-url postgres://… (an empty, throwaway one)",
        )
    })?;
    let crate::config::DbTarget::Postgres(url) = &t else {
        return Err(Fail::new(2, "bench adopt runs on Postgres"));
    };
    let url = url.expose().to_string();
    let fail = |e: anyhow::Error| Fail::new(1, format!("{e:#}"));
    let store = cli::open_store(&t, 4).await?;
    let c = store.inspect().await.map_err(|e| fail(e.into()))?;
    if !c.tables.is_empty() {
        return Err(Fail::new(
            2,
            format!(
                "{} is not empty: bench adopt creates seed 004's tables in an empty, throwaway database",
                t.display_addr()
            ),
        ));
    }
    eprintln!(
        "filling seed 004's tables with {} runs and {} jobs",
        a.rows, a.rows
    );
    let started = std::time::Instant::now();
    adopt::fill_seed_004(&url, a.rows).await.map_err(fail)?;
    eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "seed 004's queue loop (insert, claim FOR UPDATE SKIP LOCKED, complete), {} writers, {:?} per state",
        a.workers, a.phase
    );
    println!("{:<6} {:<22} {:>10}", "round", "state", "loops/s");
    let mut got: Vec<(State, f64)> = Vec::new();
    for round in 1..=a.rounds.max(1) {
        for s in State::ALL {
            adopt::enter(&store, &url, s).await.map_err(fail)?;
            let r = adopt::writer_loop(&url, a.workers.max(1), a.phase)
                .await
                .map_err(fail)?;
            println!("{round:<6} {:<22} {r:>10.1}", s.label());
            let _ = std::io::stdout().flush();
            got.push((s, r));
        }
    }
    let med = |s: State| {
        adopt::median(
            &got.iter()
                .filter(|(x, _)| *x == s)
                .map(|(_, r)| *r)
                .collect::<Vec<_>>(),
        )
    };
    let before = med(State::Before).max(1e-9);
    println!("median  {:<22} {:>10.1}", State::Before.label(), before);
    for s in [State::NoTriggers, State::Triggers] {
        println!(
            "median  {:<22} {:>10.1}  ratio {:.3}",
            s.label(),
            med(s),
            med(s) / before
        );
    }
    let mut tail = format!(
        "writer_ratio_no_triggers={:.3} writer_ratio_triggers={:.3} writer_loops_per_s={:.1}",
        med(State::NoTriggers) / before,
        med(State::Triggers) / before,
        before
    );
    if !a.no_refresh {
        // the console's refresh on the adopted database (with triggers) beside opsdeck's own
        adopt::enter(&store, &url, State::Triggers)
            .await
            .map_err(fail)?;
        let n = a.iterations.max(50);
        let adopted = measure::measure(&store, n, true, |_| {})
            .await
            .map_err(fail)?;
        eprintln!(
            "filling a second database with opsdeck's own schema and {} rows",
            a.rows
        );
        let native = adopt::native_refresh(&url, a.rows, n).await.map_err(fail)?;
        println!(
            "\n{:<36} {:>12} {:>12} {:>7}",
            "read (p95 ms)", "adopted 004", "opsdeck's", "ratio"
        );
        for (x, y) in adopted.rows.iter().zip(&native.rows) {
            println!(
                "{:<36} {:>12.2} {:>12.2} {:>7.2}",
                x.name,
                x.p(0.95),
                y.p(0.95),
                x.p(0.95) / y.p(0.95).max(1e-9)
            );
        }
        let views_max = |r: &measure::Report| {
            r.rows
                .iter()
                .filter(|t| t.name.ends_with("first page"))
                .map(|t| t.p(0.95))
                .fold(0.0, f64::max)
        };
        tail.push_str(&format!(
            " refresh_p95_adopted_ms={:.2} refresh_p95_native_ms={:.2} refresh_ratio={:.2} views_p95_max_adopted_ms={:.2} views_p95_max_native_ms={:.2}",
            adopted.refresh_p95_ms(),
            native.refresh_p95_ms(),
            adopted.refresh_p95_ms() / native.refresh_p95_ms().max(1e-9),
            views_max(&adopted),
            views_max(&native),
        ));
    }
    store.db.close().await;
    println!("{tail} rows={}", a.rows);
    Ok(())
}

async fn load_bench(g: &Globals, a: LoadArgs) -> Result<(), Fail> {
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return Err(Fail::new(2, "--rate must be zero or more jobs per second"));
    }
    if a.consoles == 0 {
        return Err(Fail::new(2, "--consoles must be at least 1"));
    }
    let file = cli::load_config(g)?;
    let t = cli::target(g, &file)?.ok_or_else(|| {
        Fail::new(
            2,
            "bench load needs a database: --database-url postgres://… (a fresh, throwaway one)",
        )
    })?;
    // the engine's workers, the consoles, the operator and a spare
    let store = cli::open_store(&t, 2).await?;
    let fail = |e: anyhow::Error| Fail::new(1, format!("{e:#}"));
    store
        .migrate()
        .await
        .map_err(|e| Fail::new(2, e.to_string()))?;
    let existing = fill::existing_rows(&store).await.map_err(fail)?;
    if existing > 0 && !a.force {
        return Err(Fail::new(
            2,
            format!(
                "{} is not empty: bench load only runs on a fresh database (use --force to \
                 TRUNCATE every contract table first)",
                t.display_addr()
            ),
        ));
    }
    if existing > 0 {
        fill::truncate(&store).await.map_err(fail)?;
    }
    let rep = crate::sim::seed::seed_scenario(&store, 42, Utc::now())
        .await
        .map_err(fail)?;
    eprintln!("{}: {rep}", t.display_addr());
    let idle_for = (a.duration / 3).max(std::time::Duration::from_secs(10));
    eprintln!("idle: {} consoles for {:.0?} …", a.consoles, idle_for);
    let idle = load::run(
        &t,
        &load::LoadConfig {
            consoles: a.consoles,
            duration: idle_for,
            engine: None,
            retry_every: std::time::Duration::from_secs(1),
        },
    )
    .await
    .map_err(fail)?;
    eprintln!(
        "load: engine at {} jobs/s, {} consoles, bulk retries every 1 s, for {:.0?} …",
        a.rate, a.consoles, a.duration
    );
    let busy = load::run(
        &t,
        &load::LoadConfig {
            consoles: a.consoles,
            duration: a.duration,
            engine: Some(load::engine_config(a.rate, 42)),
            retry_every: std::time::Duration::from_secs(1),
        },
    )
    .await
    .map_err(fail)?;
    store.db.close().await;
    print!("{}", load_table(&idle, &busy));
    let engine = busy.engine.clone().unwrap_or_default();
    println!("engine: {engine}");
    let retried: u64 = busy.retries.iter().map(|r| r.changed).sum();
    println!(
        "operator: {} bulk retries, {} jobs retried · errors: {} (idle {})",
        busy.retries.len(),
        retried,
        busy.errors.len(),
        idle.errors.len()
    );
    for e in busy.errors.iter().chain(&idle.errors).take(10) {
        println!(
            "  {}: {} {}",
            e.party,
            e.sqlstate.as_deref().unwrap_or("-"),
            e.message
        );
    }
    println!(
        "lock waits: {} statements seen waiting on a lock in {} samples (one every 100 ms)",
        busy.lock_waits.iter().map(|w| w.1).sum::<u64>(),
        busy.lock_samples
    );
    for (q, n) in busy.lock_waits.iter().take(8) {
        println!("  {n:>5}  {q}");
    }
    let (lp, ip) = (busy.p(0.95), idle.p(0.95));
    println!(
        "load_refresh_p95_ms={:.2} idle_refresh_p95_ms={:.2} ratio={:.2} jobs_per_s={:.0} deadlocks={}",
        lp,
        ip,
        lp / ip.max(1e-9),
        engine.jobs_per_sec(),
        busy.deadlocks() + idle.deadlocks()
    );
    Ok(())
}

fn load_table(idle: &load::LoadResult, busy: &load::LoadResult) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<28} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "refresh", "idle p50", "idle p95", "load p50", "load p95", "n load"
    );
    let row = |s: &mut String, name: &str, i: &[f64], b: &[f64]| {
        let _ = writeln!(
            s,
            "{:<28} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            name,
            load::pct(i, 0.5),
            load::pct(i, 0.95),
            load::pct(b, 0.5),
            load::pct(b, 0.95),
            b.len()
        );
    };
    for (v, b) in &busy.by_view {
        let i = idle
            .by_view
            .iter()
            .find(|(w, _)| w == v)
            .map(|(_, m)| m.as_slice())
            .unwrap_or(&[]);
        row(&mut s, &format!("{} (ms)", v.title()), i, b);
    }
    row(
        &mut s,
        "all consoles (ms)",
        &idle.refresh_ms,
        &busy.refresh_ms,
    );
    s
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
        fill::runs_held(&store).await.map_err(|e| fail(e.into()))?
    } else {
        a.rows
    };
    // the slowest view's first page (with the views measured), for the last line
    let slowest = r
        .rows
        .iter()
        .filter(|t| t.name.ends_with("first page"))
        .map(|t| {
            (
                t.p(0.95),
                t.name.trim_end_matches(" first page").replace(' ', "_"),
            )
        })
        .fold(None::<(f64, String)>, |best, x| match best {
            Some(b) if b.0 >= x.0 => Some(b),
            _ => Some(x),
        });
    let views = match &slowest {
        Some((ms, name)) => format!(" views_p95_max_ms={ms:.2} slowest_view={name}"),
        None => String::new(),
    };
    println!(
        "refresh_p95_ms={:.2} seeds_sql_p95_ms={:.2} ratio={:.1} rows={}{views}",
        r.refresh_p95_ms(),
        r.seeds_p95_ms(),
        r.seeds_p95_ms() / r.refresh_p95_ms().max(1e-9),
        rows
    );
    Ok(())
}
