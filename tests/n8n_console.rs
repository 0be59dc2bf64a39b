//! n8n in the console: the pane beside the database lists, the status bar (up / down with its
//! age), the selection (`n`) and the actions it offers. Fixture data, fixed clock.

mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use opsdeck::domain::action::Action;
use opsdeck::domain::mode::Mode;
use opsdeck::domain::n8n::{N8nDown, N8nPolled, N8nSnapshot};
use opsdeck::domain::n8n::{N8nExecution, N8nTag, N8nWorkflow};
use opsdeck::domain::refresh::{Listen, Loaded, ViewId};
use opsdeck::keymap::{KeyAction, Keymap};
use opsdeck::state::{App, Effect, Msg};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn wf(id: &str, name: &str, active: bool) -> N8nWorkflow {
    N8nWorkflow {
        id: id.into(),
        name: name.into(),
        active,
        created_at: None,
        updated_at: Some(fixtures::now() - secs(3600)),
        tags: vec![N8nTag {
            id: "1".into(),
            name: "event-day".into(),
        }],
        is_archived: false,
    }
}

fn ex(id: &str, status: &str, wf: &str, retry_of: Option<&str>) -> N8nExecution {
    N8nExecution {
        id: id.into(),
        status: status.into(),
        finished: status == "success",
        mode: if retry_of.is_some() {
            "retry"
        } else {
            "webhook"
        }
        .into(),
        started_at: Some(fixtures::now() - secs(90)),
        stopped_at: Some(fixtures::now() - secs(88)),
        workflow_id: Some(wf.into()),
        retry_of: retry_of.map(str::to_string),
        retry_success_id: None,
        wait_till: None,
    }
}

fn snapshot() -> N8nSnapshot {
    N8nSnapshot {
        workflows: vec![
            wf("aB3dE5fG7hI9", "Lead intake (n8n)", true),
            wf("Zx81", "Guest list sync", false),
        ],
        executions: vec![
            ex("1043", "error", "aB3dE5fG7hI9", Some("1042")),
            ex("1041", "success", "Zx81", None),
        ],
        waiting: vec![ex("1040", "waiting", "aB3dE5fG7hI9", None)],
        truncated: false,
    }
}

fn app(view: ViewId) -> App {
    let mut a = App::new(
        Mode::Live,
        Theme::builtin("default").expect("theme"),
        Keymap::default_map(),
        "maria@control-room".into(),
        "db.internal/automation".into(),
        fixtures::now(),
    );
    a.listen = Listen::Up;
    a.n8n.configured = true;
    let mut fx = a.switch(view);
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
    a
}

fn polled(a: &mut App, at: i64, result: Result<N8nSnapshot, N8nDown>) {
    a.update(Msg::N8n(Box::new(N8nPolled {
        at: fixtures::now() + secs(at),
        result,
    })));
}

fn down() -> N8nDown {
    N8nDown {
        short: "cannot connect".into(),
        full: "cannot connect to n8n at http://n8n:5678: Connection refused (os error 111)".into(),
    }
}

fn render(a: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
    t.backend().to_string()
}

fn key(a: &mut App, c: char) {
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )));
}

#[test]
fn workflows_with_n8n_up() {
    let mut a = app(ViewId::Workflows);
    polled(&mut a, 0, Ok(snapshot()));
    a.update(Msg::Clock(fixtures::now() + secs(3)));
    let s = render(&a, 120, 36);
    assert!(s.contains("n8n ● up"), "{s}");
    assert_snapshot!(s);
}

#[test]
fn runs_with_n8n_down_keeps_the_last_data() {
    let mut a = app(ViewId::Runs);
    polled(&mut a, 0, Ok(snapshot()));
    polled(&mut a, 10, Err(down()));
    polled(&mut a, 20, Err(down()));
    a.update(Msg::Clock(fixtures::now() + secs(45)));
    assert_eq!(
        a.n8n.status_text(a.now).as_deref(),
        Some("n8n down 35s (cannot connect)")
    );
    let s = render(&a, 120, 36);
    assert!(s.contains("n8n down 35s (cannot connect)"), "{s}");
    assert!(s.contains("1043 (retry of 1042)"), "{s}");
    assert_snapshot!(s);
    // it comes back
    polled(&mut a, 50, Ok(snapshot()));
    assert_eq!(a.n8n.status_text(a.now).as_deref(), Some("n8n ● up"));
}

#[test]
fn not_configured_shows_nothing_of_n8n() {
    let mut a = app(ViewId::Workflows);
    a.n8n.configured = false;
    let s = render(&a, 120, 36);
    assert!(!s.contains("n8n"), "{s}");
}

#[test]
fn actions_for_the_selected_n8n_row() {
    let mut a = app(ViewId::Workflows);
    polled(&mut a, 0, Ok(snapshot()));
    // the database list has the selection until `n`
    assert_eq!(
        a.n8n_action_for_selection(KeyAction::Pause, Some("x")),
        None
    );
    key(&mut a, 'n');
    assert!(a.n8n_focused());
    assert_eq!(
        a.n8n_action_for_selection(KeyAction::Pause, Some("vendor down")),
        Some(Action::N8nSetActive {
            workflow: "aB3dE5fG7hI9".into(),
            label: "Lead intake (n8n)".into(),
            active: false,
            reason: Some("vendor down".into()),
        })
    );
    // already active: no resume, and the refusal says why
    assert_eq!(a.n8n_action_for_selection(KeyAction::Resume, None), None);
    assert_eq!(
        a.n8n_action_refusal(KeyAction::Resume).as_deref(),
        Some("n8n workflow is already active")
    );
    key(&mut a, 'j');
    assert_eq!(a.n8n.wf_sel, 1);
    assert!(matches!(
        a.n8n_action_for_selection(KeyAction::Resume, None),
        Some(Action::N8nSetActive { active: true, .. })
    ));

    let mut a = app(ViewId::Runs);
    polled(&mut a, 0, Ok(snapshot()));
    key(&mut a, 'n');
    assert_eq!(
        a.n8n_action_for_selection(KeyAction::Retry, None),
        Some(Action::N8nRetry {
            execution: "1043".into(),
            label: "1043 of Lead intake (n8n)".into(),
        })
    );
    key(&mut a, 'j');
    assert_eq!(a.n8n_action_for_selection(KeyAction::Retry, None), None);
    assert!(
        a.n8n_action_refusal(KeyAction::Retry)
            .unwrap()
            .contains("is success: only failed executions")
    );
    key(&mut a, 'n');
    assert!(!a.n8n_focused());
}
