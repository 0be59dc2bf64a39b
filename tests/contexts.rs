//! Contexts (issue 19): several automation stacks in one config. A real Postgres database
//! (production, the default) with a deep queue, a SQLite one (staging) and a dead one;
//! `opsdeck contexts` reads them side by side (the dead one is a line, not a hang, exit 1);
//! `--context` picks one for every command (beating DATABASE_URL); an unknown one names those
//! that exist; the console's status bar says the context, production in the alert colour.

mod common;

use chrono::Utc;
use opsdeck::domain::mode::Mode;
use opsdeck::keymap::Keymap;
use opsdeck::state::App;
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Production (Postgres, 120 jobs queued) and staging (SQLite, empty), migrated; None where
/// Postgres is missing (skipped loudly, or failed under CI).
async fn stacks() -> Option<(common::TestStore, common::TestStore)> {
    let pg = common::migrated(common::pg_store_unmigrated().await?).await;
    pg.db
        .execute(
            "INSERT INTO job_queue (job_type) SELECT 'email.send' FROM generate_series(1, 120)",
            &[],
        )
        .await
        .unwrap();
    let lite = common::migrated(common::sqlite_store_unmigrated().await).await;
    Some((pg, lite))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_side_by_side() {
    let Some((pg, lite)) = stacks().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "context = \"acme\"\n\n[contexts.acme]\ndatabase_url = \"{}\"\nproduction = true\n\n\
             [contexts.staging]\ndatabase_url = \"{}\"\n\n\
             [contexts.dead]\ndatabase_url = \"postgres://ops@127.0.0.1:1/automation\"\n",
            common::cli::url_of(&pg),
            common::cli::url_of(&lite)
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let cli = |args: &[&str]| common::cli::opsdeck(args, &[]);
    let text = common::cli::text;

    let o = cli(&["--config", c, "contexts", "--json"]);
    assert_eq!(o.status.code(), Some(1), "one is unreachable: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let by = |n: &str| {
        v["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n}: {v}"))
    };
    let acme = by("acme");
    assert_eq!(acme["reachable"], true);
    assert_eq!(acme["production"], true);
    assert_eq!(acme["default"], true);
    assert_eq!(acme["depth"], 120);
    assert_eq!(acme["open_alerts"], 0);
    let staging = by("staging");
    assert_eq!(staging["reachable"], true, "{staging}");
    assert_eq!(staging["depth"], 0);
    let dead = by("dead");
    assert_eq!(dead["reachable"], false);
    assert!(
        dead["error"].as_str().unwrap().contains("127.0.0.1:1"),
        "{dead}"
    );
    let o = cli(&["--config", c, "contexts"]);
    let t = text(&o);
    assert!(t.contains("* acme"), "{t}");
    assert!(t.contains("PROD"), "{t}");
    assert!(t.contains("dead") && t.contains("unreachable: "), "{t}");

    // --context picks the stack for any command, over DATABASE_URL
    let o = common::cli::opsdeck(
        &[
            "--config",
            c,
            "--context",
            "staging",
            "export",
            "queue",
            "--format",
            "json",
        ],
        &[("DATABASE_URL", common::cli::url_of(&pg).as_str())],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["count"], 0, "staging's queue, not acme's");
    // the default context is acme's
    let o = cli(&["--config", c, "export", "queue", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["count"], 120, "acme's queue, every page");
    let o = cli(&["--config", c, "--context", "nope", "alerts"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no context nope: the config has acme, dead, staging"),
        "{}",
        text(&o)
    );
    pg.db.close().await;
}

#[test]
fn the_status_bar_says_the_context() {
    let mut a = App::new(
        Mode::Live,
        Theme::builtin("default").unwrap(),
        Keymap::default_map(),
        "ana".into(),
        "db.internal/automation".into(),
        Utc::now(),
    );
    a.context = Some(("acme-prod".into(), true));
    a.contexts = vec!["acme-prod".into(), "acme-staging".into()];
    let mut t = Terminal::new(TestBackend::new(120, 30)).unwrap();
    t.draw(|f| opsdeck::views::draw(f, &a)).unwrap();
    let s = t.backend().to_string();
    assert!(s.contains(" PROD acme-prod "), "{s}");
    // :ctx to an unknown one says which exist; to a known one closes the console to reopen
    let fx = a.switch_context("nope");
    assert!(fx.is_empty());
    assert!(
        a.toast
            .as_ref()
            .is_some_and(|t| t.text == "no context 'nope': acme-prod, acme-staging")
    );
    let fx = a.switch_context("acme-staging");
    assert_eq!(fx, vec![opsdeck::state::Effect::Quit]);
    assert_eq!(a.switch_to.as_deref(), Some("acme-staging"));
}

/// The all-contexts overview inside the console (`:ctx`): every context is read on its own,
/// side by side — production Postgres with a deep queue and an open alert, SQLite staging, and
/// a context whose server accepts the connection and never answers. The two live lines land
/// while the hung one is still being read (it never holds them up), and it ends as a line
/// saying why after the probe's 5 s. The status bar then names the context that wants a look;
/// Enter on a line switches to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reads_every_context_side_by_side() {
    use futures::StreamExt;
    use opsdeck::state::{Effect, Msg, Overlay};
    let Some((pg, lite)) = stacks().await else {
        return;
    };
    // staging has an open alert
    let f = opsdeck::domain::alert::Firing {
        rule: opsdeck::domain::alert::AlertRule::QueueDepth,
        key: "job_queue>100".into(),
        level: opsdeck::domain::alert::Level::Critical,
        message: "queue depth 140 > 100".into(),
    };
    lite.alert_raise(&f, "console")
        .await
        .unwrap()
        .expect("raised");
    // a server that takes the connection and never says a word
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    let toml = format!(
        "context = \"acme\"\n\n[contexts.acme]\ndatabase_url = \"{}\"\nproduction = true\n\n\
         [contexts.staging]\ndatabase_url = \"{}\"\n\n\
         [contexts.hung]\ndatabase_url = \"postgres://ops@127.0.0.1:{hung_port}/automation\"\n",
        common::cli::url_of(&pg),
        common::cli::url_of(&lite)
    );
    let file = opsdeck::config::FileConfig::parse(&toml, "config.toml").unwrap();
    let probes = opsdeck::api::contexts::Probes::of(&file).unwrap();

    let mut a = App::new(
        Mode::Live,
        Theme::builtin("default").unwrap(),
        Keymap::default_map(),
        "ana".into(),
        "acme".into(),
        Utc::now(),
    );
    a.context = Some(("acme".into(), true));
    a.contexts = probes.names();
    let fx = a.open_contexts();
    assert!(matches!(a.overlay, Overlay::Contexts));
    let names: Vec<String> = fx
        .iter()
        .map(|e| match e {
            Effect::ReadContext(n) => n.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["acme", "hung", "staging"]);
    // asking again while they are read asks nothing twice
    assert!(a.update(Msg::Clock(Utc::now())).is_empty());

    let io = opsdeck::app::effects::Io {
        contexts: probes,
        ..common::io(&pg, "ana")
    };
    let started = std::time::Instant::now();
    let mut arriving: futures::stream::FuturesUnordered<_> = fx
        .into_iter()
        .map(|e| {
            let io = io.clone();
            async move {
                let m = Box::pin(opsdeck::app::effects::run(&io, e)).await;
                (m, started.elapsed())
            }
        })
        .collect();
    let mut order = Vec::new();
    while let Some((m, took)) = arriving.next().await {
        let m = m.expect("a message");
        if let Msg::ContextRead(l) = &m {
            order.push((l.name.clone(), took));
        }
        a.update(m);
    }
    let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"hung"), "{order:?}");
    assert!(
        order[..2]
            .iter()
            .all(|(_, t)| *t < std::time::Duration::from_secs(4)),
        "the live contexts waited for the hung one: {order:?}"
    );
    let line = |n: &str| {
        a.others
            .slots
            .iter()
            .find(|s| s.name == n)
            .and_then(|s| s.line.clone())
            .unwrap()
    };
    let acme = line("acme");
    assert!(
        acme.reachable && acme.production && acme.default,
        "{acme:?}"
    );
    assert_eq!(acme.depth, Some(120));
    assert_eq!(acme.open_alerts, Some(0));
    let staging = line("staging");
    assert!(staging.reachable, "{staging:?}");
    assert_eq!(staging.open_alerts, Some(1));
    let hung_line = line("hung");
    assert!(!hung_line.reachable);
    // the probe's 5 s, or the connection's own 5 s connect timeout, whichever fires first
    let why = hung_line.error.clone().unwrap_or_default();
    assert!(
        why == "no answer in 5 s" || why.ends_with("timed out after 5 s"),
        "{why}"
    );

    let mut t = Terminal::new(TestBackend::new(120, 30)).unwrap();
    t.draw(|f| opsdeck::views::draw(f, &a)).unwrap();
    let s = t.backend().to_string();
    assert!(s.contains("CONTEXTS · 3"), "{s}");
    assert!(s.contains("acme (here)"), "{s}");
    assert!(s.contains("unreachable: "), "{s}");
    // the others that want a look, in the status bar: the hung one first (config order), +1
    assert!(s.contains("⚠ hung: unreachable +1 · :ctx"), "{s}");

    // Enter on staging: the console closes to open again there
    a.update(Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Down,
    )));
    a.update(Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Down,
    )));
    let fx = a.update(Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    )));
    assert_eq!(fx, vec![Effect::Quit]);
    assert_eq!(a.switch_to.as_deref(), Some("staging"));
    drop(hung);
    pg.db.close().await;
}
