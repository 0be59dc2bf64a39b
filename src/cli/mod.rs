//! Subcommand bodies: resolve configuration, open the store, hand over to the console, the
//! engine or a one-shot command. Errors print one clear line and exit 2 (never a backtrace).

pub mod actions;
mod adopt;
pub mod alerts;
pub mod bench;
pub mod broadcast;
pub mod contexts;
pub mod export;
pub mod n8n;
pub mod roles;
mod simulate;
mod status;
pub mod timeline;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::api::Store;
use crate::api::db::describe_sqlx as describe;
use crate::config::{self, DbTarget, FileConfig};
use crate::domain::adopt::Kind;

/// Flags shared by every subcommand.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub database_url: Option<String>,
    pub config: Option<PathBuf>,
    pub theme: Option<String>,
    pub read_only: bool,
    pub operator: Option<String>,
    pub log_file: Option<PathBuf>,
    /// `--context NAME`: one of the config's `[contexts.NAME]`.
    pub context: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Random seed: the same seed gives the same scenario and the same run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Time compression: 60 makes one simulated minute pass per second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Jobs enqueued per second (load).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Stop after this long (e.g. 30s, 5m, 1h); default: until Ctrl-C.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Worker tasks claiming jobs.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
}

pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (try 30s, 5m, 1h)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use ms, s, m or h)")),
    };
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// A one-line failure with its exit code.
#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub msg: String,
}

impl Fail {
    pub fn new(code: u8, msg: impl Into<String>) -> Self {
        Fail {
            code,
            msg: msg.into(),
        }
    }
}

