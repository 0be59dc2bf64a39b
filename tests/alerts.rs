//! Alerts for the control room across consoles, against a real database (issue 19): two
//! consoles (ana and bo) on one database, every effect run through `app::effects::run`, the
//! code the event loop runs. The queue crosses 100: both consoles show one alert (one row: the
//! second console's raise is a no-op), ana's bell rings; bo acknowledges it with a comment and
//! ana's console shows "acked by bo … : on it" and drops it from the bar; ana's own ack is a
//! conflict naming bo; the queue drains and the alert clears only after `clear_after`; a new
//! crossing is a new alert; bo silences it, ana's bar hides it until the silence ends, then it
//! is back (and rings). The database going away is shown at once and recorded when it is back
//! (Postgres). Postgres and SQLite each.

mod common;

use chrono::{Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::api::Store;
use opsdeck::app::effects::{Io, run};
use opsdeck::domain::alert::{AlertRule, Standing};
use opsdeck::domain::mode::Mode;
use opsdeck::domain::model::Ts;
use opsdeck::domain::refresh::Listen;
use opsdeck::keymap::Keymap;
use opsdeck::state::{App, Effect, Msg, Overlay};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use common::TestStore;

struct Console {
    app: App,
    io: Io,
    bells: usize,
}

fn console(store: &Store, operator: &str) -> Console {
    let mut app = App::new(
        Mode::Live,
        Theme::builtin("default").expect("theme"),
        Keymap::default_map(),
        operator.into(),
        "test/db".into(),
        Utc::now(),
    );
    app.listen = Listen::Up;
    app.size = (160, 48);
    Console {
        app,
        io: common::io(store, operator),
        bells: 0,
    }
}

/// Runs the effects (and those they lead to) as the event loop would, counting bells.
async fn settle(c: &mut Console, mut fx: Vec<Effect>) {
    let mut rounds = 0;
    while !fx.is_empty() {
        let e = fx.remove(0);
        rounds += 1;
        assert!(rounds < 200, "effects do not settle");
        match e {
            Effect::Bell => c.bells += 1,
            Effect::Later(..) | Effect::Quit => {}
            e => {
                if let Some(m) = Box::pin(run(&c.io, e)).await {
                    fx.extend(c.app.update(m));
                }
            }
        }
    }
}

async fn msg(c: &mut Console, m: Msg) {
    let fx = c.app.update(m);
    settle(c, fx).await;
}

async fn key(c: &mut Console, code: KeyCode) {
    msg(c, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))).await;
}

async fn typ(c: &mut Console, text: &str) {
    for ch in text.chars() {
        key(c, KeyCode::Char(ch)).await;
    }
}

/// The console's clock moves to `t` (a second's tick: silences end, due watches run).
async fn at(c: &mut Console, t: Ts) {
    msg(c, Msg::Clock(t)).await;
}

/// A poll at `t`: the view and the alert rules are read again.
async fn poll(c: &mut Console, t: Ts) {
    at(c, t).await;
    msg(c, Msg::Poll).await;
}

fn screen(a: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
    t.backend().to_string()
}

async fn n(s: &Store, sql: &str) -> i64 {
    s.db.fetch_one(sql, &[]).await.expect(sql).n("n")
}

async fn pending_jobs(s: &Store, count: i64) {
    let sql = format!(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {count}) \
         INSERT INTO job_queue (job_type) SELECT 'email.send' FROM k"
    );
    s.db.execute(&sql, &[]).await.expect("jobs");
}

async fn drain(s: &Store) {
    s.db.execute(
        "UPDATE job_queue SET status = 'completed' WHERE status = 'pending'",
        &[],
    )
    .await
    .expect("drain");
}

fn queue_alerts(a: &App) -> Vec<&opsdeck::domain::alert::Alert> {
    a.alerts
        .list
        .iter()
        .filter(|x| x.rule == AlertRule::QueueDepth)
        .collect()
}

