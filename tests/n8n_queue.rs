//! n8n's queue (issue 17) against the real parts: a real n8n 1.123 main in queue mode with its
//! Bull queue in the machine's Redis (a prefix of its own) and its database in Postgres (a
//! database of its own), then a real worker with its health endpoint, started and killed by the
//! test; and, for the bad inputs, Redis itself (a redis-server of the test's own with a
//! password, a port with nothing on it, a prefix with 100,000 waiting jobs).
//!
//! n8n: `OPSDECK_N8N_BIN`, else `$N8N_LOCAL_DIR` or `~/.local/share/opsdeck-n8n` (installed by
//! `scripts/n8n-local.sh install`, which `.ci/run` runs). Under `CI=true` a missing n8n, Redis or
//! Postgres fails the test; elsewhere it skips, loudly.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use opsdeck::api::n8n::queue::{Probes, QueueReader, poll_once};
use opsdeck::config::{QueueSettings, SecretUrl};
use opsdeck::domain::n8n_queue::{Level, QueuePolled};
use opsdeck::state::N8nQueueState;

const WORKFLOW: &str = "opsdeckQueueSlow1";
const HOOK: &str = "opsdeck-queue-slow";

fn skip_or_fail(what: &str) {
    if common::ci() {
        panic!("CI=true but {what}");
    }
    eprintln!("\n!!!!!!!! SKIPPING n8n QUEUE TEST: {what} !!!!!!!!\n");
}

fn n8n_bin() -> Option<PathBuf> {
    if let Ok(b) = std::env::var("OPSDECK_N8N_BIN") {
        return Some(PathBuf::from(b));
    }
    let dir = std::env::var("N8N_LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".local/share/opsdeck-n8n")
        });
    let b = dir.join("app/node_modules/.bin/n8n");
    b.exists().then_some(b)
}

fn redis_up() -> bool {
    std::net::TcpStream::connect_timeout(&"127.0.0.1:6379".parse().unwrap(), Duration::from_secs(1))
        .is_ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn settings(
    redis: &str,
    prefix: &str,
    main: Option<String>,
    workers: Vec<String>,
) -> QueueSettings {
    QueueSettings {
        redis_url: SecretUrl::new(redis),
        prefix: prefix.into(),
        redis_ca: None,
        main_url: main,
        workers,
        not_moving_after: Duration::from_secs(60),
        poll_interval: Duration::from_millis(500),
        timeout: Duration::from_secs(2),
    }
}

/// A real n8n main (and later a worker) in queue mode, killed by pid when dropped; its
/// Postgres database is dropped too.
struct N8n {
    bin: PathBuf,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    main: Option<Child>,
    worker: Option<Child>,
    main_port: u16,
    worker_port: u16,
    prefix: String,
    db: String,
}

impl Drop for N8n {
    fn drop(&mut self) {
        for c in [self.main.as_mut(), self.worker.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("psql")
            .args([
                &common::pg_admin_url(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.db),
            ])
            .output();
        if let Ok(c) = redis::Client::open("redis://127.0.0.1:6379/")
            && let Ok(mut c) = c.get_connection()
        {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{}:*", self.prefix))
                .query(&mut c)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut c);
            }
        }
    }
}

