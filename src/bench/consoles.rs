//! `opsdeck bench consoles`: the control room. N headless consoles — the console's own loop,
//! state and reads (`app::run_headless`), with no terminal — watch the Overview of one
//! database while the simulated engine runs an event-day burst, in three set-ups:
//!
//! - **notify**: each console LISTENs on the primary and reads it (the default);
//! - **poll**: each console in pooler mode (`?pooler=transaction`, as behind Supabase's pooler
//!   without `listen_url`): no LISTEN, a read every poll interval;
//! - **replica**: each console LISTENs on the primary and reads a streaming hot standby
//!   (`read_url`).
//!
//! Each with one console and with N, after a phase with the engine alone. The bench makes its
//! own primary and replica (`initdb`, `pg_basebackup -R -X stream`, see [`super::cluster`]),
//! so every process of the primary is the bench's and its CPU can be read from `/proc`.
//!
//! What a phase measures:
//! - **CPU**: per server process (from `pg_stat_activity`, sampled every second, and
//!   `/proc/<pid>/stat`), split by `application_name`: the consoles' backends
//!   (`opsdeck-console`), and the whole primary (the engine's backends, WAL sender,
//!   checkpointer…). In cores: CPU seconds over wall seconds.
//! - **Statements per second** the consoles ran on each server (`pg_stat_statements`, counted
//!   by the consoles' own login), and the primary's transactions per second, all parties
//!   (`pg_stat_database`; a listening backend's every wake-up is a transaction).
//! - **Change → state**: every 0.5–1.5 s (at random, so as not to beat with the poll) a probe
//!   commits a change every console shows, in turn a quiet one (a workflow paused: the
//!   Overview's paused count) and a hot one (a failed job on `job_queue`, the table the burst
//!   writes, whose notification usually goes to another writer of the same quarter second);
//!   each console notes when its state first holds each count, which is where the terminal
//!   would draw the frame. Latency = that moment − the probe's COMMIT returning; p50/p95 over
//!   every (probe, console) pair, and the pairs never seen.
//! - **Connections** each server held for the consoles (the most seen at once).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use rand::Rng;

use super::cluster::Cluster;
use crate::api::Store;
use crate::app::AppOptions;
use crate::config::{DbTarget, SecretUrl};
use crate::domain::mode::Mode;
use crate::sim::{Engine, Summary};

/// The console's poll interval (its default).
pub const POLL: Duration = Duration::from_secs(2);
/// Probes stop this long before a phase ends, so the slowest path (a poll) can still see them.
const GRACE: Duration = Duration::from_secs(4);
/// Consoles start, connect and make their first read before the first probe.
const SETTLE: Duration = Duration::from_secs(3);
const DB: &str = "opsdeck_bench";
const CONSOLE_APP: &str = "opsdeck-console";
/// The consoles' login: `pg_stat_statements` counts their statements by it.
const CONSOLE_ROLE: &str = "opsdeck_console";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The engine alone, no console.
    EngineAlone,
    Notify,
    Poll,
    Replica,
    /// One shared listener (`opsdeck relay`) for every console, the reads on the replica.
    RelayReplica,
}