pub fn finish(r: Result<(), Fail>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("opsdeck: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

/// The loaded configuration file (default place or --config).
pub fn load_config(g: &Globals) -> Result<FileConfig, Fail> {
    load_config_file(g)?
        .with_context(g.context.as_deref())
        .map_err(|e| Fail::new(2, e))
}

/// The configuration file as written, no context applied.
pub fn load_config_file(g: &Globals) -> Result<FileConfig, Fail> {
    match &g.config {
        Some(p) => FileConfig::load(p, true),
        None => match config::default_config_path() {
            Some(p) => FileConfig::load(&p, false),
            None => Ok(FileConfig::default()),
        },
    }
    .map_err(|e| Fail::new(2, e.to_string()))
}

/// The configured database, or None for the embedded demo.
pub fn target(g: &Globals, file: &FileConfig) -> Result<Option<DbTarget>, Fail> {
    match config::resolve_database_url(g.database_url.as_deref(), file) {
        None => Ok(None),
        Some(u) => DbTarget::parse(&u).map(Some).map_err(|e| Fail::new(2, e)),
    }
}

/// The database a command works on, opened with `conns` connections. `what` starts the error
/// when none is configured: "the timeline needs" → "the timeline needs a database: …".
pub async fn need_store(
    g: &Globals,
    file: &FileConfig,
    what: &str,
    conns: u32,
) -> Result<(DbTarget, Store), Fail> {
    let t = target(g, file)?.ok_or_else(|| {
        Fail::new(
            2,
            format!("{what} a database: --database-url URL or DATABASE_URL"),
        )
    })?;
    let store = open_store(&t, conns).await?;
    Ok((t, store))
}

pub async fn open_store(t: &DbTarget, conns: u32) -> Result<Store, Fail> {
    Store::open(t, conns)
        .await
        .map_err(|e| Fail::new(2, e.to_string()))
}

/// What `opsdeck migrate` was asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrateHow {
    pub plan: bool,
    pub json: bool,
    pub sql: bool,
    pub no_triggers: bool,
}

pub async fn migrate(g: &Globals, how: MigrateHow) -> ExitCode {
    finish(
        async {
            let file = load_config(g)?;
            let t = target(g, &file)?.ok_or_else(|| {
                Fail::new(
                    2,
                    "migrate needs a database: --database-url URL or DATABASE_URL",
                )
            })?;
            let store = open_store(&t, 1).await?;
            let opts = crate::api::store::adopt::script::Options {
                triggers: !how.no_triggers && file.adopt_triggers.unwrap_or(true),
                ..Default::default()
            };
            let r = migrate_store(&store, &t, how, &opts).await;
            store.db.close().await;
            r
        }
        .await,
    )
}

/// Why the console cannot read this database yet (migrations pending): not adopted, or
/// missing / out of date.
pub(crate) async fn unready(store: &Store, t: &DbTarget) -> String {
    match not_opsdecks(store, t).await {
        Some(why) => why,
        None => format!(
            "{}: the schema is missing or out of date ({} migration(s) pending): run `opsdeck migrate` first",
            t.display_addr(),
            store.pending_migrations().await
        ),
    }
}

/// The database is not opsdeck's at all: someone else's tables (not adopted), or empty.
pub(crate) async fn not_opsdecks(store: &Store, t: &DbTarget) -> Option<String> {
    let addr = t.display_addr();
    let c = store.inspect().await.ok()?;
    match crate::domain::adopt::kind(&c) {
        Kind::Existing => Some(adopt::not_adopted(&addr, &c)),
        Kind::Fresh => Some(format!(
            "{addr}: no opsdeck schema in this database: run `opsdeck migrate` first"
        )),
        Kind::Opsdeck => None,
        Kind::Adopted => c.adoption.as_ref().and_then(|a| {
            if a.version > crate::api::store::adopt::script::VERSION {
                Some(format!(
                    "{addr}: adopted by a newer opsdeck (adoption version {}, this binary reads {}): upgrade opsdeck",
                    a.version,
                    crate::api::store::adopt::script::VERSION
                ))
            } else {
                (!a.finished).then(|| adopt::half_adopted(&addr, a))
            }
        }),
    }
}

async fn migrate_store(
    store: &Store,
    t: &DbTarget,
    how: MigrateHow,
    opts: &crate::api::store::adopt::script::Options,
) -> Result<(), Fail> {
    let plan = how.plan;
    let json = how.json;
    let addr = t.display_addr();
    let catalog = store.inspect().await.map_err(|e| {
        Fail::new(
            2,
            format!("{addr}: cannot read the catalog: {}", describe(&e)),
        )
    })?;
    let p = crate::api::store::adopt::plan(&catalog, opts);
    let adopting = matches!(p.kind, Kind::Existing | Kind::Adopted);
    if plan {
        let pending = store.pending_migration_names().await;
        if how.sql {
            if !adopting {
                return Err(Fail::new(
                    2,
                    format!(
                        "{addr}: --sql prints an adoption, and this database is not one to adopt ({:?}): `opsdeck migrate --plan` says what migrate would do",
                        p.kind
                    ),
                ));
            }
            let stmts = crate::api::store::adopt::script::statements(&catalog, opts);
            print!("{}", crate::api::store::adopt::script::script_text(&stmts));
        } else if json {
            let v = serde_json::json!({
                "database": addr, "kind": p.kind, "steps": p.steps,
                "pending_migrations": pending, "changed": false,
            });
            println!("{v:#}");
        } else {
            print!("{}", adopt::render_plan(&addr, &p, &pending));
        }
        return Ok(());
    }
    if adopting {
        let r = store
            .adopt(&catalog, opts)
            .await
            .map_err(|e| Fail::new(2, format!("{addr}: {e}")))?;
        println!("{}", adopt::adopted(&addr, &r, opts));
        return Ok(());
    }
    let r = store
        .migrate()
        .await
        .map_err(|e| Fail::new(2, format!("{addr}: {e}")))?;
    if r.applied_now == 0 {
        println!("{addr}: up to date ({} migrations)", r.total);
    } else {
        println!(
            "{addr}: applied {} of {} migrations",
            r.applied_now, r.total
        );
    }
    roles::after_migrate(store, &addr).await;
    Ok(())
}

/// The embedded demo: a SQLite file in the data dir, migrated, seeded on first use, with the
/// simulated engine in this process. Seeding and the engine start in the background so the first
/// frame does not wait for them.
pub async fn demo(g: &Globals, fresh: bool) -> ExitCode {
    finish(
        async {
            let file = load_config(g)?;
            run_demo(g, &file, fresh).await
        }
        .await,
    )
}

async fn run_demo(g: &Globals, file: &FileConfig, fresh: bool) -> Result<(), Fail> {
    let _log = init_file_logging(g, file);
    let dir =
        config::data_dir().ok_or_else(|| Fail::new(2, "no data directory: set XDG_DATA_HOME"))?;
    std::fs::create_dir_all(&dir).map_err(|e| Fail::new(2, format!("{}: {e}", dir.display())))?;
    let path = dir.join("demo.db");
    if fresh {
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Fail::new(2, format!("{}: {e}", p.display()))),
            }
        }
    }
    let t = DbTarget::Sqlite(path);
    let store = open_store(&t, 6).await?;
    store
        .migrate()
        .await
        .map_err(|e| Fail::new(2, format!("{}: {e}", t.display_addr())))?;
    let bg_store = store.clone();
    let engine = tokio::spawn(async move {
        match crate::sim::seed::is_seeded(&bg_store).await {
            Ok(true) => {}
            Ok(false) => {
                if let Err(e) =
                    crate::sim::seed::seed_scenario(&bg_store, 42, chrono::Utc::now()).await
                {
                    tracing::error!("seeding the demo failed: {e:#}");
                }
            }
            Err(e) => tracing::error!("reading the demo database failed: {e:#}"),
        }
        crate::sim::Engine::start(bg_store, crate::sim::EngineConfig::default())
    });
    let mut opts = app_options(
        g,
        file,
        store.clone(),
        crate::domain::mode::Mode::Demo,
        t.short_name(),
    )?;
    // the demo's engine works in euros, whatever the config says for a real database
    opts.currency = Default::default();
    let r = crate::app::run(opts).await;
    if let Ok(engine) = engine.await {
        engine.stop().await;
    }
    store.db.close().await;
    r.map(|_| ()).map_err(|e| Fail::new(1, format!("{e:#}")))
}

