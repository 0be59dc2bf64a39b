//! The whole program as a user meets it: `opsdeck demo` in a real terminal (tmux), the overview
//! showing live numbers, view switching, and a clean exit. Needs tmux: under CI it must be there
//! (.ci/run installs it); elsewhere the test skips loudly.

mod common;

use std::time::{Duration, Instant};

use common::tmux::{self, Tmux};

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
    if !tmux::available() {
        return;
    }
    let t = Tmux::start("demo --fresh", 120, 40);
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
    if !tmux::available() {
        return;
    }
    let t = Tmux::start("demo", 60, 20);
    t.wait_for("too small", Duration::from_secs(20));
    t.keys(&["q"]);
    t.wait_for("EXITED=0", Duration::from_secs(10));
}

/// An operator action through the real binary: Queue → R → the dialog → y → the toast, and the
/// row really changed (with its audit row).
/// A fresh SQLite database for a console test: its directory (keep it alive), its file, its
/// target, and a runtime to prepare and check it with.
fn sqlite_db() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    opsdeck::config::DbTarget,
    tokio::runtime::Runtime,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.db");
    let target = opsdeck::config::DbTarget::Sqlite(path.clone());
    (dir, path, target, tokio::runtime::Runtime::new().unwrap())
}

/// The real console on the SQLite file at `path` as `operator`, in a `w`×`h` tmux.
fn sqlite_console(path: &std::path::Path, operator: &str, w: u16, h: u16) -> Tmux {
    Tmux::start(
        &format!(
            "--database-url sqlite://{} --operator {operator}",
            path.display()
        ),
        w,
        h,
    )
}

#[test]
fn retry_a_failed_job_in_the_real_console() {
    if !tmux::available() {
        return;
    }
    let (_dir, path, target, rt) = sqlite_db();
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
    let t = sqlite_console(&path, "tmux@ops", 100, 30);
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
    if !tmux::available() {
        return;
    }
    let (_dir, path, target, rt) = sqlite_db();
    let id = rt.block_on(async {
        let s = opsdeck::api::Store::open(&target, 1).await.unwrap();
        s.migrate().await.unwrap();
        bcastkit::fixture(&s).await;
        let cfg = opsdeck::config::BroadcastConfig {
            second_operator_for: vec![opsdeck::domain::broadcast::Level::Critical],
            ..Default::default()
        };
        let alice = bcastkit::ctx("alice@ops", cfg.clone());
        let p = opsdeck::api::broadcast::prepare(
            &s,
            &cfg,
            &bcastkit::draft(
                "critical",
                opsdeck::domain::broadcast::Target::Event("Gala".into()),
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
    let t = sqlite_console(&path, "bob@ops", 120, 32);
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
