//! Four-eyes across consoles, against a real database: console A (alice) sends a live critical
//! broadcast and waits; the same operator on another console cannot approve it; console B
//! (bob) sees it in the status bar, opens it and approves it (typed name) — the deliveries are
//! queued; console C (carol), a moment late, gets "already approved by bob"; A's screen follows
//! to the progress. Every broadcast effect runs through `app::effects::broadcast`, the code
//! the event loop runs. Postgres and SQLite each.

mod bcastkit;
mod common;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::api::Store;
use opsdeck::api::broadcast::BroadcastCtx;
use opsdeck::app::effects::broadcast as run_effect;
use opsdeck::config::BroadcastConfig;
use opsdeck::domain::broadcast::Level;
use opsdeck::domain::mode::Mode;
use opsdeck::domain::refresh::Listen;
use opsdeck::keymap::Keymap;
use opsdeck::state::broadcast::Stage;
use opsdeck::state::{App, Effect, Msg, Overlay};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use bcastkit::*;
use common::TestStore;

struct Console {
    app: App,
    ctx: BroadcastCtx,
}

fn cfg() -> BroadcastConfig {
    BroadcastConfig {
        second_operator_for: vec![Level::Critical],
        ..Default::default()
    }
}

fn console(operator: &str) -> Console {
    let mut app = App::new(
        Mode::Live,
        Theme::builtin("default").expect("theme"),
        Keymap::default_map(),
        operator.into(),
        "test/db".into(),
        Utc::now(),
    );
    app.listen = Listen::Up;
    app.size = (120, 40);
    Console {
        app,
        ctx: ctx(operator, cfg()),
    }
}

/// Runs the broadcast effects (and those they lead to) against the store; reads of the views
/// are not needed here and are dropped.
async fn settle(s: &Store, c: &mut Console, mut fx: Vec<Effect>) {
    let mut rounds = 0;
    while let Some(e) = fx.pop() {
        rounds += 1;
        assert!(rounds < 100, "effects do not settle");
        if let Effect::Broadcast(b) = e {
            let m = run_effect(s, &c.ctx, b).await;
            give_key(&mut c.app);
            fx.extend(c.app.update(m.into()));
        }
    }
}

/// Like app.rs: the state always holds a spare idempotency key.
fn give_key(a: &mut App) {
    if a.needs_key() {
        a.update(Msg::FreshKey(opsdeck::api::broadcast::new_key()));
    }
}

async fn key(s: &Store, c: &mut Console, code: KeyCode, m: KeyModifiers) {
    give_key(&mut c.app);
    let fx = c.app.update(Msg::Key(KeyEvent::new(code, m)));
    settle(s, c, fx).await;
}

async fn typ(s: &Store, c: &mut Console, text: &str) {
    for ch in text.chars() {
        key(s, c, KeyCode::Char(ch), KeyModifiers::NONE).await;
    }
}

async fn tick(s: &Store, c: &mut Console, msg: Msg) {
    give_key(&mut c.app);
    let fx = c.app.update(msg);
    settle(s, c, fx).await;
}

fn screen(a: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
    t.backend().to_string()
}

async fn n(s: &Store, sql: &str) -> i64 {
    count(s, sql, &[]).await
}