/// Theme, keymap, refresh and operator from flags and the config file.
fn app_options(
    g: &Globals,
    file: &FileConfig,
    store: Store,
    mode: crate::domain::mode::Mode,
    db_label: String,
) -> Result<crate::app::AppOptions, Fail> {
    let theme = crate::theme::Theme::resolve(
        g.theme.as_deref(),
        file.theme.as_deref(),
        crate::theme::no_color_env(),
    )
    .map_err(|e| Fail::new(2, e.to_string()))?;
    let keymap = crate::keymap::Keymap::load(crate::keymap::Keymap::user_path().as_deref())
        .map_err(|e| Fail::new(2, e.to_string()))?;
    Ok(crate::app::AppOptions {
        store,
        mode,
        theme,
        keymap,
        refresh: file.refresh(),
        operator: config::resolve_operator(g.operator.as_deref(), file),
        db_label,
        notice: None,
        n8n: config::resolve_n8n(file)
            .map_err(|e| Fail::new(2, e))?
            .map(|s| crate::app::N8nPoll {
                client: crate::api::n8n::N8nClient::from_settings(&s),
                every: s.poll_interval,
            }),
        n8n_queue: config::resolve_queue(file).map_err(|e| Fail::new(2, e))?,
        broadcast: config::resolve_broadcast(file).map_err(|e| Fail::new(2, e))?,
        listen: crate::app::ListenOn::Database,
        absent: Vec::new(),
        replica: None,
        currency: file.currency.clone().unwrap_or_default(),
        access: crate::domain::role::Access::demo(),
        alerts: file.alerts.clone().unwrap_or_default().rules(),
        context: file.active.as_ref().map(|c| (c.name.clone(), c.production)),
        // read from the file as written: each context applied to the top level, not to the
        // context in use
        contexts: crate::api::contexts::Probes::of(&load_config_file(g)?)
            .map_err(|e| Fail::new(2, e))?,
    })
}

