//! What the room sees of its alerts (issue 19), rendered with TestBackend at 80×24, 160×48 and
//! 240×70: the alert bar over the Overview, the Alerts list (firing, acked with its comment,
//! silenced, cleared), the database-down bar, and a frozen screen. The state is fed as the
//! event loop feeds it (a watch read's answer), with the fixtures' overview and error patterns.

mod fixtures;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use opsdeck::domain::alert::{Alert, AlertRule, Level};
use opsdeck::domain::mode::Mode;
use opsdeck::domain::refresh::{Listen, LoadKind, LoadReq, Loaded, Payload, ViewId};
use opsdeck::keymap::Keymap;
use opsdeck::state::alerts::Watched;
use opsdeck::state::{App, Effect, Msg};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use uuid::Uuid;

fn app() -> App {
    let mut a = App::new(
        Mode::Live,
        Theme::builtin("default").expect("theme"),
        Keymap::default_map(),
        "maria@control-room".into(),
        "db.internal/automation".into(),
        fixtures::now(),
    );
    a.listen = Listen::Up;
    a
}

fn settle(a: &mut App, mut fx: Vec<Effect>) {
    while let Some(e) = fx.pop() {
        if let Effect::Load(req) = e {
            let result = Ok(fixtures::payload_for(&req, false));
            fx.extend(a.update(Msg::Loaded(Box::new(Loaded {
                req,
                result,
                from: None,
            }))));
        }
    }
}

fn req(view: ViewId) -> LoadReq {
    LoadReq {
        view,
        kind: LoadKind::Main,
        filter: Default::default(),
        id: None,
        now: fixtures::now(),
        seq: 0,
    }
}

fn alert(rule: AlertRule, level: Level, msg: &str, raised_min_ago: i64) -> Alert {
    Alert {
        id: Uuid::from_u128(raised_min_ago as u128 + 1),
        rule,
        key: msg.into(),
        level,
        message: msg.into(),
        raised_at: fixtures::now() - Duration::minutes(raised_min_ago),
        raised_by: Some("maria@control-room".into()),
        cleared_at: None,
        acked_at: None,
        acked_by: None,
        ack_comment: None,
        silenced_until: None,
        silenced_by: None,
        silence_comment: None,
    }
}

/// The room on the Overview with four alerts read: one firing, one acked, one silenced, one
/// cleared.
fn room() -> App {
    let mut a = app();
    let fx = a.start();
    settle(&mut a, fx);
    let Payload::Overview(o) = fixtures::payload_for(&req(ViewId::Overview), false) else {
        panic!("overview")
    };
    let Payload::Errors(p) = fixtures::payload_for(&req(ViewId::Errors), false) else {
        panic!("errors")
    };
    let firing = alert(
        AlertRule::QueueDepth,
        Level::Critical,
        "queue depth 134 > 100",
        2,
    );
    let mut acked = alert(
        AlertRule::CapacityWaitlist,
        Level::Warning,
        "Gala Night at 92 % (1840/2000): waitlist",
        22,
    );
    acked.acked_at = Some(fixtures::now() - Duration::minutes(20));
    acked.acked_by = Some("ana".into());
    acked.ack_comment = Some("marketing knows".into());
    let mut silenced = alert(
        AlertRule::N8nDown,
        Level::Critical,
        "n8n unreachable since 20:58 UTC: connection refused",
        9,
    );
    silenced.silenced_until = Some(fixtures::now() + Duration::minutes(51));
    silenced.silenced_by = Some("bo".into());
    silenced.silence_comment = Some("vendor restarting".into());
    let mut cleared = alert(
        AlertRule::DatabaseDown,
        Level::Critical,
        "database unreachable for 1m40s",
        70,
    );
    cleared.cleared_at = Some(fixtures::now() - Duration::minutes(68));
    a.update(Msg::Watched(Box::new(Watched {
        overview: Ok(o),
        patterns: Ok(p),
        alerts: Ok(vec![firing, acked, silenced, cleared]),
    })));
    a.update(Msg::Clock(fixtures::now() + Duration::seconds(3)));
    a
}

fn render(a: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
    t.backend().to_string()
}

fn key(a: &mut App, code: KeyCode) {
    let fx = a.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    settle(a, fx);
}

