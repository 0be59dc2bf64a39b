//! A snapshot per view at 80×24 and 160×48 from fixture data (fixed `now`), plus details,
//! empty states, the disconnected state, overlays and a too-small terminal.

mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use opsdeck::domain::mode::Mode;
use opsdeck::domain::refresh::{Listen, Loaded, ViewId};
use opsdeck::keymap::Keymap;
use opsdeck::state::{App, Effect, Msg};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

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

/// Runs the effects against the fixture "database" until no reads are left.
fn settle(a: &mut App, mut fx: Vec<Effect>, empty: bool) {
    while let Some(e) = fx.pop() {
        if let Effect::Load(req) = e {
            let result = Ok(fixtures::payload_for(&req, empty));
            fx.extend(a.update(Msg::Loaded(Box::new(Loaded {
                req,
                result,
                from: None,
            }))));
        }
    }
}

fn key(a: &mut App, code: KeyCode, empty: bool) {
    let fx = a.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    settle(a, fx, empty);
}

fn at(view: ViewId, empty: bool) -> App {
    let mut a = app();
    let fx = a.switch(view);
    settle(&mut a, fx, empty);
    if view == ViewId::Overview {
        let fx = a.refresh_view();
        settle(&mut a, fx, empty);
    }
    // three seconds later: ages read "3s"
    a.update(Msg::Clock(fixtures::now() + chrono::Duration::seconds(3)));
    a
}

fn render(a: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
    t.backend().to_string()
}

/// Draws without turning the buffer into text (TestBackend cannot print a 0-wide buffer).
fn draw_only(a: &App, w: u16, h: u16) {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
}

macro_rules! views {
    ($($name:ident => $view:expr),* $(,)?) => {
        $(
            mod $name {
                use super::*;
                #[test]
                fn small() {
                    assert_snapshot!(render(&at($view, false), 80, 24));
                }
                #[test]
                fn large() {
                    assert_snapshot!(render(&at($view, false), 160, 48));
                }
                #[test]
                fn huge() {
                    // the control room's big screen: columns fit their content, the rest
                    // goes to the text that needs it
                    assert_snapshot!(render(&at($view, false), 240, 70));
                }
                #[test]
                fn empty() {
                    assert_snapshot!(render(&at($view, true), 80, 24));
                }
            }
        )*
    };
}

views! {
    overview => ViewId::Overview,
    workflows => ViewId::Workflows,
    runs => ViewId::Runs,
    queue => ViewId::Queue,
    errors => ViewId::Errors,
    capacity => ViewId::Capacity,
    reconciliation => ViewId::Reconciliation,
    approvals => ViewId::Approvals,
    audit => ViewId::Audit,
}

fn detail(view: ViewId, down: usize) -> App {
    let mut a = at(view, false);
    for _ in 0..down {
        key(&mut a, KeyCode::Down, false);
    }
    key(&mut a, KeyCode::Enter, false);
    a
}

#[test]
fn run_detail() {
    // the failed run: progress, step logs with the error, context
    assert_snapshot!(render(&detail(ViewId::Runs, 2), 80, 24));
}

#[test]
fn run_detail_large() {
    assert_snapshot!(render(&detail(ViewId::Runs, 2), 160, 48));
}

#[test]
fn job_detail() {
    assert_snapshot!(render(&detail(ViewId::Queue, 2), 80, 24));
}

#[test]
fn error_detail() {
    assert_snapshot!(render(&detail(ViewId::Errors, 0), 80, 24));
}

#[test]
fn approval_detail() {
    assert_snapshot!(render(&detail(ViewId::Approvals, 0), 80, 24));
}

#[test]
fn recon_detail() {
    assert_snapshot!(render(&detail(ViewId::Reconciliation, 0), 80, 24));
}

#[test]
fn audit_detail() {
    assert_snapshot!(render(&detail(ViewId::Audit, 0), 80, 24));
}

#[test]
fn disconnected() {
    let mut a = at(ViewId::Queue, false);
    let fx = a.update(Msg::Poll);
    let Some(Effect::Load(req)) = fx.into_iter().next() else {
        panic!("a poll reads the queue");
    };
    a.update(Msg::Loaded(Box::new(Loaded {
        req,
        result: Err(opsdeck::domain::refresh::ReadError::conn(
            "connection refused",
        )),
        from: None,
    })));
    a.update(Msg::Clock(fixtures::now() + chrono::Duration::seconds(3)));
    assert_snapshot!(render(&a, 80, 24));
}

