//! Operator actions in the console: a mutating key opens a confirm dialog that names the target
//! and the change; only a complete confirmation sends the action, once; the result lands as a
//! toast. Snapshots from fixtures, and whole flows on real databases (Postgres and SQLite).

mod common;
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use opsdeck::api::actions::{ActionCtx, execute};
use opsdeck::api::db::Val;
use opsdeck::api::store::actions::count_failed;
use opsdeck::domain::action::{Action, Actor, JobSelect, Outcome};
use opsdeck::domain::mode::Mode;
use opsdeck::domain::refresh::{Listen, Loaded, ViewId};
use opsdeck::keymap::Keymap;
use opsdeck::state::{App, Effect, Msg, Overlay};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use uuid::Uuid;

fn app(now: opsdeck::domain::model::Ts) -> App {
    let mut a = App::new(
        Mode::Live,
        Theme::builtin("default").expect("theme"),
        Keymap::default_map(),
        "maria@control-room".into(),
        "db.internal/automation".into(),
        now,
    );
    a.listen = Listen::Up;
    a
}

/// Fixture reads only; returns the other effects (actions, counts) for the test to inspect.
fn settle(a: &mut App, mut fx: Vec<Effect>) -> Vec<Effect> {
    let mut other = Vec::new();
    while let Some(e) = fx.pop() {
        match e {
            Effect::Load(req) => {
                let result = Ok(fixtures::payload_for(&req, false));
                fx.extend(a.update(Msg::Loaded(Box::new(Loaded {
                    req,
                    result,
                    from: None,
                }))));
            }
            e => other.push(e),
        }
    }
    other
}

fn press(a: &mut App, code: KeyCode) -> Vec<Effect> {
    let fx = a.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    settle(a, fx)
}

fn typ(a: &mut App, s: &str) -> Vec<Effect> {
    s.chars().flat_map(|c| press(a, KeyCode::Char(c))).collect()
}

fn at(view: ViewId) -> App {
    let mut a = app(fixtures::now());
    let fx = a.switch(view);
    settle(&mut a, fx);
    a
}

fn render(a: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
    t.backend().to_string()
}

fn acts(fx: &[Effect]) -> Vec<Action> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Act(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

/// Moves down until the selected queue row has `status`.
fn select_job(a: &mut App, status: &str) {
    for _ in 0..50 {
        if a.queue.list.table.selected().map(|j| j.status.as_str()) == Some(status) {
            return;
        }
        press(a, KeyCode::Down);
    }
    panic!("no {status} job in the fixtures");
}

#[test]
fn retry_a_job_confirms_with_y_and_sends_once() {
    let mut a = at(ViewId::Queue);
    select_job(&mut a, "failed");
    let id = a.queue.list.table.selected().unwrap().id;
    // R opens the dialog; pressing R again or Enter does not act
    assert!(acts(&press(&mut a, KeyCode::Char('R'))).is_empty());
    assert!(matches!(a.overlay, Overlay::Dialog(_)));
    assert!(acts(&press(&mut a, KeyCode::Char('R'))).is_empty());
    assert!(acts(&press(&mut a, KeyCode::Enter)).is_empty());
    assert_snapshot!("retry_job_dialog", render(&a));
    let sent = acts(&press(&mut a, KeyCode::Char('y')));
    match &sent[..] {
        [Action::RetryJobs { jobs }] => {
            assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id])
        }
        other => panic!("{other:?}"),
    }
    // hammering y while it runs sends nothing more
    assert!(acts(&typ(&mut a, "yyy")).is_empty());
    assert_snapshot!("retry_job_sent", render(&a));
}

/// From the overview, the newest failed job is `f` (failed jobs, newest first) then `R` and the
/// confirmation.
#[test]
fn newest_failed_job_from_the_overview_in_two_keys() {
    let mut a = at(ViewId::Overview);
    press(&mut a, KeyCode::Char('f'));
    assert_eq!(a.view, ViewId::Queue);
    assert_eq!(a.queue.list.filter.text, "status:failed");
    let newest = fixtures::jobs()
        .into_iter()
        .filter(|j| j.status == "failed")
        .max_by_key(|j| j.created_at)
        .unwrap();
    assert_eq!(a.queue.list.table.selected().map(|j| j.id), Some(newest.id));
    assert!(acts(&press(&mut a, KeyCode::Char('R'))).is_empty());
    match &acts(&press(&mut a, KeyCode::Char('y')))[..] {
        [Action::RetryJobs { jobs }] => assert_eq!(jobs[0].id, newest.id),
        other => panic!("{other:?}"),
    }
}