#[test]
fn alert_bar_over_the_overview() {
    let a = room();
    for (w, h) in [(80, 24), (160, 48), (240, 70)] {
        let s = render(&a, w, h);
        assert!(s.contains("✖ ALERT  queue depth 134 > 100"), "{s}");
        assert!(s.contains("! alerts"), "{s}");
        assert_snapshot!(format!("alert_bar_{w}x{h}"), s);
    }
}

#[test]
fn alerts_list() {
    let mut a = room();
    key(&mut a, KeyCode::Char('!'));
    for (w, h) in [(80, 24), (160, 48), (240, 70)] {
        let s = render(&a, w, h);
        assert!(
            s.contains("ALERTS · 1 firing · 1 acked · 1 silenced · 1 cleared"),
            "{s}"
        );
        assert_snapshot!(format!("alerts_list_{w}x{h}"), s);
    }
    let wide = render(&a, 160, 48);
    assert!(
        wide.contains("acked by ana 20m ago: marketing knows"),
        "{wide}"
    );
    assert!(wide.contains("silenced by bo for 50m"), "{wide}");
    assert!(wide.contains("cleared 1h08m ago"), "{wide}");
    // A on the firing alert opens its confirm dialog, with a comment field
    key(&mut a, KeyCode::Char('A'));
    let s = render(&a, 160, 48);
    assert!(
        s.contains("Acknowledge the alert: queue depth 134 > 100"),
        "{s}"
    );
    assert_snapshot!("alert_ack_dialog_160x48", s);
}

#[test]
fn the_bar_says_the_database_is_unreachable() {
    let mut a = room();
    let fx = a.refresh_view();
    let r = fx
        .iter()
        .find_map(|e| match e {
            Effect::Load(r) => Some(r.clone()),
            _ => None,
        })
        .expect("a read");
    a.update(Msg::Loaded(Box::new(Loaded {
        req: r,
        result: Err(opsdeck::domain::refresh::ReadError::conn(
            "cannot connect to db.internal:5432: Connection refused",
        )),
        from: None,
    })));
    let s = render(&a, 80, 24);
    assert!(
        s.contains("database unreachable for 0s (this console)"),
        "{s}"
    );
    assert_snapshot!("alert_bar_database_down_80x24", s);
}

#[test]
fn frozen() {
    let mut a = room();
    key(&mut a, KeyCode::Char('Z'));
    a.update(Msg::Clock(fixtures::now() + Duration::seconds(43)));
    // a poll while frozen reads nothing for the view
    let fx = a.update(Msg::Poll);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Load(_))), "{fx:?}");
    let s = render(&a, 160, 48);
    assert!(
        s.contains("❄ FROZEN 40s · data 43s old · Z catches up"),
        "{s}"
    );
    assert_snapshot!("frozen_160x48", s);
    // the database goes while frozen: the watch sees it (the bar says so) and, once it is
    // back, the frozen screen stays as it was
    // (the poll above asked for a watch; its answer comes here)
    let w = |ok: bool| {
        let Payload::Overview(o) = fixtures::payload_for(&req(ViewId::Overview), false) else {
            panic!("overview")
        };
        Watched {
            overview: if ok {
                Ok(o)
            } else {
                Err(opsdeck::domain::refresh::ReadError::conn(
                    "cannot connect to db.internal:5432: Connection refused",
                ))
            },
            patterns: Ok(vec![]),
            alerts: Ok(vec![]),
        }
    };
    a.update(Msg::Watched(Box::new(w(false))));
    assert!(a.conn.is_lost());
    assert!(render(&a, 160, 48).contains("database unreachable for 0s (this console)"));
    let fx = a.update(Msg::Watched(Box::new(w(true))));
    assert!(!a.conn.is_lost());
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Load(_))),
        "frozen: no view read on reconnect {fx:?}"
    );
    // Z again catches up: the view is read at once
    let fx = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('Z'),
        KeyModifiers::NONE,
    )));
    assert!(fx.iter().any(|e| matches!(e, Effect::Load(_))), "{fx:?}");
}

