//! Pure state tests: navigation, filter, sort, selection kept by id across refreshes, paging,
//! coalesced reads, connection loss, palette completion. No terminal, no database.

mod fixtures;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::domain::mode::Mode;
use opsdeck::domain::model::Run;
use opsdeck::domain::refresh::{LoadKind, LoadReq, Loaded, PAGE, Payload, ViewId};
use opsdeck::keymap::Keymap;
use opsdeck::state::{App, Conn, Effect, LaterMsg, Msg};
use opsdeck::theme::Theme;
use uuid::Uuid;

fn app() -> App {
    App::new(
        Mode::Live,
        Theme::builtin("default").expect("theme"),
        Keymap::default_map(),
        "op".into(),
        "db/x".into(),
        fixtures::now(),
    )
}

fn press(a: &mut App, code: KeyCode) -> Vec<Effect> {
    a.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typ(a: &mut App, s: &str) -> Vec<Effect> {
    s.chars().flat_map(|c| press(a, KeyCode::Char(c))).collect()
}

fn loads(fx: &[Effect]) -> Vec<LoadReq> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Load(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn land(a: &mut App, req: LoadReq, p: Payload) -> Vec<Effect> {
    a.update(Msg::Loaded(Box::new(Loaded {
        req,
        result: Ok(p),
        from: None,
    })))
}

fn run(n: u128, secs_ago: i64) -> Run {
    let mut r = fixtures::runs()[0].clone();
    r.id = Uuid::from_u128(0x10_000 + n);
    r.started_at = fixtures::now() - Duration::seconds(secs_ago);
    r.workflow_name = format!("wf-{n}");
    r
}

/// The Runs view with `rows` loaded through a real request.
fn runs_with(rows: Vec<Run>) -> App {
    let mut a = app();
    let fx = press(&mut a, KeyCode::Char('3'));
    let req = loads(&fx).pop().expect("switching reads the view");
    land(&mut a, req, Payload::Runs(rows));
    a
}

#[test]
fn number_keys_and_tab_switch_views_and_read_them() {
    let mut a = app();
    assert_eq!(a.view, ViewId::Overview);
    let fx = press(&mut a, KeyCode::Char('4'));
    assert_eq!(a.view, ViewId::Queue);
    let r = loads(&fx);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].view, r[0].kind), (ViewId::Queue, LoadKind::Main));
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, ViewId::Errors);
    press(&mut a, KeyCode::Char('9'));
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, ViewId::Overview, "Tab wraps");
    press(&mut a, KeyCode::BackTab);
    assert_eq!(a.view, ViewId::Audit, "BackTab wraps back");
    // pressing the current view's key does not read again
    assert!(loads(&press(&mut a, KeyCode::Char('9'))).is_empty());
}

#[test]
fn overview_tiles_move_and_jump() {
    let mut a = app();
    press(&mut a, KeyCode::Char('j'));
    press(&mut a, KeyCode::Char('j'));
    assert_eq!(a.overview.target(), ViewId::Workflows);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view, ViewId::Workflows);
}

#[test]
fn selection_is_kept_by_id_across_refreshes() {
    let mut a = runs_with(vec![run(1, 10), run(2, 20), run(3, 30)]);
    press(&mut a, KeyCode::Down);
    assert_eq!(
        a.runs.list.table.selected().map(|r| r.id),
        Some(run(2, 0).id)
    );
    // a refresh brings two newer runs on top: the selection stays on run 2, not on index 1
    let req = loads(&a.update(Msg::Poll)).pop().expect("poll reads");
    assert_eq!(req.filter.limit, PAGE, "a refresh reloads at least a page");
    land(
        &mut a,
        req,
        Payload::Runs(vec![
            run(5, 1),
            run(4, 2),
            run(1, 10),
            run(2, 20),
            run(3, 30),
        ]),
    );
    let t = &a.runs.list.table;
    assert_eq!(t.selected().map(|r| r.id), Some(run(2, 0).id));
    assert_eq!(t.position(), 3);
    // the selected run disappears: the selection stays at the same place
    let req = loads(&a.update(Msg::Poll)).pop().expect("poll reads");
    land(
        &mut a,
        req,
        Payload::Runs(vec![run(5, 1), run(4, 2), run(1, 10), run(3, 30)]),
    );
    let t = &a.runs.list.table;
    assert_eq!(t.position(), 3);
    assert_eq!(t.selected().map(|r| r.id), Some(run(3, 0).id));
}