/// `opsdeck` with no subcommand: the console on the configured database, or the demo. `:ctx
/// NAME` closes it and opens it again on that context; a context that cannot be opened leaves
/// the console on the one it was on, saying why.
pub async fn console(g: &Globals) -> ExitCode {
    let mut g = g.clone();
    let mut notice = None;
    loop {
        match console_once(&g, notice.take()).await {
            Ok(Some(next)) => {
                let prev = g.context.clone();
                let mut try_g = g.clone();
                try_g.context = Some(next.clone());
                // the new context must at least open; else stay where we were
                match load_config(&try_g).and_then(|f| target(&try_g, &f).map(|t| (f, t))) {
                    Ok((_, Some(t))) => match open_store(&t, 1).await {
                        Ok(s) => {
                            s.db.close().await;
                            g = try_g;
                        }
                        Err(e) => {
                            notice = Some(format!("context {next} unreachable: {}", e.msg));
                            g.context = prev;
                        }
                    },
                    Ok((_, None)) => {
                        notice = Some(format!("context {next} names no database"));
                    }
                    Err(e) => notice = Some(format!("context {next}: {}", e.msg)),
                }
            }
            Ok(None) => return ExitCode::SUCCESS,
            Err(f) => return finish(Err(f)),
        }
    }
}

async fn console_once(g: &Globals, switch_notice: Option<String>) -> Result<Option<String>, Fail> {
    {
        {
            let file = load_config(g)?;
            let Some(t) = target(g, &file)? else {
                return run_demo(g, &file, false).await.map(|_| None);
            };
            let _log = init_file_logging(g, &file);
            let read_url = config::resolve_read_url(&file);
            // LISTEN takes a connection of this pool unless listen_url sends it elsewhere, or
            // a transaction pooler rules it out (the console polls)
            let listen_here = config::resolve_listen_url(&file).is_none()
                && match &t {
                    DbTarget::Postgres(u) => {
                        crate::api::db::pooling_of(u.expose()).1 == crate::api::db::Pooling::Direct
                    }
                    DbTarget::Sqlite(_) => true,
                };
            let (conns, read_conns) = crate::app::pool_sizes(read_url.is_some(), listen_here);
            let store = open_store(&t, conns).await?;
            if store.pending_migrations().await > 0 {
                return Err(Fail::new(2, unready(&store, &t).await));
            }
            let mut read_only = g.read_only || file.read_only.unwrap_or(false);
            let mut notice = None;
            // who the login is: a role decides key by key; a login without write rights (and
            // no role) gets a read-only console rather than one whose every action fails
            let access = match store.access().await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("cannot read the login's roles: {e}");
                    crate::domain::role::Access::demo()
                }
            };
            use crate::domain::role::Basis;
            if !read_only
                && matches!(
                    access.basis,
                    Basis::Grants { write: false } | Basis::Unenforced { write: false }
                )
            {
                read_only = true;
                notice = Some(
                    "read-only: this database role may not change the action tables".to_string(),
                );
            }
            let mode = if read_only {
                crate::domain::mode::Mode::ReadOnly
            } else {
                crate::domain::mode::Mode::Live
            };
            let mut opts = app_options(g, &file, store.clone(), mode, t.short_name())?;
            opts.notice = switch_notice.or(notice);
            opts.access = access;
            opts.absent = store.absent_tables().await;
            // LISTEN on its own direct connection, when one is configured
            let listen_url = config::resolve_listen_url(&file);
            if let Some(r) = listen_url.as_deref().and_then(crate::api::relay::address) {
                opts.listen = crate::app::ListenOn::Relay(r.map_err(|e| Fail::new(2, e))?);
            } else if let Some(u) = listen_url {
                let lt =
                    DbTarget::parse(&u).map_err(|e| Fail::new(2, format!("listen_url: {e}")))?;
                match Store::open(&lt, 1).await {
                    Ok(l) => opts.listen = crate::app::ListenOn::Own(l),
                    Err(e) => {
                        // not on the database URL's pool instead: it was sized without LISTEN
                        opts.listen = crate::app::ListenOn::Nowhere;
                        tracing::warn!("listen_url: {e}");
                        opts.notice =
                            Some(format!("listen_url unreachable ({e}): the console polls"));
                    }
                }
            }
            // the views read a replica, when one is configured
            if let Some(u) = read_url {
                let rt = DbTarget::parse(&u).map_err(|e| Fail::new(2, format!("read_url: {e}")))?;
                match Store::open(&rt, read_conns).await {
                    Ok(r) => opts.replica = Some(r),
                    Err(e) => {
                        tracing::warn!("read_url: {e}");
                        opts.notice = Some(format!(
                            "read_url unreachable ({e}): the views read the primary"
                        ));
                    }
                }
            }
            let r = crate::app::run(opts).await;
            store.db.close().await;
            r.map_err(|e| Fail::new(1, format!("{e:#}")))
        }
    }
}