async fn four_eyes_across_consoles(s: TestStore) {
    fixture(&s).await;
    let mut a = console("alice@ops");
    // A composes a live critical broadcast to the Gala
    key(&s, &mut a, KeyCode::Char('b'), KeyModifiers::NONE).await;
    if let Overlay::Broadcast(u) = &mut a.app.overlay {
        u.pick = u
            .choices
            .iter()
            .position(|c| c.name == "Gala")
            .expect("Gala offered");
    } else {
        panic!("compose did not open");
    }
    typ(&s, &mut a, "Fire alarm: leave the hall now.").await;
    key(&s, &mut a, KeyCode::Char('t'), KeyModifiers::CONTROL).await; // LIVE
    key(&s, &mut a, KeyCode::Tab, KeyModifiers::NONE).await; // Level
    key(&s, &mut a, KeyCode::Right, KeyModifiers::NONE).await; // urgent
    key(&s, &mut a, KeyCode::Right, KeyModifiers::NONE).await; // critical
    key(&s, &mut a, KeyCode::Char('p'), KeyModifiers::CONTROL).await;
    key(&s, &mut a, KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    typ(&s, &mut a, "Gala").await;
    key(&s, &mut a, KeyCode::Enter, KeyModifiers::NONE).await;
    tick(
        &s,
        &mut a,
        Msg::Clock(Utc::now() + chrono::Duration::seconds(6)),
    )
    .await;
    // stored, held, waiting: nothing queued
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM emergency_broadcasts WHERE status = 'awaiting_approval'"
        )
        .await,
        1
    );
    assert_eq!(n(&s, "SELECT count(*) AS n FROM job_queue").await, 0);
    let id = match &a.app.overlay {
        Overlay::Broadcast(u) => u.broadcast_id().expect("sent"),
        _ => panic!("A's screen closed"),
    };
    tick(
        &s,
        &mut a,
        Msg::Clock(Utc::now() + chrono::Duration::seconds(75)),
    )
    .await;
    let sa = screen(&a.app);
    assert!(sa.contains("AWAITING APPROVAL"), "{sa}");
    assert!(sa.contains("waiting for a second operator  1:1"), "{sa}");
    assert!(
        sa.contains(&format!("opsdeck broadcast approve {id}")),
        "{sa}"
    );

    // the same operator on another console sees it but cannot approve it
    let mut a2 = console("alice@ops");
    let fx = a2.app.start();
    settle(&s, &mut a2, fx).await;
    assert!(
        screen(&a2.app).contains("1 broadcast awaits approval (B)"),
        "{}",
        screen(&a2.app)
    );
    key(&s, &mut a2, KeyCode::Char('B'), KeyModifiers::SHIFT).await;
    key(&s, &mut a2, KeyCode::Enter, KeyModifiers::NONE).await;
    key(&s, &mut a2, KeyCode::Char('a'), KeyModifiers::NONE).await;
    let s2 = screen(&a2.app);
    assert!(s2.contains("you triggered this broadcast"), "{s2}");
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM emergency_broadcasts WHERE status = 'awaiting_approval'"
        )
        .await,
        1,
        "still waiting"
    );

    // B and C (other operators) see it: the badge, the list, the detail
    let mut b = console("bob@ops");
    let mut c = console("carol@ops");
    for x in [&mut b, &mut c] {
        let fx = x.app.start();
        settle(&s, x, fx).await;
        assert!(screen(&x.app).contains("1 broadcast awaits approval (B)"));
        key(&s, x, KeyCode::Char('B'), KeyModifiers::SHIFT).await;
        key(&s, x, KeyCode::Enter, KeyModifiers::NONE).await;
        let sx = screen(&x.app);
        for want in [
            "LIVE CRITICAL",
            "event 'Gala'",
            "alice@ops",
            "Fire alarm: leave the hall now.",
            "3 (email 1 · sms 1 · voice 1)",
        ] {
            assert!(sx.contains(want), "{want} missing:\n{sx}");
        }
    }
    // B approves: typed name
    key(&s, &mut b, KeyCode::Char('a'), KeyModifiers::NONE).await;
    typ(&s, &mut b, "Gala").await;
    key(&s, &mut b, KeyCode::Enter, KeyModifiers::NONE).await;
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'pending' AND job_type LIKE 'broadcast.%'"
        )
        .await,
        3
    );
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM broadcast_deliveries WHERE status = 'queued'"
        )
        .await,
        3
    );
    match &b.app.overlay {
        Overlay::Broadcast(u) => {
            assert_eq!((u.broadcast_id(), &u.stage), (Some(id), &Stage::Progress))
        }
        _ => panic!("B does not follow the approved broadcast"),
    }
    let sb = screen(&b.app);
    assert!(
        sb.contains("approved by bob@ops: 3 deliveries queued"),
        "{sb}"
    );
    assert!(!sb.contains("awaits approval"), "badge gone:\n{sb}");

    // C, a moment late: the conflict names bob
    key(&s, &mut c, KeyCode::Char('a'), KeyModifiers::NONE).await;
    typ(&s, &mut c, "Gala").await;
    key(&s, &mut c, KeyCode::Enter, KeyModifiers::NONE).await;
    let sc = screen(&c.app);
    assert!(sc.contains("already approved by bob@ops at"), "{sc}");
    assert_eq!(
        n(&s, "SELECT count(*) AS n FROM job_queue").await,
        3,
        "one set of jobs"
    );

    // A's screen: the change arrives (NOTIFY or poll) and it shows the progress
    tick(
        &s,
        &mut a,
        Msg::Changed(vec!["emergency_broadcasts".into()]),
    )
    .await;
    let sa = screen(&a.app);
    assert!(!sa.contains("waiting for a second operator"), "{sa}");
    assert!(sa.contains("approved by bob@ops"), "{sa}");
    assert!(sa.contains("queued"), "{sa}");

    // the audit trail: send, the refused self-approval is not even attempted, approve, conflict
    let acts: Vec<String> = s
        .db
        .fetch_all(
            "SELECT action || ':' || outcome || ':' || operator AS a FROM operator_actions ORDER BY at, id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.s("a"))
        .collect();
    assert_eq!(
        acts,
        [
            "broadcast.send:ok:alice@ops",
            "broadcast.approve:ok:bob@ops",
            "broadcast.approve:conflict:carol@ops"
        ]
    );
}
store_test!(four_eyes_across_consoles, four_eyes_across_consoles);

