//! CLI: picks a mode, nothing else.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use opsdeck::cli::{self, Globals};

#[derive(Parser, Debug)]
#[command(
    name = "opsdeck",
    version,
    about = "Terminal operations console for an event-automation platform"
)]
struct Cli {
    /// Database URL (postgres://… or sqlite://PATH). Falls back to $DATABASE_URL, then the
    /// config file; with none, opsdeck opens the embedded demo.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/opsdeck/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Theme: default, light, high-contrast, mono, or a path to a theme file.
    #[arg(long, global = true, value_name = "NAME|PATH")]
    theme: Option<String>,
    /// Never change anything; mutating keys do nothing.
    #[arg(long, global = true)]
    read_only: bool,
    /// Operator name written to the audit trail (default: $USER@host).
    #[arg(long, global = true)]
    operator: Option<String>,
    /// Log file (default: $XDG_DATA_HOME/opsdeck/opsdeck.log).
    #[arg(long, global = true, value_name = "PATH")]
    log_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply the embedded migrations (a no-op when up to date).
    Migrate,
    /// Open the embedded demo: a simulated event day on a local SQLite file.
    Demo {
        /// Start the demo over from a fresh seed.
        #[arg(long)]
        fresh: bool,
    },
    /// Run the simulated automation engine alone against a database (drills, load).
    Simulate(cli::SimulateArgs),
    /// One-line health for monitoring (Nagios exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Status {
        /// Print JSON instead of the Nagios line.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks against a throwaway database (`bench refresh --rows N --shape season|burst`).
    Bench(opsdeck::bench::BenchArgs),
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let globals = Globals {
        database_url: args.database_url,
        config: args.config,
        theme: args.theme,
        read_only: args.read_only,
        operator: args.operator,
        log_file: args.log_file,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("opsdeck: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = rt.block_on(async move {
        match args.command {
            Some(Command::Migrate) => cli::migrate(&globals).await,
            Some(Command::Demo { fresh }) => cli::demo(&globals, fresh).await,
            Some(Command::Simulate(s)) => cli::simulate(&globals, s).await,
            Some(Command::Status { json }) => cli::status(&globals, json).await,
            Some(Command::Bench(b)) => opsdeck::bench::run(&globals, b).await,
            None => cli::console(&globals).await,
        }
    });
    // don't wait for blocked stdin readers or lingering tasks
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}