impl N8n {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    fn spawn(&self, args: &[&str], log: &str, extra: &[(&str, String)]) -> Child {
        let out = std::fs::File::create(self.dir.path().join(log)).unwrap();
        self.cmd(args)
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("start n8n")
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Imports the slow workflow (webhook → Wait 3 s → done), activates it, starts the main.
    async fn start() -> Option<N8n> {
        let Some(bin) = n8n_bin() else {
            skip_or_fail("n8n is not installed (scripts/n8n-local.sh install)");
            return None;
        };
        if !redis_up() {
            skip_or_fail("Redis is not answering on 127.0.0.1:6379");
            return None;
        }
        let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
        let db = format!("opsdeck_n8n_{tag}");
        let made = Command::new("psql")
            .args([
                &common::pg_admin_url(),
                "-qc",
                &format!("CREATE DATABASE \"{db}\""),
            ])
            .output();
        if !made.as_ref().is_ok_and(|o| o.status.success()) {
            skip_or_fail(&format!(
                "cannot create a Postgres database for n8n: {made:?}"
            ));
            return None;
        }
        let admin = url::Url::parse(&common::pg_admin_url()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (main_port, worker_port) = (free_port(), free_port());
        let prefix = format!("opsdeckt{tag}");
        let env: Vec<(String, String)> = [
            (
                "N8N_USER_FOLDER",
                dir.path().join("data").display().to_string(),
            ),
            ("DB_TYPE", "postgresdb".into()),
            (
                "DB_POSTGRESDB_HOST",
                admin.host_str().unwrap_or("127.0.0.1").into(),
            ),
            (
                "DB_POSTGRESDB_PORT",
                admin.port().unwrap_or(5432).to_string(),
            ),
            ("DB_POSTGRESDB_DATABASE", db.clone()),
            (
                "DB_POSTGRESDB_USER",
                if admin.username().is_empty() {
                    "postgres"
                } else {
                    admin.username()
                }
                .into(),
            ),
            ("EXECUTIONS_MODE", "queue".into()),
            ("QUEUE_BULL_REDIS_HOST", "127.0.0.1".into()),
            ("QUEUE_BULL_REDIS_PORT", "6379".into()),
            ("QUEUE_BULL_PREFIX", prefix.clone()),
            // a dead worker's lock runs out in 5 s (n8n's default is 60 s)
            ("QUEUE_WORKER_LOCK_DURATION", "5000".into()),
            ("QUEUE_WORKER_LOCK_RENEW_TIME", "1000".into()),
            ("QUEUE_WORKER_STALLED_INTERVAL", "3000".into()),
            ("N8N_PORT", main_port.to_string()),
            ("N8N_LISTEN_ADDRESS", "127.0.0.1".into()),
            ("N8N_ENCRYPTION_KEY", "opsdeck-test-encryption-key".into()),
            ("N8N_DIAGNOSTICS_ENABLED", "false".into()),
            ("N8N_VERSION_NOTIFICATIONS_ENABLED", "false".into()),
            ("N8N_TEMPLATES_ENABLED", "false".into()),
            ("N8N_PERSONALIZATION_ENABLED", "false".into()),
            ("N8N_RUNNERS_ENABLED", "false".into()),
            ("N8N_SECURE_COOKIE", "false".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let n = N8n {
            bin,
            dir,
            env,
            main: None,
            worker: None,
            main_port,
            worker_port,
            prefix,
            db,
        };
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/n8n");
        for args in [
            vec![
                "import:workflow".to_string(),
                format!("--input={dir}/queue-slow.json"),
            ],
            vec![
                "import:workflow".to_string(),
                format!("--input={dir}/wait-decision.json"),
            ],
            vec![
                "import:workflow".to_string(),
                format!("--input={dir}/fail.json"),
            ],
            vec![
                "update:workflow".into(),
                "--all".into(),
                "--active=true".into(),
            ],
        ] {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = n.cmd(&a).output().expect("run n8n");
            assert!(
                o.status.success(),
                "n8n {args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let mut n = n;
        n.main = Some(n.spawn(&["start"], "main.log", &[]));
        n.wait_http(&format!("{}/healthz/readiness", n.main_url()), "main.log")
            .await;
        // the webhook is registered a moment after readiness: a GET says "not registered for
        // GET" once the POST one is (a POST would enqueue a job)
        let t0 = Instant::now();
        loop {
            let body = match reqwest::get(format!("{}/webhook/{HOOK}", n.main_url())).await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if body.contains("POST") && !body.contains("is not registered.") {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the webhook is not registered in 60 s: {body}\n{}",
                n.log("main.log")
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Some(n)
    }

    fn main_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.main_port)
    }
    fn worker_url(&self) -> String {
        format!("http://127.0.0.1:{}/healthz", self.worker_port)
    }

    async fn wait_http(&self, url: &str, log: &str) {
        let t0 = Instant::now();
        loop {
            if reqwest::get(url)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(180),
                "{url} not up in 180 s:\n{}",
                self.log(log)
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// A worker taking one job at a time, with its /healthz.
    async fn start_worker(&mut self) {
        let port = self.worker_port.to_string();
        self.worker = Some(self.spawn(
            &["worker", "--concurrency=1"],
            "worker.log",
            &[
                ("QUEUE_HEALTH_CHECK_ACTIVE", "true".into()),
                ("QUEUE_HEALTH_CHECK_PORT", port),
                ("N8N_WORKER_SERVER_ADDRESS", "127.0.0.1".into()),
            ],
        ));
        self.wait_http(&self.worker_url(), "worker.log").await;
    }

    async fn fire(&self, n: usize) {
        let c = reqwest::Client::new();
        for _ in 0..n {
            let r = c
                .post(format!("{}/webhook/{HOOK}", self.main_url()))
                .json(&serde_json::json!({"from": "opsdeck"}))
                .send()
                .await
                .expect("webhook");
            assert!(r.status().is_success(), "webhook: {}", r.status());
        }
    }

    /// An owner and an API key (as scripts/n8n-local.sh bootstraps them), for the REST half.
    async fn api_key(&self) -> String {
        let c = reqwest::Client::new();
        let base = self.main_url();
        let (email, password) = ("ops@opsdeck.test", "Opsdeck-test-1");
        let r = c
            .post(format!("{base}/rest/owner/setup"))
            .json(&serde_json::json!({"email": email, "firstName": "Ops", "lastName": "Deck", "password": password}))
            .send()
            .await
            .expect("owner setup");
        assert!(r.status().is_success(), "owner setup: {}", r.status());
        let r = c
            .post(format!("{base}/rest/login"))
            .json(&serde_json::json!({"email": email, "emailOrLdapLoginId": email, "password": password}))
            .send()
            .await
            .expect("login");
        assert!(r.status().is_success(), "login: {}", r.status());
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        let scopes = [
            "workflow:read",
            "workflow:list",
            "workflow:update",
            "workflow:activate",
            "workflow:deactivate",
            "execution:list",
            "execution:read",
            "execution:retry",
        ];
        let r = c
            .post(format!("{base}/rest/api-keys"))
            .header("cookie", cookie)
            .json(
                &serde_json::json!({"label": "opsdeck-test", "expiresAt": null, "scopes": scopes}),
            )
            .send()
            .await
            .expect("api key");
        let status = r.status();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        v["data"]["rawApiKey"]
            .as_str()
            .unwrap_or_else(|| panic!("no API key ({status}): {v}"))
            .to_string()
    }

    fn settings(&self, not_moving_after: Duration) -> QueueSettings {
        QueueSettings {
            not_moving_after,
            ..settings(
                "redis://127.0.0.1:6379/",
                &self.prefix,
                Some(self.main_url()),
                vec![self.worker_url()],
            )
        }
    }
}

/// POSTs a webhook of the test workflows (a job for the queue).
async fn hook(n: &N8n, path: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/webhook/{path}", n.main_url()))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

/// The newest n8n execution with `status`, once there is one.
async fn newest_with(client: &opsdeck::api::n8n::N8nClient, status: &str) -> String {
    let t0 = Instant::now();
    loop {
        let page = client
            .list_executions(&opsdeck::api::n8n::ExecFilter::status(status).limit(5))
            .await
            .unwrap();
        if let Some(e) = page.data.first() {
            return e.id.clone();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no {status} execution"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// An audit row's `after`.
async fn after_of(db: &opsdeck::api::Store, audit: Option<uuid::Uuid>) -> serde_json::Value {
    db.db
        .fetch_one(
            "SELECT after FROM operator_actions WHERE id = $1",
            &[opsdeck::api::store::Val::Uuid(audit.unwrap())],
        )
        .await
        .unwrap()
        .json("after")
        .unwrap()
}

/// Polls into a console's state until `done` holds (or panics after `secs`, with the last
/// verdict). Returns the polls seen.
async fn follow(
    st: &mut N8nQueueState,
    r: &QueueReader,
    p: &Probes,
    secs: u64,
    what: &str,
    done: impl Fn(&N8nQueueState, &QueuePolled) -> bool,
) -> Vec<QueuePolled> {
    let t0 = Instant::now();
    let mut seen = Vec::new();
    loop {
        let polled = poll_once(r, p).await;
        st.apply(polled.clone());
        seen.push(polled.clone());
        if done(st, &polled) {
            return seen;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s; last: {:?} verdict {:?}",
            polled.redis,
            st.verdict(polled.at)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The whole life of a queue: jobs pile up with no worker; a worker comes and takes them one at
/// a time (the flow is counted; with the "not moving" line set low, a queue held by one long
/// execution is flagged and clears); the worker dies mid-job: its job is stalled once its
/// lock runs out and no worker is connected. `opsdeck status --json` says the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_queue_with_a_real_worker() {
    let Some(mut n) = N8n::start().await else {
        return;
    };
    let s = n.settings(Duration::from_secs(2));
    let reader = QueueReader::new(&s).unwrap();
    let probes = Probes::new(&s);
    let mut st = N8nQueueState::new(&s.prefix, &reader.target, s.not_moving_after);

    // no worker: three jobs wait, and that is critical with the reason spelled out
    n.fire(3).await;
    follow(&mut st, &reader, &probes, 20, "three waiting", |_, p| {
        p.redis.as_ref().is_ok_and(|q| q.counts.waiting == 3)
    })
    .await;
    let q = st.sample().unwrap().clone();
    assert_eq!(q.last_id, Some(3));
    let next = q.next.as_ref().expect("the next job");
    assert_eq!(next.workflow_id.as_deref(), Some(WORKFLOW));
    assert_eq!(next.execution_id.as_deref(), Some("1"), "{next:?}");
    assert!(next.enqueued_at.is_some());
    assert!(q.workers.is_empty());
    let v = st.verdict(chrono::Utc::now()).unwrap();
    assert_eq!(v.level, Level::Critical, "{v:?}");
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains("no n8n worker is connected to the queue: 3 jobs wait")),
        "{v:?}"
    );
    let main = st
        .health
        .iter()
        .find(|h| h.component == "n8n main")
        .unwrap();
    assert!(main.ok, "{main:?}");
    let w = st
        .health
        .iter()
        .find(|h| h.component == "worker 1")
        .unwrap();
    assert_eq!((w.ok, w.detail.as_str()), (false, "cannot connect"));

    // the CLI: Nagios CRITICAL, both queues reported under their own names
    let cfg = n.dir.path().join("opsdeck.toml");
    std::fs::write(
        &cfg,
        format!(
            "[n8n]\nredis_url = \"redis://127.0.0.1:6379/\"\nqueue_prefix = \"{}\"\nurl = \"{}\"\nworkers = [\"{}\"]\n",
            n.prefix,
            n.main_url(),
            n.worker_url()
        ),
    )
    .unwrap();
    if let Some(db) = common::pg_store_unmigrated().await {
        let db = common::migrated(db).await;
        let url = common::cli::url_of(&db);
        let o = common::cli::opsdeck(
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--database-url",
                &url,
                "status",
                "--json",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{}", common::cli::text(&o));
        let j: serde_json::Value =
            serde_json::from_str(common::cli::text(&o).lines().last().unwrap()).unwrap();
        assert_eq!(j["n8n_queue"]["counts"]["waiting"], 3, "{j}");
        assert_eq!(j["n8n_queue"]["status"], "CRITICAL", "{j}");
        assert_eq!(
            j["queue"]["depth"], 0,
            "the database's job_queue stays apart: {j}"
        );
        let o = common::cli::opsdeck(
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--database-url",
                &url,
                "status",
            ],
            &[],
        );
        let t = common::cli::text(&o);
        assert!(
            t.contains("job_queue depth 0") && t.contains("n8n queue waiting 3"),
            "{t}"
        );
        // the console itself, in a real terminal: the tile beside the database's queue, and
        // the Queue view's section with the reason
        if common::tmux::available() {
            let tm = common::tmux::Tmux::start(
                &format!("--config {} --database-url {url}", cfg.display()),
                160,
                48,
            );
            let screen = tm.wait_for("no n8n worker is connected", Duration::from_secs(30));
            assert!(
                screen.contains("job_queue (database)") && screen.contains("n8n queue (Redis)"),
                "{screen}"
            );
            assert!(screen.contains("waiting 3"), "{screen}");
            tm.keys(&["4"]);
            let screen = tm.wait_for(&format!("prefix {}", n.prefix), Duration::from_secs(10));
            assert!(
                screen.contains("✖ worker 1 cannot connect") && screen.contains("✔ n8n main ok"),
                "{screen}"
            );
            tm.keys(&["q"]);
            tm.wait_for("EXITED=0", Duration::from_secs(10));
        }
    }

    // a worker (concurrency 1, 3 s per execution): it connects and takes the jobs; with the
    // line at 2 s, the queue held by its one running execution is "not moving" at times
    n.start_worker().await;
    let mut flagged = None;
    let seen = follow(&mut st, &reader, &probes, 60, "drained", |st, p| {
        p.redis
            .as_ref()
            .is_ok_and(|q| q.counts.waiting == 0 && q.counts.active == 0)
            && st.history.iter().map(|f| f.dequeued).sum::<u64>() >= 3
    })
    .await;
    for p in &seen {
        if let Ok(q) = &p.redis
            && !q.workers.is_empty()
            && q.counts.active > 0
        {
            assert!(q.busy_workers() == 1 && q.stalled().is_empty(), "{q:?}");
        }
    }
    // replay the polls to find the flag (the state is pure: same polls, same verdicts)
    let mut replay = N8nQueueState::new(&s.prefix, &reader.target, s.not_moving_after);
    for p in &seen {
        replay.apply(p.clone());
        if let Some(v) = replay.verdict(p.at)
            && let Some(r) = v.reasons.iter().find(|r| r.starts_with("not moving"))
        {
            flagged = Some(r.clone());
        }
    }
    let taken: u64 = st.history.iter().map(|f| f.dequeued).sum();
    assert!(taken >= 3, "{:?}", st.history);
    assert_eq!(st.sample().unwrap().workers.len(), 1);
    assert!(st.health.iter().all(|h| h.ok), "{:?}", st.health);
    assert_eq!(st.verdict(chrono::Utc::now()).unwrap().level, Level::Ok);
    let flagged = flagged.expect("a 3 s execution holding the only slot is flagged at a 2 s line");
    assert!(
        flagged.contains("1 active job holds a live lock"),
        "{flagged}"
    );

    // the worker dies mid-job (kill -9): no worker connected, and once its lock runs out (5 s)
    // the job it held is stalled
    n.fire(2).await;
    follow(&mut st, &reader, &probes, 20, "a job active", |_, p| {
        p.redis.as_ref().is_ok_and(|q| q.counts.active == 1)
    })
    .await;
    let mut w = n.worker.take().unwrap();
    w.kill().unwrap();
    w.wait().unwrap();
    follow(&mut st, &reader, &probes, 30, "stalled", |_, p| {
        p.redis
            .as_ref()
            .is_ok_and(|q| q.workers.is_empty() && q.stalled().len() == 1)
    })
    .await;
    let v = st.verdict(chrono::Utc::now()).unwrap();
    assert_eq!(v.level, Level::Critical, "{v:?}");
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains("worker 1") && r.contains("cannot connect")),
        "{v:?}"
    );
    assert!(
        v.reasons.iter().any(|r| r.contains("without a live lock")),
        "{v:?}"
    );
}

/// A password-protected Redis of the test's own on a free port (killed by pid when dropped).
struct OwnRedis {
    child: Child,
    port: u16,
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn own_redis(password: &str) -> Option<OwnRedis> {
    let bin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(bin) = bin else {
        skip_or_fail("redis-server is not installed");
        return None;
    };
    let port = free_port();
    let child = Command::new(bin)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            password,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(OwnRedis { child, port })
}

/// Bad input, each a clear state and none a hang: a wrong password, nothing listening, a prefix
/// nobody uses, and 100,000 waiting jobs (read in the same two round trips as three).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_redis_input_gives_clear_states() {
    let Some(r) = own_redis("s3cret-pass") else {
        return;
    };
    let judge = |p: &QueuePolled, prefix: &str| {
        let mut st = N8nQueueState::new(prefix, "x", Duration::from_secs(60));
        st.apply(p.clone());
        st.verdict(p.at).unwrap()
    };
    // wrong password
    let s = settings(
        &format!("redis://:wrong@127.0.0.1:{}/", r.port),
        "bull",
        None,
        vec![],
    );
    let p = poll_once(&QueueReader::new(&s).unwrap(), &Probes::new(&s)).await;
    let e = p.redis.as_ref().unwrap_err();
    assert_eq!(e.short, "password refused", "{e:?}");
    assert!(
        e.full.contains("QUEUE_BULL_REDIS_PASSWORD") && !e.full.contains("wrong"),
        "{e:?}"
    );
    assert_eq!(judge(&p, "bull").level, Level::Critical);
    // no password at all, on a server that wants one
    let s = settings(
        &format!("redis://127.0.0.1:{}/", r.port),
        "bull",
        None,
        vec![],
    );
    let p = poll_once(&QueueReader::new(&s).unwrap(), &Probes::new(&s)).await;
    assert_eq!(
        p.redis.as_ref().unwrap_err().short,
        "password refused",
        "{:?}",
        p.redis
    );
    // nothing listening
    let s = settings(
        &format!("redis://127.0.0.1:{}/", free_port()),
        "bull",
        None,
        vec![],
    );
    let t0 = Instant::now();
    let p = poll_once(&QueueReader::new(&s).unwrap(), &Probes::new(&s)).await;
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(
        p.redis.as_ref().unwrap_err().short,
        "cannot connect",
        "{:?}",
        p.redis
    );
    // the right password, a prefix nobody uses
    let url = format!("redis://:s3cret-pass@127.0.0.1:{}/", r.port);
    let s = settings(&url, "nobody", None, vec![]);
    let p = poll_once(&QueueReader::new(&s).unwrap(), &Probes::new(&s)).await;
    let v = judge(&p, "nobody");
    assert_eq!(v.level, Level::Warning, "{v:?}");
    assert!(
        v.reasons[0].contains("no n8n queue under the prefix 'nobody'"),
        "{v:?}"
    );
    // a least-privilege Redis user (reads only, no CLIENT LIST): jobs wait, and who is
    // connected is unknown, so "no worker" is not claimed
    {
        let c = redis::Client::open(url.as_str()).unwrap();
        let mut con = c.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("ACL")
            .arg(&[
                "SETUSER", "reader", "on", ">readpw", "~*", "+@read", "+ping",
            ])
            .query_async(&mut con)
            .await
            .unwrap();
        let _: () = redis::cmd("LPUSH")
            .arg("ro:jobs:wait")
            .arg(&[1, 2])
            .query_async(&mut con)
            .await
            .unwrap();
        let _: () = redis::cmd("SET")
            .arg("ro:jobs:id")
            .arg(2)
            .query_async(&mut con)
            .await
            .unwrap();
    }
    let s = settings(
        &format!("redis://reader:readpw@127.0.0.1:{}/", r.port),
        "ro",
        None,
        vec![],
    );
    let p = poll_once(&QueueReader::new(&s).unwrap(), &Probes::new(&s)).await;
    let q = p.redis.as_ref().expect("read without CLIENT LIST");
    assert!(!q.workers_known && q.counts.waiting == 2, "{q:?}");
    let v = judge(&p, "ro");
    assert!(
        !v.reasons.iter().any(|r| r.contains("no n8n worker")),
        "{v:?}"
    );
    // 100,000 waiting jobs in Bull's layout (ids in `wait`, the counter, the next job's hash)
    let c = redis::Client::open(url.as_str()).unwrap();
    let mut con = c.get_multiplexed_async_connection().await.unwrap();
    for chunk in (1..=100_000u64).collect::<Vec<_>>().chunks(10_000) {
        let _: () = redis::cmd("LPUSH")
            .arg("big:jobs:wait")
            .arg(chunk)
            .query_async(&mut con)
            .await
            .unwrap();
    }
    let _: () = redis::pipe()
        .cmd("SET")
        .arg("big:jobs:id")
        .arg(100_000)
        .cmd("HSET")
        .arg("big:jobs:1")
        .arg("data")
        .arg(r#"{"workflowId":"w1","executionId":"e1"}"#)
        .arg("timestamp")
        .arg(chrono::Utc::now().timestamp_millis() - 90_000)
        .query_async(&mut con)
        .await
        .unwrap();
    let s = settings(&url, "big", None, vec![]);
    let reader = QueueReader::new(&s).unwrap();
    let t0 = Instant::now();
    let p = poll_once(&reader, &Probes::new(&s)).await;
    let took = t0.elapsed();
    let q = p.redis.as_ref().unwrap();
    assert_eq!(q.counts.waiting, 100_000);
    assert_eq!(q.next.as_ref().unwrap().execution_id.as_deref(), Some("e1"));
    let v = judge(&p, "big");
    assert_eq!(v.level, Level::Critical);
    assert!(
        v.reasons.iter().any(|r| r.contains("100000 waiting > 100")),
        "{v:?}"
    );
    assert!(
        v.reasons.iter().any(|r| r.contains("no n8n worker")),
        "{v:?}"
    );
    eprintln!("a read of a queue with 100,000 waiting: {took:?}");
    // Redis goes away mid-life: the next read says so, and a new server is found again
    drop(r);
    let p = poll_once(&reader, &Probes::new(&s)).await;
    assert!(p.redis.is_err(), "{:?}", p.redis);
}

/// Pausing a database workflow that lives in n8n deactivates it there in the same operator
/// action, and resuming activates it; one audit row holds both halves. Where n8n does not go
/// along (an id it does not know, or no API configured) the database half stands and the
/// report and the audit row say which half happened: never a silent half. Cancelling a run
/// parked at an n8n Wait node tells the node "cancelled" (the execution finishes in n8n); one
/// without a Wait node to tell says to stop its execution in n8n.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_reach_n8n() {
    use opsdeck::api::actions::{ActionCtx, execute};
    use opsdeck::api::n8n::N8nClient;
    use opsdeck::api::store::Val;
    use opsdeck::config::ApiKey;
    use opsdeck::domain::action::{Action, Actor, Named, Outcome};
    let Some(mut n) = N8n::start().await else {
        return;
    };
    let Some(db) = common::pg_store_unmigrated().await else {
        return;
    };
    let db = common::migrated(db).await;
    let key = n.api_key().await;
    let client = N8nClient::new(&n.main_url(), ApiKey::new(key), Duration::from_secs(10));
    assert!(client.get_workflow(WORKFLOW).await.unwrap().active);
    let (booking, ghost, plain) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    for (id, name, n8n_id) in [
        (booking, "Model Booking", Some(WORKFLOW)),
        (ghost, "Ticket Sales", Some("NoSuchWorkflow1")),
        (plain, "Daily Report", None),
    ] {
        db.db
            .execute(
                "INSERT INTO workflows (id, name, status, n8n_workflow_id) VALUES ($1, $2, 'active', $3)",
                &[Val::Uuid(id), Val::Text(name.into()), Val::OptText(n8n_id.map(str::to_string))],
            )
            .await
            .unwrap();
    }
    let actor = Actor {
        operator: "ana".into(),
        origin: "test".into(),
    };
    let ctx = ActionCtx::new(actor.clone()).with_n8n(Some(client.clone()));
    let all = vec![
        Named::new(booking, "Model Booking"),
        Named::new(ghost, "Ticket Sales"),
        Named::new(plain, "Daily Report"),
    ];
    let r = execute(
        &db,
        &ctx,
        &Action::PauseWorkflows {
            workflows: all,
            reason: "vendor down".into(),
        },
    )
    .await;
    assert_eq!((r.outcome, r.changed), (Outcome::Ok, 3), "{r:?}");
    assert!(
        r.message
            .contains("n8n: deactivated Model Booking (n8n opsdeckQueueSlow1)"),
        "{r:?}"
    );
    let w = r.warning.clone().expect("the half n8n did not do");
    assert!(
        w.contains(
            "paused in the database, but n8n did not deactivate Ticket Sales (n8n NoSuchWorkflow1)"
        ) && w.contains("it still runs in n8n"),
        "{w}"
    );
    assert!(
        !client.get_workflow(WORKFLOW).await.unwrap().active,
        "deactivated in n8n"
    );
    let after = after_of(&db, r.audit_id).await;
    let n8n = after["n8n"].as_array().expect("after.n8n").clone();
    assert_eq!(n8n.len(), 2, "{after}");
    assert_eq!(n8n[0]["result"], "deactivated", "{after}");
    assert!(
        n8n[1]["result"]
            .as_str()
            .unwrap()
            .starts_with("not deactivated:"),
        "{after}"
    );
    // the record is written once: a second call changes nothing
    let again = db
        .db
        .fetch_one(
            "SELECT opsdeck_record_n8n($1, '[]'::jsonb) AS ok",
            &[Val::Uuid(r.audit_id.unwrap())],
        )
        .await
        .unwrap()
        .bool("ok");
    assert_eq!(again, Some(false));

    // resume: activated again in n8n
    let r = execute(
        &db,
        &ctx,
        &Action::ResumeWorkflows {
            workflows: vec![Named::new(booking, "Model Booking")],
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert!(r.message.contains("n8n: activated Model Booking"), "{r:?}");
    assert!(r.warning.is_none(), "{r:?}");
    assert!(
        client.get_workflow(WORKFLOW).await.unwrap().active,
        "active in n8n again"
    );

    // no n8n API configured: the pause stands, and says n8n was not reached
    let r = execute(
        &db,
        &ActionCtx::new(actor),
        &Action::PauseWorkflows {
            workflows: vec![Named::new(booking, "Model Booking")],
            reason: "again".into(),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert!(
        r.warning
            .as_deref()
            .is_some_and(|w| w.contains("n8n's API is not configured")),
        "{r:?}"
    );
    assert!(
        client.get_workflow(WORKFLOW).await.unwrap().active,
        "n8n untouched"
    );

    // a run parked at a Wait node: the execution runs (a worker) to the Wait and waits there
    n.start_worker().await;
    hook(&n, "opsdeck-wait-decision").await;
    let exec = newest_with(&client, "waiting").await;
    let (parked, plain_run) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for (run, exec_id) in [(parked, exec.clone()), (plain_run, "999999".to_string())] {
        db.db
            .execute(
                "INSERT INTO workflow_executions (id, workflow_id, status, started_at, n8n_execution_id) \
                 VALUES ($1, $2, 'waiting', now(), $3)",
                &[Val::Uuid(run), Val::Uuid(booking), Val::Text(exec_id)],
            )
            .await
            .unwrap();
    }
    db.db
        .execute(
            "INSERT INTO approval_requests (id, execution_id, type, status, resume_url) \
             VALUES ($1, $2, 'rate_negotiation', 'pending', $3)",
            &[
                Val::Uuid(uuid::Uuid::new_v4()),
                Val::Uuid(parked),
                Val::Text(format!("{}/webhook-waiting/{exec}", n.main_url())),
            ],
        )
        .await
        .unwrap();
    let r = execute(
        &db,
        &ctx,
        &Action::CancelRun {
            run: parked,
            label: "parked".into(),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert!(
        r.message.contains(&format!(
            "the Wait node of n8n execution {exec} was told \"cancelled\""
        )),
        "{r:?}"
    );
    assert!(r.warning.is_none(), "{r:?}");
    let t0 = Instant::now();
    loop {
        let e = client.get_execution(&exec).await.unwrap();
        if e.status == "success" {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "execution {exec} is {}",
            e.status
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after = after_of(&db, r.audit_id).await;
    assert_eq!(after["n8n"]["execution"], exec.as_str(), "{after}");
    assert_eq!(
        after["n8n"]["wait_nodes"][0]["result"], "told cancelled",
        "{after}"
    );
    // no Wait node to tell: the report and the row say to stop it in n8n
    let r = execute(
        &db,
        &ctx,
        &Action::CancelRun {
            run: plain_run,
            label: "plain".into(),
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert!(
        r.warning
            .as_deref()
            .is_some_and(|w| w.contains("stop n8n execution 999999 in n8n")),
        "{r:?}"
    );
    let after = after_of(&db, r.audit_id).await;
    assert!(
        after["n8n"]["stop"]
            .as_str()
            .unwrap()
            .contains("no stop endpoint"),
        "{after}"
    );

    // Errors' R on a pattern whose errors came from n8n retries the executions in n8n
    hook(&n, "opsdeck-queue-fail").await;
    let failed = newest_with(&client, "error").await;
    let run = uuid::Uuid::new_v4();
    db.db
        .execute(
            "INSERT INTO workflow_executions (id, workflow_id, status, started_at, n8n_execution_id) \
             VALUES ($1, $2, 'failed', now(), $3)",
            &[Val::Uuid(run), Val::Uuid(plain), Val::Text(failed.clone())],
        )
        .await
        .unwrap();
    for exec in [Some(run), None] {
        db.db
            .execute(
                "INSERT INTO workflow_errors (id, workflow_id, execution_id, error_type, error_message) \
                 VALUES ($1, $2, $3, 'network', 'opsdeck test failure')",
                &[Val::Uuid(uuid::Uuid::new_v4()), Val::Uuid(plain), Val::OptUuid(exec)],
            )
            .await
            .unwrap();
    }
    let patterns = db
        .error_patterns(chrono::Utc::now() - chrono::Duration::hours(1))
        .await
        .unwrap();
    let p = patterns
        .iter()
        .find(|p| p.workflow_id == Some(plain))
        .expect("the pattern");
    assert_eq!((p.count, p.n8n_errors), (2, 1), "{p:?}");
    assert_eq!(p.n8n_executions, vec![failed.clone()]);
    let many = Action::N8nRetryMany {
        executions: p.n8n_executions.clone(),
        label: "Daily Report / network".into(),
    };
    let r = execute(&db, &ctx, &many).await;
    assert_eq!((r.outcome, r.changed), (Outcome::Ok, 1), "{r:?}");
    assert!(r.message.contains("retried 1 of 1 n8n executions"), "{r:?}");
    let t0 = Instant::now();
    loop {
        let page = client
            .list_executions(&opsdeck::api::n8n::ExecFilter::default().limit(20))
            .await
            .unwrap();
        if page
            .data
            .iter()
            .any(|e| e.retry_of.as_deref() == Some(failed.as_str()))
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no retry of {failed} in n8n"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // the console lists this execution once: with its run, not again in the n8n pane
    assert_eq!(
        db.linked_n8n(&[failed.clone(), "424242".into()])
            .await
            .unwrap(),
        vec![failed.clone()]
    );
    // again: refused by the audit trail, nothing retried twice
    let r = execute(&db, &ctx, &many).await;
    assert_eq!((r.outcome, r.changed), (Outcome::Conflict, 0), "{r:?}");
}

/// Which n8n executions a run links, on both backends (the console's n8n pane leaves them to
/// the runs list).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_executions_on_both_backends() {
    use opsdeck::api::store::Val;
    let mut stores = vec![common::migrated(common::sqlite_store_unmigrated().await).await];
    if let Some(pg) = common::pg_store_unmigrated().await {
        stores.push(common::migrated(pg).await);
    }
    for s in &stores {
        let wf = uuid::Uuid::new_v4();
        s.db.execute(
            "INSERT INTO workflows (id, name, status) VALUES ($1, 'w', 'active')",
            &[Val::Uuid(wf)],
        )
        .await
        .unwrap();
        for e in ["812", "813"] {
            s.db.execute(
                "INSERT INTO workflow_executions (id, workflow_id, status, started_at, n8n_execution_id) \
                 VALUES ($1, $2, 'running', $3, $4)",
                &[
                    Val::Uuid(uuid::Uuid::new_v4()),
                    Val::Uuid(wf),
                    Val::Ts(chrono::Utc::now()),
                    Val::Text(e.into()),
                ],
            )
            .await
            .unwrap();
        }
        let mut got = s
            .linked_n8n(&["812".into(), "813".into(), "900".into()])
            .await
            .unwrap();
        got.sort();
        assert_eq!(got, vec!["812".to_string(), "813".to_string()]);
        assert!(s.linked_n8n(&[]).await.unwrap().is_empty());
    }
}

/// Redis over TLS (`rediss://`, as managed Redis wants it): a redis-server of the test's own
/// that speaks only TLS, with a certificate for `localhost` signed by a CA made now. With
/// `redis_ca` the queue is read; without it (the system's roots) or with another CA, one clear
/// state says the certificate is not trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_over_tls() {
    use opsdeck::bench::cluster::{make_certs, openssl_present};
    if !openssl_present() {
        skip_or_fail("openssl is not installed");
        return;
    }
    let bin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(bin) = bin else {
        skip_or_fail("redis-server is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path()).expect("certificates");
    let port = free_port();
    let p = |f: &str| dir.path().join(f).display().to_string();
    let child = Command::new(bin)
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            &p("server.crt"),
            "--tls-key-file",
            &p("server.key"),
            "--tls-ca-cert-file",
            &p("ca.pem"),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    let _server = OwnRedis { child, port };
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "redis-server (TLS) did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("rediss://localhost:{port}/");
    let with = |ca: Option<&str>| QueueSettings {
        redis_ca: ca.map(|c| dir.path().join(c)),
        ..settings(&url, "bull", None, vec![])
    };
    // trusted through redis_ca: read (an empty queue under an unused prefix)
    let s = with(Some("ca.pem"));
    let polled = poll_once(&QueueReader::new(&s).unwrap(), &Probes::new(&s)).await;
    let q = polled.redis.as_ref().expect("read over TLS");
    assert_eq!(q.counts.waiting, 0);
    // the system's roots, or another CA: not trusted, said so
    for ca in [None, Some("other.pem")] {
        let s = with(ca);
        let polled = poll_once(&QueueReader::new(&s).unwrap(), &Probes::new(&s)).await;
        let e = polled.redis.as_ref().unwrap_err();
        assert_eq!(e.short, "TLS refused", "{ca:?}: {e:?}");
        assert!(e.full.contains("redis_ca"), "{e:?}");
    }
    // plain redis:// to a TLS-only port: a clear error, not a hang
    let s = settings(&format!("redis://localhost:{port}/"), "bull", None, vec![]);
    let t0 = Instant::now();
    let polled = poll_once(&QueueReader::new(&s).unwrap(), &Probes::new(&s)).await;
    assert!(polled.redis.is_err());
    assert!(t0.elapsed() < Duration::from_secs(6));
}