#[test]
fn disconnected_before_any_data() {
    let mut a = app();
    let fx = a.start();
    for e in fx {
        if let Effect::Load(req) = e {
            a.update(Msg::Loaded(Box::new(Loaded {
                req,
                result: Err(opsdeck::domain::refresh::ReadError::conn(
                    "connection refused",
                )),
                from: None,
            })));
        }
    }
    assert_snapshot!(render(&a, 80, 24));
}

#[test]
fn help_overlay() {
    let mut a = at(ViewId::Runs, false);
    key(&mut a, KeyCode::Char('?'), false);
    assert_snapshot!(render(&a, 80, 24));
}

#[test]
fn palette_overlay() {
    let mut a = at(ViewId::Overview, false);
    key(&mut a, KeyCode::Char(':'), false);
    key(&mut a, KeyCode::Char('r'), false);
    assert_snapshot!(render(&a, 80, 24));
}

#[test]
fn filter_editing() {
    let mut a = at(ViewId::Runs, false);
    key(&mut a, KeyCode::Char('/'), false);
    for c in "ticket".chars() {
        key(&mut a, KeyCode::Char(c), false);
    }
    assert_snapshot!(render(&a, 80, 24));
}

#[test]
fn sorted_and_read_only_toast() {
    let mut a = at(ViewId::Workflows, false);
    a.mode = Mode::ReadOnly;
    key(&mut a, KeyCode::Char('s'), false);
    key(&mut a, KeyCode::Char('s'), false);
    key(&mut a, KeyCode::Char('P'), false);
    assert_snapshot!(render(&a, 80, 24));
}

#[test]
fn too_small() {
    assert_snapshot!(render(&at(ViewId::Overview, false), 79, 23));
}

#[test]
fn resizing_never_panics() {
    let a = at(ViewId::Overview, false);
    for (w, h) in [
        (0, 0),
        (1, 1),
        (10, 3),
        (79, 24),
        (80, 23),
        (80, 24),
        (81, 25),
        (300, 100),
    ] {
        for v in ViewId::ALL {
            let mut b = at(v, false);
            b.size = (w, h);
            draw_only(&b, w, h);
        }
        draw_only(&a, w, h);
    }
}

#[test]
fn hostile_text_never_reaches_the_terminal() {
    // the vip-guest-sync fixture's last error carries ANSI colour escapes
    let mut a = at(ViewId::Workflows, false);
    key(&mut a, KeyCode::Char('G'), false);
    let s = render(&a, 160, 48);
    assert!(!s.contains('\u{1b}'), "escape reached the screen");
    assert!(s.contains("token expired for CRM hubspot"), "{s}");
}

#[test]
fn the_status_bar_says_when_a_pooler_means_polling() {
    let mut a = at(ViewId::Overview, false);
    a.listen = Listen::Pooled;
    let screen = render(&a, 120, 30);
    assert!(screen.contains("● poll 2s · pooler"), "{screen}");
    a.listen = Listen::Unheard;
    assert!(render(&a, 120, 30).contains("● poll 2s (notify unheard)"));
    a.listen = Listen::Up;
    assert!(!render(&a, 120, 30).contains("pooler"));
}

/// An adopted database without the table a view lists: the list says so instead of "no … match".
#[test]
fn a_table_not_in_this_database() {
    let mut a = app();
    a.absent = vec!["reconciliation_runs".into(), "events".into()];
    let fx = a.switch(ViewId::Reconciliation);
    settle(&mut a, fx, true);
    a.update(Msg::Clock(fixtures::now() + chrono::Duration::seconds(3)));
    let r = render(&a, 80, 24);
    assert!(r.contains("not in this database"), "{r}");
    assert_snapshot!(r);
    let fx = a.switch(ViewId::Capacity);
    settle(&mut a, fx, true);
    assert!(render(&a, 160, 48).contains("it has no events table"));
}