impl Setup {
    pub fn label(self) -> &'static str {
        match self {
            Setup::EngineAlone => "engine alone",
            Setup::Notify => "notify",
            Setup::Poll => "poll 2s (pooler mode)",
            Setup::Replica => "replica (read_url)",
            Setup::RelayReplica => "relay + replica",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConsolesConfig {
    /// Consoles in the big phases (each set-up also runs with one).
    pub n: usize,
    /// The engine's jobs per second.
    pub rate: f64,
    /// How long each phase lasts.
    pub phase: Duration,
}

#[derive(Debug, Default, Clone)]
pub struct Phase {
    pub setup: Option<Setup>,
    pub consoles: usize,
    pub seconds: f64,
    /// Cores: the consoles' backends on the primary, the whole primary, the consoles' backends
    /// on the replica.
    pub console_cpu: f64,
    pub primary_cpu: f64,
    pub replica_cpu: f64,
    /// Transactions per second on the primary's database (all parties).
    pub primary_tps: f64,
    /// The consoles' statements per second on the primary and on the replica
    /// (`pg_stat_statements`, by their login).
    pub console_qps_primary: f64,
    pub console_qps_replica: f64,
    /// Milliseconds from a probe's COMMIT to a console's state holding it, sorted: the quiet
    /// probe's and the hot one's.
    pub quiet_ms: Vec<f64>,
    pub hot_ms: Vec<f64>,
    /// (probe, console) pairs never seen, and all pairs.
    pub missed: usize,
    pub pairs: usize,
    /// The most connections the consoles held at once, per server.
    pub conns_primary: usize,
    pub conns_replica: usize,
    /// Console errors shown as toasts or a lost connection, first few.
    pub errors: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub phases: Vec<Phase>,
    pub engine: Summary,
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// A process's user + system CPU so far, in seconds (None once it is gone).
fn cpu_of(pid: i32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command may hold spaces and parentheses: fields start after the last ')'
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the command
    let (u, t): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((u + t) / clk_tck())
}

/// One server's processes as seen so far in a phase: the CPU at the start and the last read.
#[derive(Default)]
struct Procs {
    start: HashMap<i32, f64>,
    last: HashMap<i32, (f64, bool)>,
    max_console_conns: usize,
}

impl Procs {
    async fn sample(&mut self, store: &Store, postmaster: Option<i32>, first: bool) {
        let Ok(rows) = store
            .db
            .fetch_all(
                "SELECT pid::bigint AS pid, coalesce(application_name, '') AS app \
                 FROM pg_stat_activity",
                &[],
            )
            .await
        else {
            return;
        };
        let mut consoles = 0;
        let mut pids: Vec<(i32, bool)> = rows
            .iter()
            .map(|r| {
                let console = r.s("app") == CONSOLE_APP;
                consoles += usize::from(console);
                (r.n("pid") as i32, console)
            })
            .collect();
        pids.extend(postmaster.map(|p| (p, false)));
        self.max_console_conns = self.max_console_conns.max(consoles);
        for (pid, console) in pids {
            if let Some(c) = cpu_of(pid) {
                if first {
                    self.start.insert(pid, c);
                }
                self.last.insert(pid, (c, console));
            }
        }
    }
    /// (consoles' CPU seconds, all CPU seconds) since the first sample.
    fn used(&self) -> (f64, f64) {
        let mut all = 0.0;
        let mut consoles = 0.0;
        for (pid, (c, console)) in &self.last {
            let d = c - self.start.get(pid).copied().unwrap_or(0.0);
            all += d;
            if *console {
                consoles += d;
            }
        }
        (consoles, all)
    }
}

async fn open(url: &str, app: &str, conns: u32) -> Result<Store> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let u = format!("{url}{sep}application_name={app}");
    Store::open(&DbTarget::Postgres(SecretUrl::new(u)), conns)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn xacts(store: &Store) -> i64 {
    store
        .db
        .fetch_one(
            "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database \
             WHERE datname = current_database()",
            &[],
        )
        .await
        .map(|r| r.n("n"))
        .unwrap_or(0)
}

/// The statements the consoles' login ran on this server so far.
async fn statements(store: &Store) -> i64 {
    store
        .db
        .fetch_one(
            &format!(
                "SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements \
                 WHERE userid = '{CONSOLE_ROLE}'::regrole"
            ),
            &[],
        )
        .await
        .map(|r| r.n("n"))
        .unwrap_or(0)
}

/// The count the probe moves, as the Overview reads it.
async fn probe_count(store: &Store, p: Probe) -> Result<i64> {
    let sql = match p {
        Probe::Quiet => "SELECT count(*)::bigint AS n FROM workflows WHERE status = 'paused'",
        Probe::Hot => {
            "SELECT count(*)::bigint AS n FROM job_queue \
             WHERE status = 'failed' AND job_type = 'bench.probe'"
        }
    };
    Ok(store.db.fetch_one(sql, &[]).await?.n("n"))
}

/// Commits the probe's change.
async fn probe(store: &Store, p: Probe, k: u64) -> Result<()> {
    match p {
        Probe::Quiet => {
            let name = format!("bench probe {} {k}", uuid::Uuid::new_v4());
            store
                .db
                .execute(
                    "INSERT INTO workflows (name, status, trigger_type, paused_by, paused_at, \
                       pause_reason) VALUES ($1, 'paused', 'manual', 'bench', now(), 'probe')",
                    &[crate::api::db::Val::Text(name)],
                )
                .await?;
        }
        Probe::Hot => {
            // failed for good (attempts = max_attempts): the engine leaves it alone
            store
                .db
                .execute(
                    "INSERT INTO job_queue (job_type, status, attempts, max_attempts, \
                       error_message, completed_at) \
                     VALUES ('bench.probe', 'failed', 3, 3, 'probe', now())",
                    &[],
                )
                .await?;
        }
    }
    Ok(())
}

fn options(store: Store, replica: Option<Store>, relay: Option<String>) -> Result<AppOptions> {
    Ok(AppOptions {
        store,
        mode: Mode::Live,
        theme: crate::theme::Theme::builtin("default").context("the default theme")?,
        keymap: crate::keymap::Keymap::default_map(),
        refresh: POLL,
        operator: "bench".into(),
        db_label: "bench".into(),
        broadcast: Default::default(),
        notice: None,
        n8n: None,
        n8n_queue: None,
        listen: match relay {
            Some(a) => crate::app::ListenOn::Relay(a),
            None => crate::app::ListenOn::Database,
        },
        absent: Vec::new(),
        replica,
        currency: Default::default(),
        access: crate::domain::role::Access::demo(),
        alerts: Default::default(),
        context: None,
        contexts: Default::default(),
    })
}

/// The two probes: a change to a table the burst leaves alone (a workflow paused: the
/// Overview's paused count), and one to the table the burst hammers (a failed `bench.probe`
/// job: the Overview's queue count of that type), whose notification usually goes to
/// another writer of the same quarter second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Quiet,
    Hot,
}

const PROBE_TYPE: &str = "bench.probe";

/// What one console saw: per probe, for each count, when its state first held it; and the
/// errors its state showed.
#[derive(Default)]
struct Seen {
    quiet: HashMap<i64, Instant>,
    hot: HashMap<i64, Instant>,
    errors: Vec<String>,
}

/// Notes, for each count passed since `last`, that the state first held it `now`.
fn note(seen: &mut HashMap<i64, Instant>, last: &mut Option<i64>, v: i64, now: Instant) {
    let from = last.map(|l| l + 1).unwrap_or(v);
    for c in from..=v {
        seen.entry(c).or_insert(now);
    }
    *last = Some(last.map_or(v, |l| l.max(v)));
}

/// One headless console until `stop` turns true.
async fn console(
    url: String,
    read_url: Option<String>,
    relay: Option<String>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Seen> {
    // the console's own pool sizes (cli::console)
    let listen_here = relay.is_none() && !url.contains("pooler=transaction");
    let (conns, read_conns) = crate::app::pool_sizes(read_url.is_some(), listen_here);
    let store = open(&url, CONSOLE_APP, conns).await?;
    let replica = match &read_url {
        Some(u) => Some(open(u, CONSOLE_APP, read_conns).await?),
        None => None,
    };
    let (s2, r2) = (store.clone(), replica.clone());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let seen2 = seen.clone();
    let (mut last_quiet, mut last_hot) = (None, None);
    let mut last_toast = String::new();
    let frame = move |app: &crate::state::App| {
        let now = Instant::now();
        let mut s = seen2.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = app.overview.data.as_ref() {
            note(&mut s.quiet, &mut last_quiet, o.workflows_paused, now);
            let hot = o
                .queue
                .by_type
                .iter()
                .find(|(t, st, _)| t == PROBE_TYPE && st == "failed")
                .map_or(0, |r| r.2);
            note(&mut s.hot, &mut last_hot, hot, now);
        }
        if let Some(t) = app.toast.as_ref().filter(|t| t.warn)
            && t.text != last_toast
        {
            last_toast = t.text.clone();
            if s.errors.len() < 5 {
                s.errors.push(t.text.clone());
            }
        }
        Ok(())
    };
    let mut stop = stop;
    let stopped = async move {
        let _ = stop.wait_for(|v| *v).await;
    };
    crate::app::run_headless(options(store, replica, relay)?, (160, 48), frame, stopped).await?;
    s2.db.close().await;
    if let Some(r) = r2 {
        r.db.close().await;
    }
    let out = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(out)
}

/// The pair, the database, the engine: everything the phases share.
struct Bed {
    primary: Cluster,
    replica: Cluster,
    admin: Store,
    replica_admin: Store,
}

impl Bed {
    fn url(&self) -> String {
        self.primary.url(DB)
    }
    /// The consoles' URLs: the primary's, the replica's.
    fn console_urls(&self) -> (String, String) {
        let as_console = |u: String| u.replacen("postgres@", &format!("{CONSOLE_ROLE}@"), 1);
        (
            as_console(self.primary.url(DB)),
            as_console(self.replica.url(DB)),
        )
    }
}

async fn caught_up(bed: &Bed) -> Result<()> {
    let lsn = bed
        .admin
        .db
        .fetch_one("SELECT pg_current_wal_lsn()::text AS l", &[])
        .await?
        .s("l");
    let t = Instant::now();
    loop {
        let ok = bed
            .replica_admin
            .db
            .fetch_one(
                "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false) AS ok",
                &[crate::api::db::Val::Text(lsn.clone())],
            )
            .await
            .map(|r| r.bool("ok").unwrap_or(false))
            .unwrap_or(false);
        if ok {
            return Ok(());
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(60),
            "the replica did not catch up in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn phase(bed: &Bed, setup: Setup, n: usize, len: Duration) -> Result<Phase> {
    let (primary, replica) = bed.console_urls();
    let (url, read_url) = match setup {
        Setup::EngineAlone | Setup::Notify => (primary, None),
        Setup::Poll => (format!("{primary}?pooler=transaction"), None),
        Setup::Replica | Setup::RelayReplica => (primary, Some(replica)),
    };
    // the relay, when the set-up has one: one LISTEN connection, counted with the consoles'
    let relay = match setup {
        Setup::RelayReplica => {
            let store = open(&bed.console_urls().0, CONSOLE_APP, 1).await?;
            let bind = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = bind.local_addr()?.to_string();
            let pool = store.db.pg_pool().cloned().context("postgres")?;
            let task = tokio::spawn(crate::api::relay::serve(pool, bind));
            Some((addr, task, store))
        }
        _ => None,
    };
    let relay_addr = relay.as_ref().map(|r| r.0.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (mut p, mut r) = (Procs::default(), Procs::default());
    let pm = (bed.primary.postmaster_pid(), bed.replica.postmaster_pid());
    p.sample(&bed.admin, pm.0, true).await;
    r.sample(&bed.replica_admin, pm.1, true).await;
    let x0 = xacts(&bed.admin).await;
    let q0 = (
        statements(&bed.admin).await,
        statements(&bed.replica_admin).await,
    );
    let started = Instant::now();
    let consoles: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(console(
                url.clone(),
                read_url.clone(),
                relay_addr.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();

    // probes: one a second (quiet and hot in turn), after the consoles settle, until GRACE
    // before the end
    let mut probes: Vec<(Probe, i64, Instant)> = Vec::new();
    let mut base = (
        probe_count(&bed.admin, Probe::Quiet).await?,
        probe_count(&bed.admin, Probe::Hot).await?,
    );
    let mut next_sample = Instant::now() + Duration::from_secs(1);
    // no console, no probe (the engine-alone phase)
    let mut next_probe = if n > 0 {
        started + SETTLE
    } else {
        started + len
    };
    let end = started + len;
    let mut k = 0u64;
    let mut rng = {
        use rand::SeedableRng;
        rand::rngs::SmallRng::seed_from_u64(n as u64)
    };
    while Instant::now() < end {
        let now = Instant::now();
        if now >= next_sample {
            p.sample(&bed.admin, pm.0, false).await;
            r.sample(&bed.replica_admin, pm.1, false).await;
            next_sample += Duration::from_secs(1);
        }
        if now >= next_probe && now + GRACE >= end {
            next_probe = end; // the last probes are in: only samples until the end
        } else if now >= next_probe {
            k += 1;
            let kind = if k % 2 == 1 { Probe::Quiet } else { Probe::Hot };
            probe(&bed.admin, kind, k).await?;
            let at = Instant::now();
            let target = match kind {
                Probe::Quiet => {
                    base.0 += 1;
                    base.0
                }
                Probe::Hot => {
                    base.1 += 1;
                    base.1
                }
            };
            probes.push((kind, target, at));
            // 0.5 to 1.5 s apart, at random: probes at a fixed pace would beat with the
            // consoles' timers (the poll) and always land at the same point of their cycle
            next_probe = at + Duration::from_millis(rng.random_range(500..1500));
        }
        let wake = next_sample.min(next_probe).min(end);
        tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await;
    }
    p.sample(&bed.admin, pm.0, false).await;
    r.sample(&bed.replica_admin, pm.1, false).await;
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    let mut out = Phase {
        setup: Some(setup),
        consoles: n,
        seconds,
        ..Phase::default()
    };
    for c in consoles {
        let seen = c.await??;
        for (kind, target, at) in &probes {
            out.pairs += 1;
            let (map, into) = match kind {
                Probe::Quiet => (&seen.quiet, &mut out.quiet_ms),
                Probe::Hot => (&seen.hot, &mut out.hot_ms),
            };
            match map.get(target) {
                Some(s) => into.push(s.saturating_duration_since(*at).as_secs_f64() * 1000.0),
                None => out.missed += 1,
            }
        }
        for e in seen.errors {
            if out.errors.len() < 5 && !out.errors.contains(&e) {
                out.errors.push(e);
            }
        }
    }
    if let Some((_, task, store)) = relay {
        task.abort();
        let _ = task.await;
        store.db.close().await;
    }
    out.quiet_ms.sort_by(|a, b| a.total_cmp(b));
    out.hot_ms.sort_by(|a, b| a.total_cmp(b));
    // closed connections have flushed their statistics
    tokio::time::sleep(Duration::from_millis(1200)).await;
    out.primary_tps = (xacts(&bed.admin).await - x0) as f64 / started.elapsed().as_secs_f64();
    out.console_qps_primary = (statements(&bed.admin).await - q0.0) as f64 / seconds;
    out.console_qps_replica = (statements(&bed.replica_admin).await - q0.1) as f64 / seconds;
    let ((pc, pa), (rc, _)) = (p.used(), r.used());
    out.console_cpu = pc / seconds;
    out.primary_cpu = pa / seconds;
    out.replica_cpu = rc / seconds;
    out.conns_primary = p.max_console_conns;
    out.conns_replica = r.max_console_conns;
    Ok(out)
}

/// Makes the pair, fills the database, runs the engine and every phase; `progress` hears what
/// starts.
pub async fn run(cfg: &ConsolesConfig, progress: impl Fn(&str)) -> Result<Report> {
    anyhow::ensure!(
        super::cluster::binaries_present(),
        "bench consoles makes its own primary and replica: it needs initdb, pg_ctl and \
         pg_basebackup in {} (or set OPSDECK_PG_BIN)",
        super::cluster::bin_dir().display()
    );
    progress("making a primary and a streaming replica (initdb, pg_basebackup) …");
    let conns = (cfg.n * 5 + 100).max(200);
    let (primary, replica) = Cluster::pair(&format!(
        "max_connections = {conns}\nshared_preload_libraries = 'pg_stat_statements'\n"
    ))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin0 = open(&primary.url("postgres"), "opsdeck-bench", 1).await?;
    for sql in [
        format!("CREATE DATABASE {DB}"),
        // the consoles log in as their own role, so the servers count their statements apart
        format!("CREATE ROLE {CONSOLE_ROLE} LOGIN SUPERUSER"),
    ] {
        admin0.db.execute(&sql, &[]).await?;
    }
    admin0.db.close().await;
    let admin = open(&primary.url(DB), "opsdeck-bench", 2).await?;
    admin.migrate().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    admin
        .db
        .execute("CREATE EXTENSION pg_stat_statements", &[])
        .await?;
    let rep = crate::sim::seed::seed_scenario(&admin, 42, Utc::now()).await?;
    progress(&format!("seeded: {rep}"));
    let replica_admin = {
        let t = Instant::now();
        loop {
            match open(&replica.url(DB), "opsdeck-bench", 1).await {
                Ok(s) => break s,
                Err(e) if t.elapsed() > Duration::from_secs(30) => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    };
    let bed = Bed {
        primary,
        replica,
        admin,
        replica_admin,
    };
    let engine_store = open(&bed.url(), "opsdeck-engine", 10).await?;
    let engine = Engine::start(engine_store, super::load::engine_config(cfg.rate, 42));
    progress(&format!(
        "engine at {} jobs/s; warming up 5 s, then phases of {:.0?}",
        cfg.rate, cfg.phase
    ));
    tokio::time::sleep(Duration::from_secs(5)).await;
    caught_up(&bed).await?;
    let mut report = Report::default();
    let mut plan = vec![(Setup::EngineAlone, 0)];
    for s in [
        Setup::Notify,
        Setup::Poll,
        Setup::Replica,
        Setup::RelayReplica,
    ] {
        plan.push((s, 1));
        if cfg.n > 1 {
            plan.push((s, cfg.n));
        }
    }
    let mut failed = None;
    for (s, n) in plan {
        progress(&format!("{}: {n} console(s) …", s.label()));
        match phase(&bed, s, n, cfg.phase).await {
            Ok(p) => report.phases.push(p),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    report.engine = engine.stop().await;

    bed.admin.db.close().await;
    bed.replica_admin.db.close().await;
    drop(bed);
    match failed {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// The report as a table, with the one-console and N-console figures side by side.
pub fn table(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<22} {:>3} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>9} {:>9} {:>8} {:>7}",
        "set-up",
        "n",
        "cpu cons",
        "cpu prim",
        "cpu repl",
        "q/s p",
        "q/s r",
        "tps p",
        "quiet ms",
        "hot ms",
        "missed",
        "conns"
    );
    for p in &r.phases {
        let lat = |v: &[f64]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                format!(
                    "{:.0}/{:.0}",
                    super::measure::pct(v, 0.5),
                    super::measure::pct(v, 0.95)
                )
            }
        };
        let _ = writeln!(
            s,
            "{:<22} {:>3} {:>8.3} {:>8.3} {:>8.3} {:>6.0} {:>6.0} {:>6.0} {:>9} {:>9} {:>8} {:>7}",
            p.setup.map(Setup::label).unwrap_or("-"),
            p.consoles,
            p.console_cpu,
            p.primary_cpu,
            p.replica_cpu,
            p.console_qps_primary,
            p.console_qps_replica,
            p.primary_tps,
            lat(&p.quiet_ms),
            lat(&p.hot_ms),
            format!("{}/{}", p.missed, p.pairs),
            format!("{}/{}", p.conns_primary, p.conns_replica),
        );
    }
    let _ = writeln!(
        s,
        "cpu: cores (CPU seconds per second) of the consoles' backends on the primary, of the \
         whole primary (engine included), of the consoles' backends on the replica\n\
         q/s p, q/s r: the consoles' statements per second on the primary, on the replica \
         (pg_stat_statements, by their login)\n\
         tps p: transactions per second on the primary, every party\n\
         quiet, hot ms: p50/p95 from a probe's COMMIT to a console's state holding it (quiet: \
         a workflow paused; hot: a failed job, on the table the burst writes); missed: \
         (probe, console) pairs never seen / all\n\
         conns: most connections the consoles held at once on the primary/replica"
    );
    for p in &r.phases {
        for e in &p.errors {
            let _ = writeln!(
                s,
                "  error ({} ×{}): {e}",
                p.setup.map(Setup::label).unwrap_or("-"),
                p.consoles
            );
        }
    }
    s
}