#[test]
fn sort_cycles_shows_its_column_and_keeps_the_selection() {
    let mut a = runs_with(vec![run(1, 10), run(2, 20), run(3, 30)]);
    a.runs.list.table.select_key(&run(3, 0).id);
    // natural order → status → workflow (names wf-1..3 ascending)
    press(&mut a, KeyCode::Char('s'));
    assert_eq!(a.runs.list.table.sort_col().name, "status");
    press(&mut a, KeyCode::Char('s'));
    let t = &a.runs.list.table;
    assert_eq!(t.sort_col().name, "workflow");
    assert!(!t.sort_col().desc);
    assert_eq!(t.nth(0).map(|r| r.workflow_name.as_str()), Some("wf-1"));
    assert_eq!(t.selected().map(|r| r.id), Some(run(3, 0).id));
    for _ in 0..2 {
        press(&mut a, KeyCode::Char('s'));
    }
    assert_eq!(a.runs.list.table.sort, 0, "wraps to the natural order");
}

#[test]
fn filter_narrows_at_once_and_refetches_debounced() {
    let mut a = runs_with(vec![run(1, 10), run(2, 20), run(3, 30)]);
    press(&mut a, KeyCode::Char('/'));
    assert!(a.editing_filter());
    let fx = typ(&mut a, "WF-2 status:running");
    // narrowed locally on every key, case-insensitive
    assert_eq!(a.runs.list.table.len(), 1);
    // every edit schedules a settle; only the latest one reads
    let settles: Vec<u64> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Later(_, LaterMsg::FilterSettled(ViewId::Runs, s)) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(settles.len(), "WF-2 status:running".len());
    let stale = a.update(Msg::FilterSettled(ViewId::Runs, settles[0]));
    assert!(loads(&stale).is_empty(), "an older edit does not read");
    let fx = a.update(Msg::FilterSettled(ViewId::Runs, *settles.last().unwrap()));
    let req = loads(&fx).pop().expect("the latest edit reads");
    assert_eq!(req.filter.text.as_deref(), Some("wf-2"));
    assert_eq!(req.filter.status.as_deref(), Some("running"));
    assert_eq!(req.filter.limit, PAGE, "a new filter starts at one page");
    // Esc clears the filter and reads again unfiltered
    land(&mut a, req, Payload::Runs(vec![run(2, 20)]));
    press(&mut a, KeyCode::Esc);
    assert!(!a.editing_filter());
    assert_eq!(a.runs.list.filter.text, "");
    let fx = a.update(Msg::FilterSettled(ViewId::Runs, a.runs.list.filter.seq));
    let req = loads(&fx).pop().expect("clearing reads");
    assert_eq!(req.filter.text, None);
}

#[test]
fn a_read_for_an_older_filter_is_dropped() {
    let mut a = runs_with(vec![run(1, 10)]);
    let old = loads(&a.update(Msg::Poll)).pop().expect("poll reads");
    press(&mut a, KeyCode::Char('/'));
    typ(&mut a, "zzz");
    land(&mut a, old, Payload::Runs(vec![run(7, 1), run(8, 2)]));
    assert_eq!(a.runs.list.table.loaded_len(), 1, "stale rows not shown");
}

#[test]
fn reaching_the_bottom_fetches_the_next_page_with_a_cursor() {
    let rows: Vec<Run> = (0..PAGE as u128).map(|i| run(i, i as i64 + 1)).collect();
    let last = rows.last().cloned().expect("rows");
    let mut a = runs_with(rows);
    assert!(a.runs.list.table.has_more);
    let fx = press(&mut a, KeyCode::Char('G'));
    let req = loads(&fx).pop().expect("bottom fetches more");
    assert_eq!(req.kind, LoadKind::More);
    let c = req.filter.before.expect("cursor");
    assert_eq!((c.at, c.id), (last.started_at, last.id));
    land(&mut a, req, Payload::Runs(vec![run(500, 1000)]));
    assert_eq!(a.runs.list.table.loaded_len(), PAGE as usize + 1);
    assert!(!a.runs.list.table.has_more, "a short page is the end");
    // and the next refresh reloads everything loaded, keeping the selection
    let req = loads(&a.update(Msg::Poll)).pop().expect("poll reads");
    assert_eq!(req.filter.limit, PAGE + 1);
}