/// Marked rows the action cannot apply to are named in the dialog, not dropped silently.
#[test]
fn marked_rows_left_out_are_said() {
    let mut a = at(ViewId::Queue);
    select_job(&mut a, "failed");
    press(&mut a, KeyCode::Char(' '));
    select_job(&mut a, "completed");
    press(&mut a, KeyCode::Char(' '));
    assert_eq!(a.queue.list.table.marked.len(), 2);
    press(&mut a, KeyCode::Char('R'));
    let screen = render(&a);
    assert!(
        screen.contains("1 of 2 marked jobs are not failed: left out"),
        "{screen}"
    );
}

#[test]
fn esc_cancels_and_nothing_is_sent() {
    let mut a = at(ViewId::Queue);
    select_job(&mut a, "failed");
    press(&mut a, KeyCode::Char('R'));
    assert!(acts(&press(&mut a, KeyCode::Esc)).is_empty());
    assert!(matches!(a.overlay, Overlay::None));
    assert!(a.toast.as_ref().unwrap().text.contains("nothing changed"));
}

#[test]
fn wrong_state_is_explained_before_any_dialog() {
    let mut a = at(ViewId::Queue);
    select_job(&mut a, "pending");
    assert!(acts(&press(&mut a, KeyCode::Char('R'))).is_empty());
    assert!(matches!(a.overlay, Overlay::None));
    assert!(
        a.toast
            .as_ref()
            .unwrap()
            .text
            .contains("only failed jobs can be retried")
    );
}