/// With a read replica, the status bar says where the views read: its lag, or the primary
/// while it catches up with an action, or that it is down.
#[test]
fn the_status_bar_says_where_the_views_read() {
    use opsdeck::domain::refresh::ReadFrom;
    for (from, says) in [
        (ReadFrom::Replica { lag_s: 0.3 }, "replica lag 0.3s"),
        (ReadFrom::CatchingUp, "primary (replica catching up)"),
        (ReadFrom::ReplicaDown, "replica down: reading the primary"),
    ] {
        let mut a = at(ViewId::Queue, false);
        let fx = a.update(Msg::Poll);
        let Some(Effect::Load(req)) = fx.into_iter().next() else {
            panic!("a poll reads the queue");
        };
        let result = Ok(fixtures::payload_for(&req, false));
        a.update(Msg::Loaded(Box::new(Loaded {
            req,
            result,
            from: Some(from),
        })));
        let r = render(&a, 160, 48);
        assert!(r.contains(says), "{says}: {r}");
    }
}

/// The overview's tiles over tables an adopted database does not have say so.
#[test]
fn overview_tiles_of_absent_tables() {
    let mut a = at(ViewId::Overview, false);
    a.absent = vec!["capacity_alerts".into(), "approval_requests".into()];
    let r = render(&a, 160, 48);
    assert!(
        r.contains("not in this database (it has no capacity_alerts table)"),
        "{r}"
    );
    assert!(r.contains("it has no approval_requests table"), "{r}");
    assert!(!r.contains("no open capacity alerts"), "{r}");
}

/// Amounts are shown in the configured currency (seed 000 pays out in USD): the same rows as
/// the euro snapshots, in dollars, with no euro sign left anywhere on the screen.
#[test]
fn amounts_in_the_configured_currency() {
    let usd = opsdeck::domain::money::Currency::parse("usd").expect("USD");
    for (view, w, h) in [
        (ViewId::Reconciliation, 160, 48),
        (ViewId::Approvals, 80, 24),
    ] {
        let mut a = detail(view, 0);
        let euros = render(&a, w, h);
        assert!(euros.contains('€'), "{view:?} shows amounts:\n{euros}");
        a.currency = usd.clone();
        let dollars = render(&a, w, h);
        assert!(!dollars.contains('€'), "{view:?}:\n{dollars}");
        assert_eq!(
            dollars.matches('$').count(),
            euros.matches('€').count(),
            "{view:?}: every amount in dollars:\n{dollars}"
        );
    }
    let mut a = detail(ViewId::Reconciliation, 0);
    a.currency = usd;
    assert_snapshot!(render(&a, 160, 48));
}

/// Issue 18: a login acting by role sees who it is in the status bar, and the keys its role
/// lacks say which role they need — in the help and when pressed.
#[test]
fn roles_in_the_status_bar_and_help() {
    use opsdeck::domain::role::{Access, Basis, Role};
    let mut a = at(ViewId::Workflows, false);
    a.access = Access {
        login: Some("ana".into()),
        roles: Role::Approver.holds(),
        basis: Basis::Roles,
        roles_ready: true,
        direct_writes: vec![],
        schema_creators: vec![],
    };
    key(&mut a, KeyCode::Char('?'), false);
    let help = render(&a, 120, 36);
    assert!(help.contains("ana · opsdeck_approver"), "{help}");
    assert!(
        help.contains("Pause the workflow  · disabled: needs opsdeck_admin"),
        "{help}"
    );
    assert_snapshot!(help);
    key(&mut a, KeyCode::Esc, false);
    key(&mut a, KeyCode::Char('P'), false);
    let toast = a.toast.as_ref().expect("a toast").text.clone();
    assert_eq!(toast, "Pause the workflow: needs opsdeck_admin");
    // an approver's own keys are not disabled
    let mut b = at(ViewId::Approvals, false);
    b.access = a.access.clone();
    let disabled: Vec<_> = b
        .help(false)
        .into_iter()
        .filter(|r| r.needs.is_some())
        .map(|r| r.description)
        .collect();
    assert_eq!(
        disabled,
        Vec::<&str>::new(),
        "an approver may do everything in Approvals (and test broadcasts)"
    );
    // Errors' R is a bulk retry of the pattern's workflow: an admin's, marked as such
    let mut e = at(ViewId::Errors, false);
    e.access = Access {
        roles: Role::Operator.holds(),
        ..a.access.clone()
    };
    let retry = e
        .help(false)
        .into_iter()
        .find(|r| r.description.starts_with("Retry"))
        .expect("Errors has a retry key");
    assert_eq!(retry.needs.as_deref(), Some("needs opsdeck_admin"));
}