async fn alerts_across_consoles(s: TestStore) {
    let t0 = Utc::now();
    let mut ana = console(&s, "ana");
    let mut bo = console(&s, "bo");
    let fx = ana.app.start();
    settle(&mut ana, fx).await;
    let fx = bo.app.start();
    settle(&mut bo, fx).await;
    assert!(ana.app.alerts.error.is_none(), "{:?}", ana.app.alerts.error);
    assert!(ana.app.alerts.list.is_empty());
    assert!(!screen(&ana.app).contains("ALERT"));

    // the queue crosses 100: one alert, raised by whoever sees it first, shown by both
    pending_jobs(&s, 101).await;
    poll(&mut ana, t0 + Duration::seconds(2)).await;
    poll(&mut bo, t0 + Duration::seconds(2)).await;
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM opsdeck_alerts WHERE rule = 'queue_depth'"
        )
        .await,
        1,
        "one crossing, one alert"
    );
    for c in [&ana, &bo] {
        let q = queue_alerts(&c.app);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].message, "queue depth 101 > 100");
        assert_eq!(q[0].raised_by.as_deref(), Some("ana"));
    }
    assert_eq!(ana.bells, 1, "a new alert rings once");
    let sc = screen(&ana.app);
    assert!(sc.contains("✖ ALERT  queue depth 101 > 100"), "{sc}");
    // polling again does not fire it again, nor ring
    poll(&mut ana, t0 + Duration::seconds(4)).await;
    poll(&mut bo, t0 + Duration::seconds(4)).await;
    assert_eq!(
        n(&s, "SELECT count(*) AS n FROM opsdeck_alerts").await,
        1,
        "no second fire"
    );
    assert_eq!(ana.bells, 1);

    // bo acknowledges with a comment
    key(&mut bo, KeyCode::Char('!')).await;
    assert!(matches!(bo.app.overlay, Overlay::Alerts));
    key(&mut bo, KeyCode::Char('A')).await;
    assert!(matches!(bo.app.overlay, Overlay::Dialog(_)));
    typ(&mut bo, "on it").await;
    key(&mut bo, KeyCode::Enter).await;
    assert!(
        bo.app
            .toast
            .as_ref()
            .is_some_and(|t| t.text.contains("acked")),
        "{:?}",
        bo.app.toast
    );
    assert!(
        matches!(bo.app.overlay, Overlay::Alerts),
        "back to the list"
    );
    // ana's console hears the change (NOTIFY) and shows who and why
    msg(&mut ana, Msg::Changed(vec!["opsdeck_alerts".into()])).await;
    at(&mut ana, t0 + Duration::seconds(7)).await;
    let q = queue_alerts(&ana.app);
    assert_eq!(q[0].standing(ana.app.now), Standing::Acked);
    assert_eq!(q[0].acked_by.as_deref(), Some("bo"));
    assert_eq!(q[0].ack_comment.as_deref(), Some("on it"));
    let sc = screen(&ana.app);
    assert!(!sc.contains("✖ ALERT"), "acked: off the bar\n{sc}");
    key(&mut ana, KeyCode::Char('!')).await;
    let sc = screen(&ana.app);
    assert!(sc.contains("acked by bo"), "{sc}");
    assert!(sc.contains(": on it"), "{sc}");
    // ana, a moment late, is told who was first
    key(&mut ana, KeyCode::Char('A')).await;
    key(&mut ana, KeyCode::Enter).await;
    let t = ana
        .app
        .toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(t.contains("already acked by bo at "), "{t}");
    assert!(t.ends_with(": on it"), "{t}");
    key(&mut ana, KeyCode::Esc).await;
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM operator_actions WHERE action = 'alert.ack' AND outcome = 'ok'"
        )
        .await,
        1
    );
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM operator_actions WHERE action = 'alert.ack' AND outcome = 'conflict'"
        )
        .await,
        1
    );

    // the queue drains: the alert clears only once it has stayed below the line for a minute
    drain(&s).await;
    poll(&mut ana, t0 + Duration::seconds(10)).await;
    assert!(queue_alerts(&ana.app)[0].cleared_at.is_none());
    poll(&mut ana, t0 + Duration::seconds(40)).await;
    assert!(
        queue_alerts(&ana.app)[0].cleared_at.is_none(),
        "not before 60 s"
    );
    poll(&mut ana, t0 + Duration::seconds(75)).await;
    assert!(
        queue_alerts(&ana.app)[0].cleared_at.is_some(),
        "cleared after 60 s below the line"
    );
    key(&mut ana, KeyCode::Char('!')).await;
    let sc = screen(&ana.app);
    assert!(sc.contains("cleared"), "{sc}");
    key(&mut ana, KeyCode::Esc).await;

    // a new crossing is a new alert, and rings again
    pending_jobs(&s, 120).await;
    poll(&mut bo, t0 + Duration::seconds(80)).await;
    poll(&mut ana, t0 + Duration::seconds(80)).await;
    let open: Vec<_> = queue_alerts(&ana.app)
        .into_iter()
        .filter(|a| a.cleared_at.is_none())
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].raised_by.as_deref(), Some("bo"));
    assert_eq!(ana.bells, 2);

    // bo (still in the Alerts list) silences it for two minutes; ana's bar hides it until
    // the silence ends
    assert!(matches!(bo.app.overlay, Overlay::Alerts));
    key(&mut bo, KeyCode::Char('X')).await;
    // a silence needs a comment
    key(&mut bo, KeyCode::Enter).await;
    assert!(matches!(bo.app.overlay, Overlay::Dialog(_)), "refused");
    typ(&mut bo, "2m vendor restarting").await;
    key(&mut bo, KeyCode::Enter).await;
    let t = bo
        .app
        .toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(t.contains("for 2m"), "{t}");
    msg(&mut ana, Msg::Changed(vec!["opsdeck_alerts".into()])).await;
    at(&mut ana, t0 + Duration::seconds(85)).await;
    let q: Vec<_> = queue_alerts(&ana.app)
        .into_iter()
        .filter(|a| a.cleared_at.is_none())
        .cloned()
        .collect();
    assert_eq!(q[0].standing(ana.app.now), Standing::Silenced);
    assert_eq!(q[0].silence_comment.as_deref(), Some("vendor restarting"));
    assert!(!screen(&ana.app).contains("✖ ALERT"));
    // the silence ends: it is back, and rings
    let bells = ana.bells;
    at(&mut ana, Utc::now() + Duration::seconds(125)).await;
    assert_eq!(q[0].standing(ana.app.now), Standing::Firing);
    assert!(screen(&ana.app).contains("✖ ALERT"));
    assert_eq!(ana.bells, bells + 1);
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM operator_actions WHERE action = 'alert.silence' AND outcome = 'ok'"
        )
        .await,
        1
    );
    drop((ana, bo));
    s.db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_across_consoles_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    alerts_across_consoles(common::migrated(s).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_across_consoles_sqlite() {
    let s = common::migrated(common::sqlite_store_unmigrated().await).await;
    alerts_across_consoles(s).await;
}

/// The database goes away: the bar says so at once (this console's own judgement, and the bell
/// rings once); when it is back the outage is written as one cleared alert, and a second
/// console that saw the same outage extends that row rather than adding one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_shown_then_recorded() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let mut ana = console(&s, "ana");
    let fx = ana.app.start();
    settle(&mut ana, fx).await;
    let t0 = Utc::now();
    // a read fails as it does when the database is unreachable
    let req = opsdeck::domain::refresh::LoadReq {
        view: opsdeck::domain::refresh::ViewId::Overview,
        kind: opsdeck::domain::refresh::LoadKind::Main,
        filter: Default::default(),
        id: None,
        now: t0,
        seq: 0,
    };
    let fx = ana.app.refresh_view();
    let seq = fx
        .iter()
        .find_map(|e| match e {
            Effect::Load(r) => Some(r.seq),
            _ => None,
        })
        .expect("a read");
    at(&mut ana, t0 + Duration::seconds(1)).await;
    msg(
        &mut ana,
        Msg::Loaded(Box::new(opsdeck::domain::refresh::Loaded {
            req: opsdeck::domain::refresh::LoadReq { seq, ..req },
            result: Err(opsdeck::domain::refresh::ReadError::conn(
                "cannot connect to 127.0.0.1:5432: Connection refused",
            )),
            from: None,
        })),
    )
    .await;
    assert_eq!(ana.bells, 1);
    let sc = screen(&ana.app);
    assert!(
        sc.contains("database unreachable for 0s (this console)"),
        "{sc}"
    );
    // back: the retry's read succeeds, the outage goes into the database with the next watch
    at(&mut ana, t0 + Duration::seconds(40)).await;
    assert!(!ana.app.conn.is_lost());
    at(&mut ana, t0 + Duration::seconds(45)).await;
    msg(&mut ana, Msg::Poll).await;
    let rows = s
        .db
        .fetch_all(
            "SELECT raised_at, cleared_at, message FROM opsdeck_alerts WHERE rule = 'database_down'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].ts("cleared_at").is_some());
    assert!(
        rows[0].s("message").starts_with("database unreachable for"),
        "{}",
        rows[0].s("message")
    );
    // another console saw it from a little earlier (its own clock): the same row, extended
    let now = Utc::now();
    s.alert_outage(
        "database",
        "database unreachable for 40s",
        "bo",
        now - Duration::seconds(60),
        now - Duration::seconds(20),
    )
    .await
    .unwrap();
    let rows =
        s.db.fetch_all(
            "SELECT raised_at, cleared_at FROM opsdeck_alerts WHERE rule = 'database_down'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one outage, one row");
    assert!(rows[0].ts("raised_at").unwrap() <= now - Duration::seconds(59));
    // a console whose clock runs ahead: the outage ends now, at the database's time, and
    // keeps its length
    let id = s
        .alert_outage(
            "other",
            "database unreachable for 30s",
            "cy",
            now + Duration::seconds(3600),
            now + Duration::seconds(3630),
        )
        .await
        .unwrap()
        .expect("recorded");
    let a = s.alert(id).await.unwrap().expect("row");
    assert!(a.cleared_at.unwrap() <= Utc::now());
    assert_eq!((a.cleared_at.unwrap() - a.raised_at).num_seconds(), 30);
    // a login without a role and without SELECT on the job queue may not write alerts
    s.db.execute("DROP ROLE IF EXISTS opsdeck_t_nobody", &[])
        .await
        .ok();
    s.db.execute("CREATE ROLE opsdeck_t_nobody", &[])
        .await
        .unwrap();
    let mut tx = s.db.begin().await.unwrap();
    tx.execute("SET LOCAL SESSION AUTHORIZATION opsdeck_t_nobody", &[])
        .await
        .unwrap();
    let r = tx
        .fetch_one(
            "SELECT opsdeck_alert_clear(gen_random_uuid(), 'ana') AS ok",
            &[],
        )
        .await;
    assert!(r.is_err(), "{:?}", r.map(|r| r.bool("ok")));
    let _ = tx.rollback().await;
    s.db.execute("DROP ROLE IF EXISTS opsdeck_t_nobody", &[])
        .await
        .ok();
    // the functions refuse what is not an alert
    assert!(
        s.db.fetch_one(
            "SELECT opsdeck_alert_raise('made_up', 'k', 'CRITICAL', 'm', 'x') AS id",
            &[]
        )
        .await
        .is_err()
    );
    assert!(
        s.db.fetch_one(
            "SELECT opsdeck_alert_act(gen_random_uuid(), 0, 'c', 'x', 'y') AS r",
            &[]
        )
        .await
        .is_err(),
        "a silence of 0 minutes"
    );
    drop(ana);
    // closed here, on the test's runtime (the drop's own close would wait on sockets this
    // runtime no longer drives)
    s.db.close().await;
}

/// `opsdeck alerts`: the list (text and JSON), ack by the first characters of the id, the
/// second ack a conflict naming who was first (exit 1), a silence needing its length, and the
/// audit rows — the binary, on real Postgres and SQLite.
async fn alerts_from_the_cli(s: TestStore) {
    let url = common::cli::url_of(&s);
    let cli = |args: &[&str]| common::cli::opsdeck(args, &[("DATABASE_URL", url.as_str())]);
    let text = common::cli::text;
    let o = cli(&["alerts"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("no alert in the last 24 hours"),
        "{}",
        text(&o)
    );
    let f = opsdeck::domain::alert::Firing {
        rule: AlertRule::SoldOut,
        key: "gala".into(),
        level: opsdeck::domain::alert::Level::Critical,
        message: "Gala sold out (2000/2000)".into(),
    };
    let id = s.alert_raise(&f, "console").await.unwrap().expect("raised");
    let short = &id.to_string()[..8];
    let o = cli(&["alerts"]);
    assert!(
        text(&o).contains(&format!("{short}  firing   CRITICAL")),
        "{}",
        text(&o)
    );
    let o = cli(&[
        "alerts",
        "ack",
        short,
        "--comment",
        "doors closed",
        "--yes",
        "--operator",
        "ana",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = cli(&["alerts", "ack", short, "--yes", "--operator", "bo"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("already acked by ana at ") && text(&o).contains(": doors closed"),
        "{}",
        text(&o)
    );
    let o = cli(&[
        "alerts",
        "silence",
        short,
        "--for",
        "soon",
        "--comment",
        "x",
        "--yes",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = cli(&[
        "alerts",
        "silence",
        short,
        "--for",
        "90m",
        "--comment",
        "sold out is known",
        "--yes",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = cli(&["alerts", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let a = &v["alerts"][0];
    assert_eq!(a["standing"], "silenced");
    assert_eq!(a["acked_by"], "ana");
    assert_eq!(a["ack_comment"], "doors closed");
    assert_eq!(a["silence_comment"], "sold out is known");
    assert_eq!(
        n(
            &s,
            "SELECT count(*) AS n FROM operator_actions WHERE target_type = 'alert'"
        )
        .await,
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_from_the_cli_postgres() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    alerts_from_the_cli(common::migrated(s).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_from_the_cli_sqlite() {
    let s = common::migrated(common::sqlite_store_unmigrated().await).await;
    alerts_from_the_cli(s).await;
}