#[test]
fn reject_needs_a_note_typed_in_the_dialog() {
    let mut a = at(ViewId::Approvals);
    press(&mut a, KeyCode::Char('X'));
    assert!(
        acts(&press(&mut a, KeyCode::Enter)).is_empty(),
        "no note yet"
    );
    assert_snapshot!("reject_without_note", render(&a));
    typ(&mut a, "rate below the agency floor");
    assert_snapshot!("reject_with_note", render(&a));
    let sent = acts(&press(&mut a, KeyCode::Enter));
    match &sent[..] {
        [Action::Decide { approve, note, .. }] => {
            assert!(!approve);
            assert_eq!(note.as_deref(), Some("rate below the agency floor"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pause_marked_workflows_asks_reason_and_count() {
    let mut a = at(ViewId::Workflows);
    // mark the active ones among the first rows
    let mut marked = 0;
    for _ in 0..6 {
        if a.workflows.table.selected().unwrap().workflow.status == "active" && marked < 3 {
            press(&mut a, KeyCode::Char(' '));
            marked += 1;
        }
        press(&mut a, KeyCode::Down);
    }
    assert!(marked >= 2, "fixtures have active workflows");
    press(&mut a, KeyCode::Char('P'));
    typ(&mut a, "venue wifi down");
    assert!(
        acts(&press(&mut a, KeyCode::Enter)).is_empty(),
        "count not typed"
    );
    assert_snapshot!("pause_marked", render(&a));
    typ(&mut a, &marked.to_string());
    let sent = acts(&press(&mut a, KeyCode::Enter));
    match &sent[..] {
        [Action::PauseWorkflows { workflows, reason }] => {
            assert_eq!(workflows.len(), marked);
            assert_eq!(reason, "venue wifi down");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bulk_retry_counts_first() {
    let mut a = at(ViewId::Queue);
    let fx = press(&mut a, KeyCode::Char('A'));
    let [Effect::CountFailed(sel)] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_snapshot!("bulk_counting", render(&a));
    // a late count for another selection does not land in this dialog
    let other = JobSelect {
        job_type: Some("other.type".into()),
        ..Default::default()
    };
    a.update(Msg::Counted(other, Ok(7)));
    assert_snapshot!("bulk_counting", render(&a));
    a.update(Msg::Counted(sel.clone(), Ok(42)));
    assert!(acts(&typ(&mut a, "y")).is_empty());
    assert_snapshot!("bulk_typed_count", render(&a));
    typ(&mut a, "42");
    let sent = acts(&press(&mut a, KeyCode::Enter));
    assert!(matches!(
        sent[..],
        [Action::RetryFailed {
            expected: Some(42),
            ..
        }]
    ));
}

#[test]
fn read_only_keys_do_nothing() {
    let mut a = at(ViewId::Queue);
    a.mode = Mode::ReadOnly;
    select_job(&mut a, "failed");
    for k in ['R', 'A', 'X'] {
        assert!(press(&mut a, KeyCode::Char(k)).is_empty());
        assert!(matches!(a.overlay, Overlay::None));
        assert!(a.toast.as_ref().unwrap().text.starts_with("read-only"));
    }
}

#[test]
fn results_land_as_toasts() {
    let mut a = at(ViewId::Approvals);
    press(&mut a, KeyCode::Char('A'));
    let sent = acts(&press(&mut a, KeyCode::Enter));
    assert_eq!(sent.len(), 1);
    let fx = a.update(Msg::ActionDone(Box::new(
        opsdeck::domain::action::ActionReport {
            action: "approval.approve",
            outcome: Outcome::Conflict,
            message: "already approved by li@ops at 03:12 UTC".into(),
            changed: 0,
            conflicts: vec![],
            audit_id: None,
            warning: None,
        },
    )));
    settle(&mut a, fx);
    assert!(matches!(a.overlay, Overlay::None));
    assert_snapshot!("conflict_toast", render(&a));
}

// ---- whole flows on real databases --------------------------------------------------------

/// Runs reads, counts and actions against the store until nothing is left.
async fn drive(s: &common::TestStore, a: &mut App, ctx: &ActionCtx, mut fx: Vec<Effect>) {
    while let Some(e) = fx.pop() {
        let msg = match e {
            Effect::Load(req) => {
                opsdeck::app::effects::load(
                    &opsdeck::api::replica::Reader::new(s.store.clone(), None),
                    req,
                )
                .await
            }
            Effect::Act(action) => Msg::ActionDone(Box::new(execute(s, ctx, &action).await)),
            Effect::CountFailed(sel) => {
                let r = count_failed(s, &sel).await.map_err(|e| e.to_string());
                Msg::Counted(sel, r)
            }
            _ => continue,
        };
        fx.extend(a.update(msg));
    }
}

async fn key(s: &common::TestStore, a: &mut App, ctx: &ActionCtx, code: KeyCode) {
    let fx = a.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    drive(s, a, ctx, fx).await;
}

async fn flow_body(s: common::TestStore) {
    for _ in 0..3 {
        s.db.execute(
            "INSERT INTO job_queue (id, job_type, status, error_message) VALUES ($1, 'email.send', 'failed', 'SMTP 451')",
            &[Val::Uuid(Uuid::new_v4())],
        )
        .await
        .unwrap();
    }
    let ctx = |op: &str| {
        ActionCtx::new(Actor {
            operator: op.into(),
            origin: "local:test".into(),
        })
    };
    let (maria, li) = (ctx("maria@control-room"), ctx("li@ops"));
    let now = chrono::Utc::now();
    let mut a = app(now);
    let mut b = app(now);
    let fx = a.switch(ViewId::Queue);
    drive(&s, &mut a, &maria, fx).await;
    let fx = b.switch(ViewId::Queue);
    drive(&s, &mut b, &li, fx).await;
    let target = a.queue.list.table.selected().unwrap().id;
    assert_eq!(b.queue.list.table.selected().unwrap().id, target);

    // maria retries the selected job
    key(&s, &mut a, &maria, KeyCode::Char('R')).await;
    key(&s, &mut a, &maria, KeyCode::Char('y')).await;
    let st =
        s.db.fetch_one(
            "SELECT status FROM job_queue WHERE id = $1",
            &[Val::Uuid(target)],
        )
        .await
        .unwrap()
        .s("status");
    assert_eq!(st, "pending");
    assert!(
        a.toast.as_ref().unwrap().text.contains("retried 1 job"),
        "{:?}",
        a.toast
    );

    // li still sees it failed on a stale screen and retries it: told who got there first
    key(&s, &mut b, &li, KeyCode::Char('R')).await;
    key(&s, &mut b, &li, KeyCode::Char('y')).await;
    let t = &b.toast.as_ref().unwrap().text;
    assert!(t.contains("already pending by maria@control-room"), "{t}");
    // and b's list was re-read: the job shows pending now
    assert_eq!(
        b.queue.list.table.get(&target).map(|j| j.status.as_str()),
        Some("pending")
    );

    // bulk retry of what is left: 2 jobs, below the typed-count threshold, so `y` confirms
    key(&s, &mut a, &maria, KeyCode::Char('A')).await;
    key(&s, &mut a, &maria, KeyCode::Char('y')).await;
    let left =
        s.db.fetch_one(
            "SELECT count(*) AS n FROM job_queue WHERE status = 'failed'",
            &[],
        )
        .await
        .unwrap()
        .n("n");
    assert_eq!(left, 0);
    let audit: Vec<(String, String)> =
        s.db.fetch_all(
            "SELECT action, outcome FROM operator_actions ORDER BY at, id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.s("action"), r.s("outcome")))
        .collect();
    assert_eq!(
        audit,
        vec![
            ("job.retry".into(), "ok".into()),
            ("job.retry".into(), "conflict".into()),
            ("job.retry_failed".into(), "ok".into()),
        ]
    );
}
store_test!(flow, flow_body);