fn url_of(s: &TestStore) -> String {
    match &s.target {
        opsdeck::config::DbTarget::Postgres(u) => u.expose().to_string(),
        opsdeck::config::DbTarget::Sqlite(p) => format!("sqlite://{}", p.display()),
    }
}

/// alice sends a warning to the Gala through the CLI with the config file `conf`.
async fn cli_warning(s: &TestStore, conf: &std::path::Path, message: &str) -> std::process::Output {
    let (url, conf, message) = (url_of(s), conf.display().to_string(), message.to_string());
    tokio::task::spawn_blocking(move || {
        opsdeck_cli(
            &url,
            "alice@ops",
            &[
                "--config",
                &conf,
                "broadcast",
                "--level",
                "warning",
                "--event",
                "Gala",
                "--message",
                &message,
                "--yes",
            ],
        )
    })
    .await
    .unwrap()
}

fn opsdeck_cli(url: &str, operator: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .args(["--operator", operator])
        .env("DATABASE_URL", url)
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env_remove("N8N_URL")
        .env_remove("N8N_API_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run opsdeck")
}

/// `opsdeck broadcast cancel ID` on a queued (live, not held) broadcast stops its pending
/// deliveries and says how many; again, it is a conflict naming who cancelled.
async fn cli_cancels_a_queued_broadcast(s: TestStore) {
    fixture(&s).await;
    let alice = ctx("alice@ops", BroadcastConfig::default());
    let p = opsdeck::api::broadcast::prepare(
        &s,
        &alice.cfg,
        &draft(
            "warning",
            opsdeck::domain::broadcast::Target::Event("Gala".into()),
            "Delay",
            "cli-c1",
        ),
        Utc::now(),
    )
    .await
    .unwrap();
    let id = opsdeck::api::broadcast::send(&s, &alice, &p)
        .await
        .unwrap()
        .broadcast_id
        .to_string();
    let url = url_of(&s);
    let o = opsdeck_cli(&url, "bob@ops", &["broadcast", "cancel", &id, "--json"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        (
            j["outcome"].as_str(),
            j["stopped"].as_u64(),
            j["already_out"].as_u64()
        ),
        (Some("ok"), Some(3), Some(0)),
        "{j}"
    );
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM job_queue WHERE status = 'cancelled'"
        )
        .await,
        3
    );
    let o = opsdeck_cli(&url, "alice@ops", &["broadcast", "cancel", &id]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("already cancelled by bob@ops"), "{err}");
}
store_test!(
    cli_cancels_a_queued_broadcast,
    cli_cancels_a_queued_broadcast
);

/// With `n8n_webhook = true` and no `webhook_url`, the CLI calls the seed's
/// `POST {n8n}/webhook/emergency-broadcast` at the configured n8n.
async fn cli_webhook_defaults_from_n8n(s: TestStore) {
    use common::http_fake::{HttpFake, Response};
    fixture(&s).await;
    let fake = HttpFake::start(|_| Response::json(200, serde_json::json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("opsdeck.toml");
    std::fs::write(
        &conf,
        format!(
            "[n8n]\nurl = \"{}/api/v1\"\napi_key = \"k-1\"\n\n[broadcast]\nn8n_webhook = true\n\
             webhook_auth = \"s3cret\"\nwebhook_auth_env = \"OPSDECK_TEST_UNSET_AUTH_VAR\"\n",
            fake.url
        ),
    )
    .unwrap();
    let o = cli_warning(&s, &conf, "Doors open late").await;
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "{out}");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("POST", "/webhook/emergency-broadcast")
    );
    assert_eq!(reqs[0].header("x-emergency-auth"), Some("s3cret"));
    assert_eq!(reqs[0].json()["message"], "Doors open late");
    // n8n_webhook without any n8n URL: a clear error, nothing sent
    std::fs::write(&conf, "[broadcast]\nn8n_webhook = true\n").unwrap();
    let o = cli_warning(&s, &conf, "Again").await;
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("n8n_webhook = true needs the n8n URL"),
        "{err}"
    );
    assert_eq!(
        n(&s, "SELECT count(*) AS n FROM emergency_broadcasts").await,
        1
    );
}
store_test!(cli_webhook_defaults_from_n8n, cli_webhook_defaults_from_n8n);