#[test]
fn timeline_overlay() {
    use opsdeck::domain::timeline::{Entry, Kind};
    let mut a = room();
    // :timeline asks for the last two hours
    key(&mut a, KeyCode::Char(':'));
    for c in "timeline".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    let fx = a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Timeline(..))),
        "{fx:?}"
    );
    let t = |m: i64| fixtures::now() - Duration::minutes(m);
    let entries = vec![
        Entry {
            at: t(50),
            kind: Kind::Errors,
            who: None,
            what: "first error: ticket-purchase-confirmation × timeout (41 in the window)".into(),
        },
        Entry {
            at: t(45),
            kind: Kind::Alert,
            who: Some("console-1".into()),
            what: "CRITICAL raised: queue depth 140 > 100".into(),
        },
        Entry {
            at: t(44),
            kind: Kind::Alert,
            who: Some("ana".into()),
            what: "acked: queue depth 140 > 100 — scaling workers".into(),
        },
        Entry {
            at: t(40),
            kind: Kind::Pause,
            who: Some("ana".into()),
            what: "workflow.pause workflow 0193a1b2: stop the flood".into(),
        },
        Entry {
            at: t(30),
            kind: Kind::Broadcast,
            who: Some("ana".into()),
            what: "WARNING broadcast 0193a1c4 triggered to 1412 deliveries: Doors open late".into(),
        },
    ];
    a.update(Msg::Timeline(Ok((
        entries,
        vec!["broadcasts (no table)".into()],
    ))));
    for (w, h) in [(80, 24), (160, 48)] {
        let s = render(&a, w, h);
        assert!(s.contains("TIMELINE · last 2h · 5 entries"), "{s}");
        assert_snapshot!(format!("timeline_{w}x{h}"), s);
    }
    key(&mut a, KeyCode::Esc);
    assert!(matches!(a.overlay, opsdeck::state::Overlay::None));
}

/// The approval inbox: n / p step through the pending requests, the title counts those left,
/// and after a decision the next pending request opens.
#[test]
fn approval_inbox() {
    let mut a = app();
    let fx = a.switch(ViewId::Approvals);
    settle(&mut a, fx);
    let pending = a.pending_approvals();
    assert!(pending.len() >= 2, "the fixtures have pending requests");
    key(&mut a, KeyCode::Enter);
    let first = a.approvals.detail.expect("opened");
    assert_eq!(first, pending[0]);
    let s = render(&a, 160, 48);
    assert!(
        s.contains(&format!("{} more pending", pending.len() - 1)),
        "{s}"
    );
    key(&mut a, KeyCode::Char('n'));
    assert_eq!(a.approvals.detail, Some(pending[1]));
    key(&mut a, KeyCode::Char('p'));
    assert_eq!(a.approvals.detail, Some(pending[0]));
    // approve the open one: the next pending request opens when the decision lands
    key(&mut a, KeyCode::Char('A'));
    let fx = a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(fx.iter().any(|e| matches!(e, Effect::Act(_))), "{fx:?}");
    let fx = a.update(Msg::ActionDone(Box::new(
        opsdeck::domain::action::ActionReport {
            action: "approval.approve",
            outcome: opsdeck::domain::action::Outcome::Ok,
            message: "approved".into(),
            changed: 1,
            conflicts: vec![],
            audit_id: None,
            warning: None,
        },
    )));
    drop(fx);
    assert_eq!(a.approvals.detail, Some(pending[1]), "the next one opened");
}

/// The help lists only what exists: in every view, every key it shows does something (no key
/// answers "not available yet"), and in read-only mode every mutating key is marked so.
#[test]
fn help_lists_only_what_exists() {
    use opsdeck::keymap::{KeySpec, Section};
    for v in ViewId::ALL {
        for read_only in [false, true] {
            let fresh = || {
                let mut a = app();
                if read_only {
                    a.mode = Mode::ReadOnly;
                }
                let fx = a.switch(v);
                settle(&mut a, fx);
                a
            };
            let a = fresh();
            let listed: Vec<(String, opsdeck::keymap::KeyAction)> = a
                .keymap
                .help(v.section())
                .into_iter()
                .chain(a.keymap.help(Section::Global))
                .collect();
            for (keys, action) in listed {
                if action == opsdeck::keymap::KeyAction::Quit {
                    continue;
                }
                let first = keys.split(" / ").next().unwrap_or(&keys).trim();
                let spec = KeySpec::parse(first).unwrap_or_else(|e| panic!("{first}: {e}"));
                let mut b = fresh();
                let fx = b.update(Msg::Key(KeyEvent::new(spec.code, spec.mods)));
                settle(&mut b, fx);
                let toast = b.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
                assert!(
                    !toast.contains("not available yet"),
                    "{v:?}: {first} ({action:?}) is listed but does nothing: {toast}"
                );
            }
            if read_only {
                for row in a.help(false).into_iter().chain(a.help(true)) {
                    let mut b = fresh();
                    let fx = b.update(Msg::Key(KeyEvent::new(
                        KeyCode::Char('?'),
                        KeyModifiers::NONE,
                    )));
                    settle(&mut b, fx);
                    if row.mutating {
                        let s = render(&b, 160, 48);
                        let line = s
                            .lines()
                            .find(|l| l.contains(row.description))
                            .unwrap_or_else(|| {
                                panic!("{v:?}: {} not in the help\n{s}", row.description)
                            });
                        assert!(line.contains("read-only"), "{v:?}: {line}");
                    }
                }
            }
        }
    }
}