/// n8n's queue (issue 17): the Overview tile between the two other top tiles, the database's
/// queue titled apart, and the Queue view's section — fed the polls a console would get (a
/// queue that stopped moving with one worker connected, a stalled job, a worker's /healthz
/// failing), then Redis going away.
#[test]
fn n8n_queue_tile_and_section() {
    use opsdeck::domain::n8n::N8nDown;
    use opsdeck::domain::n8n_queue::{
        BullCounts, HealthLine, QueueJob, QueuePolled, QueueSample, WorkerConn,
    };
    use opsdeck::state::N8nQueueState;
    let now = fixtures::now();
    let t = |s: i64| now + chrono::Duration::seconds(s);
    let sample = |waiting: u64, id: u64| QueueSample {
        counts: BullCounts {
            waiting,
            active: 2,
            ..Default::default()
        },
        last_id: Some(id),
        next: Some(QueueJob {
            job_id: "812".into(),
            execution_id: Some("812".into()),
            workflow_id: Some("wf-booking".into()),
            enqueued_at: Some(t(-200)),
            ..Default::default()
        }),
        active: vec![
            QueueJob {
                job_id: "790".into(),
                execution_id: Some("790".into()),
                started_at: Some(t(-150)),
                lock: Some("token-a".into()),
                lock_ttl_ms: Some(4000),
                ..Default::default()
            },
            QueueJob {
                job_id: "791".into(),
                execution_id: Some("791".into()),
                started_at: Some(t(-140)),
                ..Default::default()
            },
        ],
        workers: vec![WorkerConn {
            addr: "10.0.3.7:41822".into(),
            age_secs: 5400,
            idle_secs: 150,
        }],
        workers_known: true,
        paused: false,
        redis_ms: 0.4,
    };
    let health = |worker_ok: bool| {
        vec![
            HealthLine {
                component: "n8n main".into(),
                target: "http://n8n-main:5678/healthz".into(),
                ok: true,
                detail: "ok".into(),
                latency_ms: Some(3.0),
            },
            HealthLine {
                component: "worker 1".into(),
                target: "http://n8n-worker-1:5678/healthz".into(),
                ok: worker_ok,
                detail: if worker_ok { "ok" } else { "timed out" }.into(),
                latency_ms: worker_ok.then_some(2.0),
            },
        ]
    };
    let mut a = at(ViewId::Overview, false);
    a.n8n_queue = N8nQueueState::new(
        "bull",
        "redis.internal:6379",
        std::time::Duration::from_secs(60),
    );
    for (i, w) in [(0, 60u64), (2, 63), (40, 66), (80, 72)] {
        a.update(Msg::N8nQueue(Box::new(QueuePolled {
            at: t(i - 80),
            redis: Ok(sample(w, 900 + w)),
            health: health(i < 40),
        })));
    }
    let over = render(&a, 160, 48);
    assert!(
        over.contains("job_queue (database) [4]") && over.contains("n8n queue (Redis) [4]"),
        "{over}"
    );
    assert!(over.contains("waiting 72"), "{over}");
    assert_snapshot!("n8n_queue_overview", over);
    key(&mut a, KeyCode::Char('4'), false);
    let q = render(&a, 160, 48);
    assert!(
        q.contains("not moving: 72 waiting and nothing taken for 1m"),
        "{q}"
    );
    assert!(q.contains("stalled: job 791"), "{q}");
    assert!(q.contains("worker 1 timed out for 43s"), "{q}");
    assert!(q.contains("job_queue jobs (database)"), "{q}");
    assert_snapshot!("n8n_queue_section", q);
    // Redis goes away: the last sample stays, with its age, and the reason
    a.update(Msg::N8nQueue(Box::new(QueuePolled {
        at: t(2),
        redis: Err(N8nDown {
            short: "cannot connect".into(),
            full: "Redis at redis.internal:6379: cannot connect (Connection refused)".into(),
        }),
        health: health(true),
    })));
    a.update(Msg::Clock(t(7)));
    let down = render(&a, 80, 24);
    assert!(down.contains("DOWN 5s"), "{down}");
    assert_snapshot!("n8n_queue_down_small", down);
}