#[test]
fn one_read_per_view_in_flight_and_bursts_coalesce() {
    let mut a = app();
    press(&mut a, KeyCode::Char('4'));
    // the switch read is in flight; a burst of changes adds exactly one more read
    assert!(loads(&a.update(Msg::Changed(vec!["job_queue".into()]))).is_empty());
    assert!(loads(&a.update(Msg::Poll)).is_empty());
    // a change to a table this view does not show does nothing
    assert!(loads(&a.update(Msg::Changed(vec!["operator_actions".into()]))).is_empty());
    // the view reads (the one in-flight mechanism also holds the awaiting-broadcasts read)
    let inflight = a.inflight.reads();
    assert_eq!(inflight.len(), 1);
    let (_, _, seq) = inflight.into_iter().next().expect("one in flight");
    let req = LoadReq {
        view: ViewId::Queue,
        kind: LoadKind::Main,
        filter: opsdeck::domain::model::ListFilter {
            limit: PAGE,
            ..Default::default()
        },
        id: None,
        now: fixtures::now(),
        seq,
    };
    let fx = land(&mut a, req, Payload::Queue(None, vec![]));
    assert_eq!(loads(&fx).len(), 1, "the queued read runs once");
}

#[test]
fn a_failed_read_means_disconnected_with_backoff_until_a_good_one() {
    let mut a = app();
    let req = loads(&a.start()).pop().expect("start reads");
    a.update(Msg::Loaded(Box::new(Loaded {
        req,
        result: Err(opsdeck::domain::refresh::ReadError::conn(
            "connection refused",
        )),
        from: None,
    })));
    let Conn::Lost {
        attempt, retry_at, ..
    } = a.conn.clone()
    else {
        panic!("lost");
    };
    assert_eq!(attempt, 1);
    assert_eq!(retry_at, fixtures::now() + Duration::seconds(1));
    assert!(
        loads(&a.update(Msg::Poll)).is_empty(),
        "no polling while lost"
    );
    // the clock reaches the retry time: one read
    let fx = a.update(Msg::Clock(fixtures::now() + Duration::seconds(1)));
    let req = loads(&fx).pop().expect("retry");
    a.update(Msg::Loaded(Box::new(Loaded {
        req,
        result: Err(opsdeck::domain::refresh::ReadError::conn(
            "connection refused",
        )),
        from: None,
    })));
    let Conn::Lost {
        attempt, retry_at, ..
    } = a.conn.clone()
    else {
        panic!("still lost");
    };
    assert_eq!(attempt, 2);
    assert_eq!(
        retry_at,
        fixtures::now() + Duration::seconds(3),
        "2 s later"
    );
    assert_eq!(Conn::backoff_secs(9).min(30), 30, "capped at 30 s");
    let req = loads(&a.update(Msg::Clock(retry_at))).pop().expect("retry");
    land(
        &mut a,
        req,
        Payload::Overview(Box::new(fixtures::overview())),
    );
    assert_eq!(a.conn, Conn::Connected);
    assert_eq!(
        a.toast.as_ref().map(|t| t.text.as_str()),
        Some("reconnected")
    );
}

#[test]
fn mutating_keys_with_nothing_selected_explain_themselves() {
    // (before issue 5 every mutating key said "not available yet"; now they open a confirm
    // dialog — tests/actions_ui.rs — and with nothing selected they say so and do nothing)
    let mut a = app();
    press(&mut a, KeyCode::Char('8'));
    let fx = press(&mut a, KeyCode::Char('A'));
    assert!(fx.is_empty());
    assert!(
        a.toast
            .as_ref()
            .expect("toast")
            .text
            .contains("nothing selected")
    );
    a.mode = Mode::ReadOnly;
    press(&mut a, KeyCode::Char('A'));
    assert!(
        a.toast
            .as_ref()
            .expect("toast")
            .text
            .starts_with("read-only")
    );
}

#[test]
fn enter_opens_a_run_detail_and_esc_goes_back() {
    let mut a = runs_with(vec![run(1, 10), run(2, 20)]);
    press(&mut a, KeyCode::Down);
    let req = loads(&press(&mut a, KeyCode::Enter))
        .pop()
        .expect("detail reads");
    assert_eq!((req.kind, req.id), (LoadKind::Detail, Some(run(2, 0).id)));
    // while the detail is open, refreshes read the detail
    let fx = a.update(Msg::Changed(vec!["workflow_executions".into()]));
    assert!(loads(&fx).is_empty(), "the detail read is in flight");
    land(
        &mut a,
        req,
        Payload::RunDetail(Some(Box::new(run(2, 20))), vec![]),
    );
    let fx = press(&mut a, KeyCode::Esc);
    assert!(a.runs.list.detail.is_none());
    assert_eq!(loads(&fx).pop().map(|r| r.kind), Some(LoadKind::Main));
}

