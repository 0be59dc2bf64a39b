//! `opsdeck simulate`: the engine alone against any database (drills, load). Seeds the scenario
//! into an empty database, drives a populated one as it is; Ctrl-C or `--duration` stops it
//! cleanly and prints the summary.

use std::process::ExitCode;
use std::time::Duration;

use crate::api::Store;
use crate::cli::{Fail, Globals, SimulateArgs, finish, load_config, open_store, target};

use crate::sim::{Engine, EngineConfig, seed};

pub async fn run(g: &Globals, a: SimulateArgs) -> ExitCode {
    init_logging(g);
    finish(simulate(g, a).await)
}

/// Warnings (database errors the engine rides out) to stderr, or to --log-file.
fn init_logging(g: &Globals) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("opsdeck=warn"));
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match &g.log_file {
        Some(p) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            Ok(f) => b
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .try_init(),
            Err(_) => b.with_writer(std::io::stderr).try_init(),
        },
        None => b.with_writer(std::io::stderr).try_init(),
    };
}

pub fn config_from(a: &SimulateArgs) -> EngineConfig {
    EngineConfig {
        seed: a.seed,
        speed: a.speed,
        rate: a.rate,
        workers: a.workers.max(1),
        ..EngineConfig::default()
    }
}

async fn simulate(g: &Globals, a: SimulateArgs) -> Result<(), Fail> {
    if !(a.speed.is_finite() && a.speed > 0.0) {
        return Err(Fail::new(2, "--speed must be a positive number"));
    }
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return Err(Fail::new(2, "--rate must be zero or more jobs per second"));
    }
    let file = load_config(g)?;
    let t = target(g, &file)?.ok_or_else(|| {
        Fail::new(
            2,
            "simulate needs a database: --database-url URL, DATABASE_URL or the config file",
        )
    })?;
    let store = open_store(&t, (a.workers as u32).clamp(1, 64) + 4).await?;
    let r = drive(&store, &a, &t.display_addr()).await;
    store.db.close().await;
    r
}

async fn drive(store: &Store, a: &SimulateArgs, addr: &str) -> Result<(), Fail> {
    if let Ok(c) = store.inspect().await
        && crate::domain::adopt::kind(&c) == crate::domain::adopt::Kind::Adopted
    {
        // the engine writes opsdeck's own schema; an adopted database has its own writers
        return Err(Fail::new(
            2,
            format!(
                "{addr}: an adopted database (the platform's own tables): simulate writes opsdeck's own schema and would mix invented rows into yours; nothing was written. Run it on an empty database."
            ),
        ));
    }
    let pending = store.pending_migrations().await;
    if pending > 0 {
        return Err(Fail::new(
            2,
            format!(
                "{addr}: the schema is missing or out of date ({pending} migration(s) pending): run `opsdeck migrate` first"
            ),
        ));
    }
    let seeded = seed::is_seeded(store)
        .await
        .map_err(|e| Fail::new(2, format!("{addr}: {e}")))?;
    if !seeded {
        let rep = seed::seed_scenario(store, a.seed, chrono::Utc::now())
            .await
            .map_err(|e| Fail::new(2, format!("{addr}: seeding failed: {e}")))?;
        println!("{addr}: {rep}");
    }
    let cfg = config_from(a);
    println!(
        "simulating on {addr}: {} workers, {} jobs/s, speed {}x, seed {}{} (Ctrl-C to stop)",
        cfg.workers,
        cfg.rate,
        cfg.speed,
        cfg.seed,
        a.duration
            .map(|d| format!(", for {:.0?}", d))
            .unwrap_or_default()
    );
    let engine = Engine::start(store.clone(), cfg);
    let until = async {
        match a.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    let mut progress = tokio::time::interval(Duration::from_secs(5));
    progress.tick().await;
    tokio::pin!(until);
    loop {
        tokio::select! {
            _ = &mut until => break,
            r = tokio::signal::ctrl_c() => {
                if r.is_err() {
                    // no signal handling available: run until --duration
                    until.as_mut().await;
                }
                eprintln!("stopping…");
                break;
            }
            _ = progress.tick() => {
                let s = engine.summary();
                eprintln!(
                    "  {:>5.0}s  {:.0} jobs/s  completed {}  failed {}  retried {}  runs {}",
                    s.elapsed.as_secs_f64(), s.jobs_per_sec(), s.jobs_completed, s.jobs_failed,
                    s.jobs_retried, s.runs_started
                );
            }
        }
    }
    let summary = engine.stop().await;
    println!("{summary}");
    Ok(())
}