/// The confirmation says what an action does in n8n too (issue 17): a workflow that lives in
/// n8n is deactivated there as well (or, without n8n's API, is not); a run that lives in n8n
/// names its execution and what opsdeck can and cannot do about it.
#[test]
fn dialogs_say_what_happens_in_n8n() {
    let mut a = at(ViewId::Workflows, false);
    let mut rows = fixtures::workflows();
    for w in &mut rows {
        w.workflow.n8n_workflow_id = Some("4FqX2".into());
    }
    a.workflows.table.set_rows(rows, false, fixtures::now());
    a.n8n.configured = true;
    key(&mut a, KeyCode::Char('P'), false);
    let s = render(&a, 160, 48);
    assert!(
        s.contains("also deactivated in n8n:") && s.contains("(n8n 4FqX2)"),
        "{s}"
    );
    key(&mut a, KeyCode::Esc, false);
    a.n8n.configured = false;
    key(&mut a, KeyCode::Char('P'), false);
    let s = render(&a, 160, 48);
    assert!(
        s.contains("whose API is not configured: not deactivated there"),
        "{s}"
    );
    let mut b = at(ViewId::Runs, false);
    let mut runs = fixtures::runs();
    for r in &mut runs {
        r.n8n_execution_id = Some("8812".into());
    }
    b.runs.list.table.set_rows(runs, false, fixtures::now());
    key(&mut b, KeyCode::Char('X'), false);
    let s = render(&b, 160, 48);
    assert!(
        s.contains("n8n execution 8812: a Wait node with a resume_url is told"),
        "{s}"
    );
    // Errors' R says where the retry goes: n8n for errors that came from it, else job_queue
    let mut c = at(ViewId::Errors, false);
    let mut pats = fixtures::patterns();
    pats[0].n8n_executions = vec!["812".into(), "813".into()];
    pats[0].n8n_errors = pats[0].count - 1;
    c.errors.table.set_rows(pats, false, fixtures::now());
    c.n8n.configured = true;
    key(&mut c, KeyCode::Char('R'), false);
    let s = render(&c, 160, 48);
    assert!(
        s.contains("Retry in n8n the 2 executions behind") && s.contains("812, 813"),
        "{s}"
    );
    assert!(
        s.contains("1 of its 15 errors have no n8n execution"),
        "{s}"
    );
    key(&mut c, KeyCode::Esc, false);
    key(&mut c, KeyCode::Down, false);
    key(&mut c, KeyCode::Char('R'), false);
    let s = render(&c, 160, 48);
    assert!(
        s.contains("these errors did not come from n8n: retries the failed jobs of"),
        "{s}"
    );
}

/// n8n executions beside the database's runs (issue 17): a run that is an n8n execution
/// (`n8n_execution_id`) is listed once, with the runs, marked `db+n8n`; the n8n pane lists only
/// the executions no run links, and says how many it leaves to the list above.
#[test]
fn runs_and_n8n_executions_are_listed_once() {
    use opsdeck::domain::n8n::{N8nExecution, N8nPolled, N8nSnapshot};
    use opsdeck::state::Effect;
    let mut a = at(ViewId::Runs, false);
    a.n8n.configured = true;
    a.runs.with_source_column();
    let mut runs = fixtures::runs();
    runs[0].n8n_execution_id = Some("812".into());
    a.runs.list.table.set_rows(runs, false, fixtures::now());
    let exec = |id: &str, status: &str| -> N8nExecution {
        serde_json::from_value(serde_json::json!({
            "id": id, "status": status, "mode": "webhook", "workflowId": "wf1",
            "startedAt": (fixtures::now() - chrono::Duration::seconds(30)).to_rfc3339(),
        }))
        .unwrap()
    };
    let fx = a.update(Msg::N8n(Box::new(N8nPolled {
        at: fixtures::now(),
        result: Ok(N8nSnapshot {
            executions: vec![exec("812", "running"), exec("900", "error")],
            ..Default::default()
        }),
    })));
    assert_eq!(
        fx,
        vec![Effect::LinkN8n(vec!["812".into(), "900".into()])],
        "the console asks which runs link them"
    );
    a.update(Msg::N8nLinked(vec!["812".into()]));
    let s = render(&a, 160, 48);
    assert!(s.contains("db+n8n"), "{s}");
    assert!(s.contains("1 listed above with their runs"), "{s}");
    let pane: Vec<&str> = s.lines().filter(|l| l.contains("webhook")).collect();
    assert_eq!(pane.len(), 1, "only execution 900 in the pane: {s}");
    assert!(pane[0].contains("900"), "{s}");
    assert_snapshot!("runs_with_n8n_linked", s);
}