#[test]
fn enter_on_a_workflow_lists_its_runs() {
    let mut a = app();
    let req = loads(&press(&mut a, KeyCode::Char('2')))
        .pop()
        .expect("read");
    land(&mut a, req, Payload::Workflows(fixtures::workflows()));
    let wf = a.workflows.table.selected().expect("selected").workflow.id;
    let req = loads(&press(&mut a, KeyCode::Enter))
        .pop()
        .expect("runs read");
    assert_eq!(a.view, ViewId::Runs);
    assert_eq!(req.filter.workflow_id, Some(wf));
}

#[test]
fn palette_completes_and_runs_commands() {
    let mut a = app();
    press(&mut a, KeyCode::Char(':'));
    typ(&mut a, "qu");
    // queue and quit share "qu": Tab steps through them
    press(&mut a, KeyCode::Tab);
    let opsdeck::state::Overlay::Palette(p) = &a.overlay else {
        panic!("palette open");
    };
    assert_eq!(p.input, "queue");
    press(&mut a, KeyCode::Tab);
    let opsdeck::state::Overlay::Palette(p) = &a.overlay else {
        panic!("palette open");
    };
    assert_eq!(p.input, "quit");
    press(&mut a, KeyCode::Esc);

    press(&mut a, KeyCode::Char(':'));
    typ(&mut a, "aud");
    press(&mut a, KeyCode::Tab);
    let opsdeck::state::Overlay::Palette(p) = &a.overlay else {
        panic!("palette open");
    };
    assert_eq!(p.input, "audit", "a single match completes fully");
    press(&mut a, KeyCode::Esc);

    press(&mut a, KeyCode::Char(':'));
    typ(&mut a, "the");
    press(&mut a, KeyCode::Tab);
    let opsdeck::state::Overlay::Palette(p) = &a.overlay else {
        panic!("palette open");
    };
    assert_eq!(p.input, "theme ", "completes the common prefix");
    assert!(p.matches().iter().all(|e| e.name.starts_with("theme ")));
    press(&mut a, KeyCode::Esc);

    press(&mut a, KeyCode::Char(':'));
    typ(&mut a, "re");
    press(&mut a, KeyCode::Tab); // reconciliation / refresh: the first match
    let fx = press(&mut a, KeyCode::Enter);
    assert_eq!(a.view, ViewId::Reconciliation);
    assert_eq!(loads(&fx).len(), 1);

    press(&mut a, KeyCode::Char(':'));
    typ(&mut a, "quit");
    let fx = press(&mut a, KeyCode::Enter);
    assert!(fx.contains(&Effect::Quit));
}

#[test]
fn help_shows_and_any_key_closes() {
    let mut a = app();
    press(&mut a, KeyCode::Char('?'));
    assert!(matches!(a.overlay, opsdeck::state::Overlay::Help { .. }));
    let fx = press(&mut a, KeyCode::Char('q'));
    assert!(fx.is_empty(), "q closes the help, it does not quit");
    assert!(matches!(a.overlay, opsdeck::state::Overlay::None));
    assert!(press(&mut a, KeyCode::Char('q')).contains(&Effect::Quit));
}

/// A listener that comes back (LISTEN reconnected, a relay back) missed what was notified
/// meanwhile: the view is read once more. Up at start, or Up again while up, reads nothing.
#[test]
fn the_view_is_read_again_when_the_listener_comes_back() {
    use opsdeck::domain::refresh::Listen;
    let mut a = app();
    let first = loads(&a.start());
    assert_eq!(first.len(), 1);
    land(&mut a, first[0].clone(), Payload::Overview(Box::default()));
    assert!(loads(&a.update(Msg::Listen(Listen::Up))).is_empty());
    assert!(loads(&a.update(Msg::Listen(Listen::Up))).is_empty());
    assert!(loads(&a.update(Msg::Listen(Listen::Down))).is_empty());
    let again = loads(&a.update(Msg::Listen(Listen::Up)));
    assert_eq!(again.len(), 1, "one read when the listener is back");
    assert_eq!(again[0].view, ViewId::Overview);
}
