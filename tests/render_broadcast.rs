//! The broadcast screens: compose in TEST and LIVE (they must look different), the typed
//! confirmation and countdown, and the progress view. Pure state + TestBackend snapshots.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use opsdeck::api::broadcast::{ChannelProgress, FailedDelivery, Progress, SendOutcome, SendReport};
use opsdeck::broadcast::{Channel, Level, Person, Preview, Scope, WorkflowState, plan, segments};
use opsdeck::keymap::Keymap;
use opsdeck::state::broadcast::{BcEffect, BcMsg, EventChoice, Stage};
use opsdeck::state::{App, Effect, Listen, Loaded, Mode, Msg, Overlay, fixtures};
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
    let mut fx = a.refresh_view();
    while let Some(e) = fx.pop() {
        if let Effect::Load(req) = e {
            let result = Ok(fixtures::payload_for(&req, false));
            fx.extend(a.update(Msg::Loaded(Box::new(Loaded { req, result }))));
        }
    }
    a
}

fn render(a: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
    t.backend().to_string()
}

fn press(a: &mut App, code: KeyCode, m: KeyModifiers) -> Vec<Effect> {
    a.update(Msg::Key(KeyEvent::new(code, m)))
}
fn ctrl(a: &mut App, c: char) -> Vec<Effect> {
    press(a, KeyCode::Char(c), KeyModifiers::CONTROL)
}
fn typ(a: &mut App, s: &str) {
    for c in s.chars() {
        press(a, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

fn choices() -> Vec<EventChoice> {
    vec![
        EventChoice {
            id: Uuid::from_u128(1),
            name: "Maison Lumière Runway Show".into(),
            venue: "Carrousel du Louvre".into(),
            today: true,
        },
        EventChoice {
            id: Uuid::from_u128(2),
            name: "Noir VIP Party".into(),
            venue: "Palais de Tokyo".into(),
            today: true,
        },
    ]
}

fn people() -> Vec<Person> {
    let mut v: Vec<Person> = (0..40)
        .map(|i| Person {
            id: Uuid::from_u128(100 + i),
            name: format!("Person {i}"),
            phone: (i % 10 != 0).then(|| format!("+3361234{:04}", i % 37)),
            email: (i % 3 == 0).then(|| format!("p{i}@example.org")),
            primary_channel: Some(["sms", "whatsapp", "email"][i as usize % 3].into()),
        })
        .collect();
    v.push(Person {
        id: Uuid::from_u128(99),
        name: "Hugo Costa".into(),
        phone: None,
        email: None,
        primary_channel: None,
    });
    v
}

/// Answers the preview the screen asked for, from the pure planner.
fn answer_preview(a: &mut App, fx: Vec<Effect>) {
    for e in fx {
        if let Effect::Broadcast(BcEffect::Preview(d)) = e {
            let level = Level::parse(&d.level).unwrap();
            let c = &choices()[0];
            let p = Preview {
                level,
                scope: Scope::Event {
                    event_id: c.id,
                    name: c.name.clone(),
                },
                venue_name: c.venue.clone(),
                events: vec![c.name.clone()],
                message: d.message.trim().into(),
                channels: None,
                test: d.test,
                idempotency_key: d.idempotency_key.clone(),
                follow_up_of: None,
                plan: plan(
                    &if d.test {
                        people()[..2].to_vec()
                    } else {
                        people()
                    },
                    level,
                    None,
                ),
                segments: segments(d.message.trim()),
                workflow: WorkflowState::Active,
                needs_approval: false,
                new_people: vec![],
            };
            a.update(BcMsg::Previewed(Box::new(d), Ok(Box::new(p))).into());
        }
    }
}

fn compose(test: bool) -> App {
    let mut a = app();
    let fx = press(&mut a, KeyCode::Char('b'), KeyModifiers::NONE);
    assert!(fx.contains(&Effect::Broadcast(BcEffect::Choices)), "{fx:?}");
    a.update(BcMsg::Choices(Ok(choices())).into());
    typ(
        &mut a,
        "Fire alarm in the main hall: leave by the nearest marked exit now.",
    );
    if !test {
        let fx = ctrl(&mut a, 't');
        assert!(fx.is_empty() || matches!(fx[0], Effect::Broadcast(BcEffect::Preview(_))));
        // Level field: warning → urgent → critical
        press(&mut a, KeyCode::Tab, KeyModifiers::NONE);
        press(&mut a, KeyCode::Right, KeyModifiers::NONE);
        press(&mut a, KeyCode::Right, KeyModifiers::NONE);
    }
    let fx = ctrl(&mut a, 'p');
    answer_preview(&mut a, fx);
    a
}

fn ui(a: &App) -> &opsdeck::state::broadcast::BroadcastUi {
    match &a.overlay {
        Overlay::Broadcast(u) => u,
        _ => panic!("broadcast screen not open"),
    }
}

#[test]
fn compose_test_mode() {
    let a = compose(true);
    assert!(ui(&a).test, "the screen opens in TEST mode");
    assert_snapshot!(render(&a, 100, 30));
}

#[test]
fn compose_live_critical_typed_name_then_countdown() {
    let mut a = compose(false);
    assert_eq!(ui(&a).level, Level::Critical);
    assert_snapshot!("compose_live", render(&a, 100, 30));
    // Ctrl-S: a live critical broadcast first wants the event's name
    assert!(ctrl(&mut a, 's').is_empty());
    assert_eq!(ui(&a).stage, Stage::TypeName(String::new()));
    typ(&mut a, "Maison");
    assert!(press(&mut a, KeyCode::Enter, KeyModifiers::NONE).is_empty());
    assert!(ui(&a).error.as_deref().unwrap().contains("does not match"));
    typ(&mut a, " Lumière Runway Show");
    press(&mut a, KeyCode::Enter, KeyModifiers::NONE);
    assert!(matches!(ui(&a).stage, Stage::Countdown(_)));
    a.update(Msg::Clock(fixtures::now() + chrono::Duration::seconds(2)));
    assert_snapshot!("countdown", render(&a, 100, 30));
    // Esc cancels: nothing sent
    press(&mut a, KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(ui(&a).stage, Stage::Compose);
    // again, and let the countdown run out: now it sends
    ctrl(&mut a, 's');
    typ(&mut a, "Maison Lumière Runway Show");
    press(&mut a, KeyCode::Enter, KeyModifiers::NONE);
    let fx = a.update(Msg::Clock(fixtures::now() + chrono::Duration::seconds(10)));
    assert!(
        matches!(&fx[..], [Effect::Broadcast(BcEffect::Send(p))] if !p.test && p.level == Level::Critical),
        "{fx:?}"
    );
    assert_eq!(ui(&a).stage, Stage::Sending);
}

#[test]
fn test_mode_sends_without_countdown_and_editing_invalidates_preview() {
    let mut a = compose(true);
    typ(&mut a, "!");
    // the preview is for the old text: Ctrl-S asks for a new one instead of sending
    let fx = ctrl(&mut a, 's');
    assert!(
        matches!(&fx[..], [Effect::Broadcast(BcEffect::Preview(_))]),
        "{fx:?}"
    );
    answer_preview(&mut a, fx);
    let fx = ctrl(&mut a, 's');
    assert!(
        matches!(&fx[..], [Effect::Broadcast(BcEffect::Send(p))] if p.test),
        "{fx:?}"
    );
}

#[test]
fn progress_view() {
    let mut a = compose(false);
    let id = Uuid::from_u128(0xb);
    let mut by = BTreeMap::new();
    by.insert(Channel::Sms, 35);
    by.insert(Channel::Voice, 35);
    let fx = a.update(
        BcMsg::Sent(Ok(Box::new(SendReport {
            outcome: SendOutcome::Sent,
            broadcast_id: id,
            status: "queued".into(),
            test: false,
            deliveries: 70,
            by_channel: by,
            unreachable: 5,
            duplicates: 6,
            message: format!("broadcast {id} queued: 70 deliveries"),
            webhook: None,
            audit_id: None,
        })))
        .into(),
    );
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::Progress(id))]);
    let mut chans = BTreeMap::new();
    chans.insert(
        "sms".to_string(),
        ChannelProgress {
            queued: 0,
            sent: 0,
            delivered: 34,
            failed: 1,
            other: 0,
        },
    );
    chans.insert(
        "voice".to_string(),
        ChannelProgress {
            queued: 3,
            sent: 4,
            delivered: 27,
            failed: 1,
            other: 0,
        },
    );
    a.update(
        BcMsg::Progress(Ok(Box::new(Progress {
            broadcast_id: id,
            level: "critical".into(),
            scope: "event".into(),
            target: "Maison Lumière Runway Show".into(),
            message: "Fire".into(),
            status: "sending".into(),
            test: false,
            triggered_by: "maria@control-room".into(),
            created_at: None,
            completed_at: None,
            approved_by: None,
            webhook_status: None,
            webhook_error: None,
            by_channel: chans,
            failed: vec![
                FailedDelivery {
                    delivery_id: Uuid::from_u128(7),
                    channel: "sms".into(),
                    person: "Sana Haddad".into(),
                    address: "+33 6 12".into(),
                    error: "Twilio 21211: invalid 'To' phone number".into(),
                },
                FailedDelivery {
                    delivery_id: Uuid::from_u128(8),
                    channel: "voice".into(),
                    person: "Sana Haddad".into(),
                    address: "+33 6 12".into(),
                    error: "Twilio voice call not answered within 30s".into(),
                },
            ],
        })))
        .into(),
    );
    assert_snapshot!("progress", render(&a, 100, 30));
    // r asks first; y retries
    assert!(press(&mut a, KeyCode::Char('r'), KeyModifiers::NONE).is_empty());
    let fx = press(&mut a, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::Retry(id))]);
    // a = all-clear to the same people, after a y
    press(&mut a, KeyCode::Char('a'), KeyModifiers::NONE);
    let fx = press(&mut a, KeyCode::Char('y'), KeyModifiers::NONE);
    assert!(
        matches!(&fx[..], [Effect::Broadcast(BcEffect::FollowUp { id: i, message, .. })] if *i == id && message.contains("ALL CLEAR")),
        "{fx:?}"
    );
    // live progress: a poll reads it again
    a.update(BcMsg::Sent(Err("x".into())).into());
    let fx = a.update(Msg::Poll);
    assert!(
        fx.contains(&Effect::Broadcast(BcEffect::Progress(id))),
        "{fx:?}"
    );
}

#[test]
fn read_only_refuses() {
    let mut a = app();
    a.mode = Mode::ReadOnly;
    assert!(press(&mut a, KeyCode::Char('b'), KeyModifiers::NONE).is_empty());
    assert!(matches!(a.overlay, Overlay::None));
}