/// `opsdeck relay`: one LISTEN for every console of a control room (see `api::relay`).
pub async fn relay(g: &Globals, bind: &str) -> ExitCode {
    init_relay_logging();
    finish(
        async {
            let file = load_config(g)?;
            let t = target(g, &file)?.ok_or_else(|| {
                Fail::new(
                    2,
                    "opsdeck relay needs the database: database_url in the config, OPSDECK_DATABASE_URL or --database-url",
                )
            })?;
            // its own LISTEN: listen_url when that is a Postgres URL (not the relay itself)
            let lt = match config::resolve_listen_url(&file) {
                Some(u) if crate::api::relay::address(&u).is_none() => {
                    DbTarget::parse(&u).map_err(|e| Fail::new(2, format!("listen_url: {e}")))?
                }
                _ => t,
            };
            let DbTarget::Postgres(u) = &lt else {
                return Err(Fail::new(
                    2,
                    "opsdeck relay passes on Postgres notifications: SQLite has none",
                ));
            };
            if crate::api::db::pooling_of(u.expose()).1 == crate::api::db::Pooling::Transaction {
                return Err(Fail::new(
                    2,
                    "LISTEN cannot work through a transaction pooler: give the relay a direct or session-mode connection as listen_url (or --database-url)",
                ));
            }
            let store = open_store(&lt, 1).await?;
            let pool = store
                .db
                .pg_pool()
                .cloned()
                .ok_or_else(|| Fail::new(2, "not a Postgres database"))?;
            let l = tokio::net::TcpListener::bind(bind)
                .await
                .map_err(|e| Fail::new(2, format!("cannot listen on {bind}: {e}")))?;
            let addr = l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| bind.to_string());
            eprintln!(
                "opsdeck relay: LISTEN on {}; consoles: listen_url = \"{}{addr}\"",
                lt.display_addr(),
                crate::api::relay::SCHEME
            );
            tokio::select! {
                r = crate::api::relay::serve(pool, l) => {
                    r.map_err(|e| Fail::new(1, format!("the relay stopped: {e}")))?
                }
                _ = tokio::signal::ctrl_c() => {}
            }
            store.db.close().await;
            Ok(())
        }
        .await,
    )
}

/// The relay logs what happens to its LISTEN and its consoles on stderr (`RUST_LOG` overrides).
/// A service: a log reader that goes away (`| head`, a closed terminal) must not end it, so a
/// failed write is dropped (tracing's default reports it with `eprintln!`, which panics when
/// stderr is gone).
fn init_relay_logging() {
    stderr_logging("info,sqlx=warn");
}

/// Logs go to a file, never to the screen under the TUI: `--log-file`, else the config's
/// `log_file`, else `$XDG_DATA_HOME/opsdeck/opsdeck.log`. `RUST_LOG` sets the filter (default info).
/// Returns the guard that flushes the writer on drop.
pub fn init_file_logging(
    g: &Globals,
    file: &FileConfig,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let path = g
        .log_file
        .clone()
        .or_else(|| file.log_file.clone())
        .or_else(|| config::data_dir().map(|d| d.join("opsdeck.log")))?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(f);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    Some(guard)
}

/// For one-shot commands: warnings and errors to stderr.
pub fn init_stderr_logging() {
    stderr_logging("warn,sqlx=error");
}

/// Logs to stderr, `RUST_LOG` else `default` deciding what.
fn stderr_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        // a closed stderr (`2>&1 | head -1`) must not turn a warning into a panic
        .log_internal_errors(false)
        .try_init();
}

pub use status::status;

pub async fn simulate(g: &Globals, a: SimulateArgs) -> ExitCode {
    simulate::run(g, a).await
}