/// The all-contexts overview (`:ctx`): production here with a deep queue, staging with an
/// open alert, one being read for the first time, and one unreachable (named in the status
/// bar with the others that want a look).
#[test]
fn contexts_overview() {
    use opsdeck::domain::context::ContextLine;
    let mut a = room();
    a.context = Some(("acme".into(), true));
    a.contexts = vec![
        "acme".into(),
        "client-b".into(),
        "dead".into(),
        "staging".into(),
    ];
    let fx = a.open_contexts();
    assert_eq!(fx.len(), 4);
    let live = |name: &str, prod: bool, depth, crit, appr, alerts| ContextLine {
        name: name.into(),
        production: prod,
        default: prod,
        database: format!("db.{name}.io/automation"),
        reachable: true,
        error: None,
        depth: Some(depth),
        critical_errors: Some(crit),
        pending_approvals: Some(appr),
        open_alerts: Some(alerts),
    };
    a.update(Msg::ContextRead(Box::new(live("acme", true, 134, 1, 3, 1))));
    a.update(Msg::ContextRead(Box::new(live(
        "staging", false, 0, 0, 0, 2,
    ))));
    let mut dead = ContextLine::unread("dead", false, false);
    dead.database = "10.0.4.2/automation".into();
    dead.error = Some("connection refused (10.0.4.2:5432)".into());
    a.update(Msg::ContextRead(Box::new(dead)));
    for (w, h) in [(80, 24), (160, 48), (240, 70)] {
        let s = render(&a, w, h);
        assert!(s.contains("CONTEXTS · 4"), "{s}");
        assert_snapshot!(format!("contexts_{w}x{h}"), s);
    }
    let s = render(&a, 160, 48);
    assert!(s.contains("acme (here)"), "{s}");
    assert!(s.contains("…  reading"), "{s}");
    assert!(
        s.contains("10.0.4.2/automation  unreachable: connection refused (10.0.4.2:5432)"),
        "{s}"
    );
    assert!(s.contains("⚠ dead: unreachable +1 · :ctx"), "{s}");
}

/// Idle output (issue 20): while the data is fresh the status bar shows no ticking age, only
/// "up to date" and a dot that changes every 20 s; once the data is older than
/// expected (twice the interval it is read at, plus 2 s: 22 s with LISTEN up) the age shows,
/// and ticks, in the warning colour.
#[test]
fn no_ticking_age_while_fresh() {
    let mut a = room();
    let s = render(&a, 160, 48);
    assert!(s.contains("live (notify) │ up to date"), "{s}");
    // a second later: the same screen, to the byte (the console writes nothing)
    let same = |a: &App| render(a, 160, 48);
    let t0 = a.now;
    let before = same(&a);
    a.update(Msg::Clock(t0 + Duration::seconds(1)));
    let after = same(&a);
    let pulse_changed = (t0.timestamp() / 20) != ((t0 + Duration::seconds(1)).timestamp() / 20);
    if !pulse_changed {
        assert_eq!(before, after, "nothing visible changes in a second");
    }
    // the dot over twenty seconds: ● then ◉ (or the other way), never anything else
    let dots: std::collections::BTreeSet<char> = (0..40)
        .map(|k| {
            a.update(Msg::Clock(t0 + Duration::seconds(k)));
            let s = same(&a);
            s.chars()
                .find(|c| *c == '●' || *c == '◉')
                .expect("a live dot")
        })
        .collect();
    assert_eq!(dots.len(), 2, "{dots:?}");
    // 30 s with no read: stale, the age shows
    a.update(Msg::Clock(t0 + Duration::seconds(30)));
    let s = same(&a);
    assert!(s.contains("updated 3"), "{s}");
    assert!(!s.contains("up to date"), "{s}");
}
