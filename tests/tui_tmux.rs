//! The whole program as a user meets it: `opsdeck demo` in a real terminal (tmux), the overview
//! showing live numbers, view switching, and a clean exit. Needs tmux: under CI it must be there
//! (.ci/run installs it); elsewhere the test skips loudly.

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux")
    }
    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }
    fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", "t"];
        a.extend_from_slice(keys);
        self.cmd(&a);
    }
    fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.capture();
            if s.contains(what) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("'{what}' did not appear within {timeout:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", "t"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but tmux is not installed");
        }
        eprintln!("\n!!!!!!!! SKIPPING TMUX TEST: tmux is not installed !!!!!!!!\n");
    }
    ok
}

fn start(args: &str, w: u16, h: u16) -> Tmux {
    let dir = tempfile::tempdir().unwrap();
    let socket = format!(
        "opsdeck-test-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let bin = env!("CARGO_BIN_EXE_opsdeck");
    let cmdline = format!(
        "env -u DATABASE_URL XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/config TERM=xterm-256color {bin} {args}; echo EXITED=$?; sleep 30",
        d = dir.path().display()
    );
    let t = Tmux { socket, _dir: dir };
    let o = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        &w.to_string(),
        "-y",
        &h.to_string(),
        &cmdline,
    ]);
    assert!(
        o.status.success(),
        "tmux new-session: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    t
}

/// Digits on screen, as a crude fingerprint of the numbers shown.
fn numbers(screen: &str) -> Vec<String> {
    screen
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn demo_runs_live_and_switches_views() {
    if !tmux_available() {
        return;
    }
    let t = start("demo --fresh", 120, 40);
    let first = t.wait_for("DEMO", Duration::from_secs(20));
    assert!(first.contains("Overview"), "{first}");
    // live: the engine changes the numbers on screen within a few seconds
    let start = Instant::now();
    let mut changed = false;
    while start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(1000));
        let now = t.capture();
        if numbers(&now) != numbers(&first) {
            changed = true;
            break;
        }
    }
    assert!(
        changed,
        "the overview's numbers did not change in 20 s:\n{first}"
    );

    // two keystrokes find any view
    t.keys(&["2"]);
    let s = t.wait_for("Model Booking Request", Duration::from_secs(10));
    assert!(s.contains("Workflows"), "{s}");
    t.keys(&["6"]);
    t.wait_for("Runway", Duration::from_secs(10));
    t.keys(&["?"]);
    t.wait_for("quit", Duration::from_secs(5));
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    let s = t.wait_for("EXITED=", Duration::from_secs(10));
    assert!(s.contains("EXITED=0"), "{s}");
    assert!(t.alive());
}

#[test]
fn too_small_terminal_says_so() {
    if !tmux_available() {
        return;
    }
    let t = start("demo", 60, 20);
    t.wait_for("too small", Duration::from_secs(20));
    t.keys(&["q"]);
    t.wait_for("EXITED=0", Duration::from_secs(10));
}

/// An operator action through the real binary: Queue → R → the dialog → y → the toast, and the
/// row really changed (with its audit row).
#[test]
fn retry_a_failed_job_in_the_real_console() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.db");
    let target = opsdeck::config::DbTarget::Sqlite(path.clone());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = uuid::Uuid::new_v4();
    rt.block_on(async {
        let s = opsdeck::api::Store::open(&target, 1).await.unwrap();
        s.migrate().await.unwrap();
        s.db.execute(
            "INSERT INTO job_queue (id, job_type, status, error_message) VALUES ($1, 'email.send', 'failed', 'SMTP 451')",
            &[opsdeck::api::db::Val::Uuid(id)],
        )
        .await
        .unwrap();
        s.db.close().await;
    });
    let t = start(
        &format!(
            "--database-url sqlite://{} --operator tmux@ops",
            path.display()
        ),
        100,
        30,
    );
    t.wait_for("LIVE", Duration::from_secs(10));
    t.keys(&["4"]);
    t.wait_for("SMTP 451", Duration::from_secs(10));
    t.keys(&["R"]);
    t.wait_for("confirm: job.retry", Duration::from_secs(5));
    t.keys(&["y"]);
    t.wait_for("retried 1 job", Duration::from_secs(10));
    t.keys(&["q"]);
    t.wait_for("EXITED=0", Duration::from_secs(5));
    rt.block_on(async {
        let s = opsdeck::api::Store::open(&target, 1).await.unwrap();
        let r =
            s.db.fetch_one(
                "SELECT j.status, a.operator FROM job_queue j, operator_actions a WHERE j.id = $1",
                &[opsdeck::api::db::Val::Uuid(id)],
            )
            .await
            .unwrap();
        assert_eq!(r.s("status"), "pending");
        assert_eq!(r.s("operator"), "tmux@ops");
        s.db.close().await;
    });
}

mod bcastkit;

/// Four-eyes through the real binary: a broadcast alice left waiting shows in bob's status
/// bar; B opens the approval screen, Enter the broadcast, a and the typed event name approve
/// it, and the console follows it to its progress. The database says bob approved it.
#[test]
fn approve_a_waiting_broadcast_in_the_real_console() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.db");
    let target = opsdeck::config::DbTarget::Sqlite(path.clone());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = rt.block_on(async {
        let s = opsdeck::api::Store::open(&target, 1).await.unwrap();
        s.migrate().await.unwrap();
        bcastkit::fixture(&s).await;
        let cfg = opsdeck::config::BroadcastConfig {
            second_operator_for: vec![opsdeck::broadcast::Level::Critical],
            ..Default::default()
        };
        let alice = bcastkit::ctx("alice@ops", cfg.clone());
        let p = opsdeck::api::broadcast::prepare(
            &s,
            &cfg,
            &bcastkit::draft(
                "critical",
                opsdeck::api::broadcast::Target::Event("Gala".into()),
                "Fire: leave now",
                "tmux-k1",
            ),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let id = opsdeck::api::broadcast::send(&s, &alice, &p)
            .await
            .unwrap()
            .broadcast_id;
        s.db.close().await;
        id
    });
    let t = start(
        &format!(
            "--database-url sqlite://{} --operator bob@ops",
            path.display()
        ),
        120,
        32,
    );
    t.wait_for("1 broadcast awaits approval (B)", Duration::from_secs(10));
    t.keys(&["B"]);
    t.wait_for("BROADCASTS AWAITING APPROVAL (1)", Duration::from_secs(5));
    t.keys(&["Enter"]);
    t.wait_for("alice@ops · waiting", Duration::from_secs(5));
    t.keys(&["a"]);
    t.wait_for("type the event name", Duration::from_secs(5));
    t.keys(&["-l", "Gala"]);
    t.keys(&["Enter"]);
    t.wait_for(
        "approved by bob@ops: 3 deliveries queued",
        Duration::from_secs(10),
    );
    t.keys(&["q"]);
    t.keys(&["q"]);
    t.wait_for("EXITED=0", Duration::from_secs(5));
    rt.block_on(async {
        let s = opsdeck::api::Store::open(&target, 1).await.unwrap();
        let r =
            s.db.fetch_one(
                "SELECT status, approved_by FROM emergency_broadcasts WHERE id = $1",
                &[opsdeck::api::db::Val::Uuid(id)],
            )
            .await
            .unwrap();
        assert_eq!(
            (r.s("status"), r.s("approved_by")),
            ("queued".into(), "bob@ops".into())
        );
        s.db.close().await;
    });
}
