//! CLI: picks a mode, nothing else.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use opsdeck::cli::actions::{ActOpts, Request, run as act};
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
    /// One of the config's [contexts.NAME] (an automation stack: a client, staging or
    /// production); default: `context =` in the config.
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply the embedded migrations (a no-op when up to date). On a database that already
    /// has the platform's tables, adopt it: keep every table and row, and add opsdeck's schema,
    /// views and indexes (`--plan` shows exactly what first).
    Migrate {
        /// Print what would be done to this database and change nothing.
        #[arg(long)]
        plan: bool,
        /// With --plan: the plan as JSON.
        #[arg(long, requires = "plan")]
        json: bool,
        /// With --plan: the adoption as one SQL script, for a DBA to read or run with psql.
        #[arg(long, requires = "plan", conflicts_with = "json")]
        sql: bool,
        /// Adopt without rollup and NOTIFY triggers on the writers' tables: the console polls
        /// (config: adopt_triggers = false).
        #[arg(long)]
        no_triggers: bool,
    },
    /// Open the embedded demo: a simulated event day on a local SQLite file.
    Demo {
        /// Start the demo over from a fresh seed.
        #[arg(long)]
        fresh: bool,
    },
    /// Run the simulated automation engine alone against a database (drills, load).
    Simulate(cli::SimulateArgs),
    /// Pause workflows (the engine starts no run and claims no job of a paused workflow).
    Pause {
        /// Workflow names or ids.
        #[arg(required = true, value_name = "WORKFLOW")]
        workflows: Vec<String>,
        /// Why (written to the workflow and the audit trail).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Resume paused workflows.
    Resume {
        #[arg(required = true, value_name = "WORKFLOW")]
        workflows: Vec<String>,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Put failed jobs back to pending: by id, or every failed job matching --job-type/--workflow.
    Retry {
        #[arg(value_name = "JOB_ID")]
        jobs: Vec<String>,
        /// Every failed job (narrowed by --job-type and --workflow), in one statement.
        #[arg(long)]
        all_failed: bool,
        #[arg(long, value_name = "TYPE")]
        job_type: Option<String>,
        #[arg(long, value_name = "WORKFLOW")]
        workflow: Option<String>,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Cancel pending or retrying jobs.
    Cancel {
        #[arg(required = true, value_name = "JOB_ID")]
        jobs: Vec<String>,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Start a failed or cancelled run again (as a new pending run).
    RetryRun {
        #[arg(value_name = "RUN_ID")]
        run: String,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Cancel a pending, running or waiting run.
    CancelRun {
        #[arg(value_name = "RUN_ID")]
        run: String,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Approve a rate negotiation (the waiting run continues).
    Approve {
        #[arg(value_name = "REQUEST_ID")]
        request: String,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Reject a rate negotiation (the waiting run ends); a note is required.
    Reject {
        #[arg(value_name = "REQUEST_ID")]
        request: String,
        #[arg(long)]
        note: String,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Call a decided request's resume_url (n8n Wait node) again.
    Resend {
        #[arg(value_name = "REQUEST_ID")]
        request: String,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Resolve (or --ignore) a reconciliation discrepancy.
    Resolve {
        #[arg(value_name = "DISCREPANCY_ID")]
        discrepancy: String,
        #[arg(long)]
        note: String,
        #[arg(long)]
        ignore: bool,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Acknowledge an event's open capacity alerts.
    Ack {
        /// Event name or id.
        #[arg(value_name = "EVENT")]
        event: String,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// The control room's alerts: the list (open, and the last day's), `alerts ack ID
    /// [--comment]`, `alerts silence ID --for 2h --comment TEXT`.
    Alerts(opsdeck::cli::alerts::AlertsArgs),
    /// A list as the console shows it (with --filter, every matching row) as CSV or JSON, to
    /// stdout or to a new file (--output).
    Export(opsdeck::cli::export::ExportArgs),
    /// Every context of the config, one line each: reachable, depth, critical errors, pending
    /// approvals, open alerts (exit 1 when one is unreachable).
    Contexts {
        /// Print JSON: {"contexts": [{name, production, default, database, reachable, error, …}]}.
        #[arg(long)]
        json: bool,
    },
    /// The post-incident record: actions, broadcasts, alerts, pauses and error bursts in time
    /// order (--since 2h, --format md|csv|json, -o PATH).
    Timeline(opsdeck::cli::timeline::TimelineArgs),
    /// List workflows from every source: the database and n8n (when configured).
    Workflows {
        /// Print JSON: {"workflows": [{source, id, name, status, detail}], "errors": [...]}.
        #[arg(long)]
        json: bool,
    },
    /// The opsdeck roles: `roles init` creates them and grants them their rights on this
    /// database (`--plan` prints the SQL for a DBA). `migrate` runs it when its login may.
    Roles {
        #[command(subcommand)]
        cmd: RolesCmd,
    },
    /// Who this database login is: its opsdeck roles and what they let it do.
    Whoami {
        /// Print JSON: {login, roles, role, basis, capabilities, advice, …}.
        #[arg(long)]
        json: bool,
    },
    /// One-line health for monitoring (Nagios exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Status {
        /// Print JSON instead of the Nagios line.
        #[arg(long)]
        json: bool,
    },
    /// Emergency broadcast: send (--level, --event/--venue, --message), preview (--dry-run),
    /// approve/cancel (four-eyes rule), status, retry, follow-up.
    Broadcast(cli::broadcast::BroadcastArgs),
    /// The shared listener for a control room: one LISTEN on the database (its listen_url when
    /// that is a Postgres URL, else database_url), passed on to every console whose
    /// listen_url is "opsdeck-relay://HOST:PORT".
    Relay {
        /// Where consoles connect.
        #[arg(long, default_value = opsdeck::api::relay::DEFAULT_BIND)]
        bind: String,
    },
    /// Benchmarks against a throwaway database (`bench refresh --rows N --shape season|burst`,
    /// `bench load --rate 500 --consoles 3 --duration 60s`).
    Bench(opsdeck::cli::bench::BenchArgs),
}

#[derive(Subcommand, Debug)]
enum RolesCmd {
    /// Create the roles (opsdeck_viewer, _operator, _approver, _broadcaster, _admin) when
    /// missing and grant them SELECT and the action functions here. Idempotent.
    Init {
        /// Print the SQL and change nothing.
        #[arg(long)]
        plan: bool,
    },
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
        context: args.context,
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
            Some(Command::Migrate {
                plan,
                json,
                sql,
                no_triggers,
            }) => {
                let how = cli::MigrateHow {
                    plan,
                    json,
                    sql,
                    no_triggers,
                };
                cli::migrate(&globals, how).await
            }
            Some(Command::Demo { fresh }) => cli::demo(&globals, fresh).await,
            Some(Command::Simulate(s)) => cli::simulate(&globals, s).await,
            Some(Command::Status { json }) => cli::status(&globals, json).await,
            Some(Command::Roles {
                cmd: RolesCmd::Init { plan },
            }) => cli::roles::init(&globals, plan).await,
            Some(Command::Whoami { json }) => cli::roles::whoami(&globals, json).await,
            Some(Command::Pause {
                workflows,
                reason,
                opts,
            }) => act(&globals, Request::Pause { workflows, reason }, opts).await,
            Some(Command::Resume { workflows, opts }) => {
                act(&globals, Request::Resume { workflows }, opts).await
            }
            Some(Command::Retry {
                jobs,
                all_failed,
                job_type,
                workflow,
                opts,
            }) => {
                let r = Request::Retry {
                    jobs,
                    all_failed,
                    job_type,
                    workflow,
                };
                act(&globals, r, opts).await
            }
            Some(Command::Cancel { jobs, opts }) => {
                act(&globals, Request::Cancel { jobs }, opts).await
            }
            Some(Command::RetryRun { run, opts }) => {
                act(&globals, Request::RetryRun { run }, opts).await
            }
            Some(Command::CancelRun { run, opts }) => {
                act(&globals, Request::CancelRun { run }, opts).await
            }
            Some(Command::Approve {
                request,
                note,
                opts,
            }) => {
                let r = Request::Decide {
                    request,
                    approve: true,
                    note,
                };
                act(&globals, r, opts).await
            }
            Some(Command::Reject {
                request,
                note,
                opts,
            }) => {
                let r = Request::Decide {
                    request,
                    approve: false,
                    note: Some(note),
                };
                act(&globals, r, opts).await
            }
            Some(Command::Resend { request, opts }) => {
                act(&globals, Request::Resend { request }, opts).await
            }
            Some(Command::Resolve {
                discrepancy,
                note,
                ignore,
                opts,
            }) => {
                let r = Request::Resolve {
                    discrepancy,
                    note,
                    ignore,
                };
                act(&globals, r, opts).await
            }
            Some(Command::Ack { event, opts }) => act(&globals, Request::Ack { event }, opts).await,
            Some(Command::Alerts(a)) => opsdeck::cli::alerts::run(&globals, a).await,
            Some(Command::Export(a)) => opsdeck::cli::export::run(&globals, a).await,
            Some(Command::Contexts { json }) => opsdeck::cli::contexts::run(&globals, json).await,
            Some(Command::Timeline(a)) => opsdeck::cli::timeline::run(&globals, a).await,
            Some(Command::Workflows { json }) => cli::n8n::workflows(&globals, json).await,
            Some(Command::Broadcast(b)) => cli::broadcast::run(&globals, b).await,
            Some(Command::Bench(b)) => opsdeck::cli::bench::run(&globals, b).await,
            Some(Command::Relay { bind }) => cli::relay(&globals, &bind).await,
            None => cli::console(&globals).await,
        }
    });
    // don't wait for blocked stdin readers or lingering tasks
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}
