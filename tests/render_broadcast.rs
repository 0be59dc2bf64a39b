//! The broadcast screens: compose in TEST and LIVE (they must look different), the typed
//! confirmation and countdown, and the progress view. Pure state + TestBackend snapshots.

mod fixtures;

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use opsdeck::domain::broadcast::EventChoice;
use opsdeck::domain::broadcast::{
    Channel, Level, Person, Preview, Scope, WorkflowState, plan, segments,
};
use opsdeck::domain::broadcast::{
    ChannelProgress, Decision, FailedDelivery, Progress, SendOutcome, SendReport, Waiting,
};
use opsdeck::domain::mode::Mode;
use opsdeck::domain::refresh::{Listen, Loaded};
use opsdeck::keymap::Keymap;
use opsdeck::state::awaiting::Confirm;
use opsdeck::state::broadcast::{BcEffect, BcMsg, Stage};
use opsdeck::state::{App, Effect, Msg, Overlay};
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
            fx.extend(a.update(Msg::Loaded(Box::new(Loaded {
                req,
                result,
                from: None,
            }))));
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
    // like app.rs: the state always holds a spare idempotency key
    if a.needs_key() {
        a.update(Msg::FreshKey(
            format!("bc-test-{}", a.now.timestamp_micros()).into(),
        ));
    }
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

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn report(id: Uuid, outcome: SendOutcome, status: &str) -> SendReport {
    let mut by = BTreeMap::new();
    by.insert(Channel::Sms, 35);
    by.insert(Channel::Voice, 35);
    SendReport {
        outcome,
        broadcast_id: id,
        status: status.into(),
        test: false,
        deliveries: 70,
        by_channel: by,
        unreachable: 5,
        duplicates: 6,
        message: format!("broadcast {id}: {status}"),
        webhook: None,
        audit_id: None,
    }
}

fn progress_of(id: Uuid, status: &str, per: [ChannelProgress; 2]) -> Progress {
    let mut chans = BTreeMap::new();
    chans.insert("sms".to_string(), per[0]);
    chans.insert("voice".to_string(), per[1]);
    Progress {
        broadcast_id: id,
        level: "critical".into(),
        scope: "event".into(),
        target: "Maison Lumière Runway Show".into(),
        message: "Fire alarm in the main hall: leave by the nearest marked exit now.".into(),
        status: status.into(),
        test: false,
        triggered_by: "maria@control-room".into(),
        created_at: Some(fixtures::now() - secs(42)),
        completed_at: None,
        approved_by: None,
        webhook_status: None,
        webhook_error: None,
        by_channel: chans,
        failed: vec![],
    }
}

fn held(n: i64) -> ChannelProgress {
    ChannelProgress {
        other: n,
        ..Default::default()
    }
}

fn decision(id: Uuid, outcome: &'static str, message: &str) -> Decision {
    Decision {
        outcome,
        broadcast_id: id,
        message: message.into(),
        deliveries: 0,
        stopped: 0,
        already_out: 0,
        in_flight: 0,
        webhook: None,
    }
}

/// Four-eyes: the sending console shows the broadcast waiting, with a live timer, and its
/// author can cancel it from there (after a y); nothing else (retry, follow-up) is offered.
#[test]
fn waiting_for_a_second_operator() {
    let mut a = compose(false);
    let id = Uuid::from_u128(0xc);
    let fx = a.update(
        BcMsg::Sent(Ok(Box::new(report(
            id,
            SendOutcome::AwaitingApproval,
            "awaiting_approval",
        ))))
        .into(),
    );
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::Progress(id))]);
    // before the first read: the timer runs from the send
    let screen = render(&a, 100, 30);
    assert!(
        screen.contains("waiting for a second operator  0:00"),
        "{screen}"
    );
    a.update(
        BcMsg::Progress(Ok(Box::new(progress_of(
            id,
            "awaiting_approval",
            [held(35), held(35)],
        ))))
        .into(),
    );
    assert_snapshot!("waiting", render(&a, 100, 30));
    // the timer is live: the clock moves it
    a.update(Msg::Clock(fixtures::now() + secs(60)));
    assert!(render(&a, 100, 30).contains("waiting for a second operator  1:42"));
    // and the state is read again on a poll or a change (another console approves)
    let fx = a.update(Msg::Poll);
    assert!(
        fx.contains(&Effect::Broadcast(BcEffect::Progress(id))),
        "{fx:?}"
    );
    let fx = a.update(Msg::Changed(vec!["emergency_broadcasts".into()]));
    assert!(
        fx.contains(&Effect::Broadcast(BcEffect::Progress(id))),
        "{fx:?}"
    );
    // one read of the awaiting list at a time: the change meanwhile reads again on landing
    let fx = a.update(BcMsg::Awaiting(Ok(vec![])).into());
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::Awaiting)]);
    assert!(a.update(BcMsg::Awaiting(Ok(vec![])).into()).is_empty());
    // nothing went out: no retry, no follow-up
    assert!(press(&mut a, KeyCode::Char('r'), KeyModifiers::NONE).is_empty());
    assert!(press(&mut a, KeyCode::Char('a'), KeyModifiers::NONE).is_empty());
    assert_eq!(ui(&a).pending, None);
    // Esc asks; n keeps it waiting
    press(&mut a, KeyCode::Esc, KeyModifiers::NONE);
    assert!(render(&a, 100, 30).contains("CANCEL this broadcast? Nothing has been sent. y / n"));
    assert!(press(&mut a, KeyCode::Char('n'), KeyModifiers::NONE).is_empty());
    assert!(matches!(a.overlay, Overlay::Broadcast(_)));
    // c, then y: the cancel goes to the api
    press(&mut a, KeyCode::Char('c'), KeyModifiers::NONE);
    let fx = press(&mut a, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::CancelWaiting(id))]);
    let fx = a.update(
        BcMsg::Decided(
            id,
            false,
            Ok(Box::new(decision(
                id,
                "ok",
                "broadcast cancelled by maria@control-room: nothing sent",
            ))),
        )
        .into(),
    );
    assert!(
        fx.contains(&Effect::Broadcast(BcEffect::Progress(id))),
        "{fx:?}"
    );
    assert!(
        fx.contains(&Effect::Broadcast(BcEffect::Awaiting)),
        "{fx:?}"
    );
    let cancelled = ChannelProgress {
        other: 35,
        ..Default::default()
    };
    a.update(
        BcMsg::Progress(Ok(Box::new(progress_of(
            id,
            "cancelled",
            [cancelled, cancelled],
        ))))
        .into(),
    );
    let screen = render(&a, 100, 30);
    assert!(
        screen.contains("cancelled by maria@control-room: nothing sent"),
        "{screen}"
    );
    assert!(
        !screen.contains("waiting for a second operator"),
        "{screen}"
    );
    // q closes; the broadcast is not touched by closing
    assert!(press(&mut a, KeyCode::Char('q'), KeyModifiers::NONE).is_empty());
    assert!(matches!(a.overlay, Overlay::None));
}

/// Cancelling a queued broadcast from the progress view: x asks (saying what stays out), y
/// cancels, and the answer (stopped / already out / in flight) stays on screen.
#[test]
fn cancel_a_queued_broadcast_from_progress() {
    let mut a = compose(false);
    let id = Uuid::from_u128(0xd);
    a.update(BcMsg::Sent(Ok(Box::new(report(id, SendOutcome::Sent, "queued")))).into());
    let part = |q, s, d| ChannelProgress {
        queued: q,
        sent: s,
        delivered: d,
        ..Default::default()
    };
    a.update(
        BcMsg::Progress(Ok(Box::new(progress_of(
            id,
            "sending",
            [part(20, 2, 13), part(20, 1, 14)],
        ))))
        .into(),
    );
    assert!(press(&mut a, KeyCode::Char('x'), KeyModifiers::NONE).is_empty());
    assert!(
        render(&a, 100, 30).contains("CANCEL this broadcast: stop the 40 deliveries still queued"),
        "{}",
        render(&a, 100, 30)
    );
    let fx = press(&mut a, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::Cancel(id))]);
    let mut d = decision(
        id,
        "ok",
        &format!(
            "broadcast {id} cancelled by maria@control-room: 39 deliveries stopped, 30 already out, 1 in flight (a worker had them: they may still go out)"
        ),
    );
    (d.stopped, d.already_out, d.in_flight) = (39, 30, 1);
    a.update(BcMsg::Decided(id, false, Ok(Box::new(d))).into());
    let stopped = |q, s, d, o| ChannelProgress {
        queued: q,
        sent: s,
        delivered: d,
        other: o,
        ..Default::default()
    };
    a.update(
        BcMsg::Progress(Ok(Box::new(progress_of(
            id,
            "cancelled",
            [stopped(1, 2, 13, 19), stopped(0, 1, 14, 20)],
        ))))
        .into(),
    );
    assert_snapshot!("cancel_result", render(&a, 100, 30));
    // a finished or cancelled broadcast offers no cancel
    assert!(press(&mut a, KeyCode::Char('x'), KeyModifiers::NONE).is_empty());
    assert_eq!(ui(&a).pending, None);
}

fn waiting(n: u128, level: &str, by: &str, ago: i64) -> Waiting {
    let mut ch = BTreeMap::new();
    ch.insert("sms".to_string(), 412);
    ch.insert("voice".to_string(), 412);
    Waiting {
        id: Uuid::from_u128(n),
        level: level.into(),
        scope: "event".into(),
        target: if n == 1 {
            "Maison Lumière Runway Show".into()
        } else {
            "Noir VIP Party".into()
        },
        message: "Fire alarm in the main hall: leave by the nearest marked exit now.".into(),
        triggered_by: by.into(),
        created_at: Some(fixtures::now() - secs(ago)),
        by_channel: ch,
        unreachable: 3,
        duplicates: 9,
    }
}

fn await_ui(a: &App) -> &opsdeck::state::awaiting::AwaitUi {
    match &a.overlay {
        Overlay::Awaiting(u) => u,
        _ => panic!("approval screen not open"),
    }
}

/// Another console sees the broadcasts awaiting approval (status-bar badge, B), opens one,
/// sees what it would send and who triggered it, and approves it (critical: the typed name);
/// a conflict says who was first; its own broadcast it cannot approve, and the screen says why.
#[test]
fn approval_screen() {
    let mut a = app();
    let list = vec![
        waiting(1, "critical", "alex@night-desk", 83),
        waiting(2, "urgent", "maria@control-room", 20),
    ];
    a.update(BcMsg::Awaiting(Ok(list.clone())).into());
    assert_snapshot!("awaiting_badge", render(&a, 100, 30));
    let fx = press(&mut a, KeyCode::Char('B'), KeyModifiers::SHIFT);
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::Awaiting)]);
    a.update(BcMsg::Awaiting(Ok(list.clone())).into());
    assert_snapshot!("approval_list", render(&a, 100, 30));
    press(&mut a, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(await_ui(&a).open.as_ref().map(|w| w.id), Some(list[0].id));
    assert_snapshot!("approval_detail", render(&a, 100, 30));
    // critical: the event's name, typed; a wrong name approves nothing
    assert!(press(&mut a, KeyCode::Char('a'), KeyModifiers::NONE).is_empty());
    assert_eq!(await_ui(&a).confirm, Some(Confirm::TypeName(String::new())));
    typ(&mut a, "Maison");
    assert!(press(&mut a, KeyCode::Enter, KeyModifiers::NONE).is_empty());
    assert!(render(&a, 100, 30).contains("the name does not match: not approved"));
    press(&mut a, KeyCode::Char('a'), KeyModifiers::NONE);
    typ(&mut a, "Maison Lumière Runway Show");
    let fx = press(&mut a, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::Approve(list[0].id))]);
    // someone else was faster: the conflict says who and when
    a.update(BcMsg::Awaiting(Ok(vec![list[1].clone()])).into());
    a.update(
        BcMsg::Decided(
            list[0].id,
            true,
            Ok(Box::new(decision(
                list[0].id,
                "conflict",
                "already approved by sam@ops at 21:40 (queued)",
            ))),
        )
        .into(),
    );
    assert_snapshot!("approval_conflict", render(&a, 100, 30));
    // back to the list: one left, the operator's own
    press(&mut a, KeyCode::Esc, KeyModifiers::NONE);
    press(&mut a, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(await_ui(&a).open.as_ref().map(|w| w.id), Some(list[1].id));
    assert!(press(&mut a, KeyCode::Char('a'), KeyModifiers::NONE).is_empty());
    assert_eq!(await_ui(&a).confirm, None, "no way to approve one's own");
    let screen = render(&a, 100, 30);
    assert!(
        screen.contains("you triggered this broadcast: the four-eyes rule needs a different"),
        "{screen}"
    );
    // but its author may cancel it
    press(&mut a, KeyCode::Char('x'), KeyModifiers::NONE);
    let fx = press(&mut a, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(
        fx,
        vec![Effect::Broadcast(BcEffect::CancelWaiting(list[1].id))]
    );
}

/// An approval that goes through opens the progress view of that broadcast.
#[test]
fn approval_opens_progress() {
    let mut a = app();
    let w = waiting(3, "urgent", "alex@night-desk", 5);
    a.update(BcMsg::Awaiting(Ok(vec![w.clone()])).into());
    press(&mut a, KeyCode::Char('B'), KeyModifiers::SHIFT);
    press(&mut a, KeyCode::Enter, KeyModifiers::NONE);
    press(&mut a, KeyCode::Char('a'), KeyModifiers::NONE);
    assert_eq!(
        await_ui(&a).confirm,
        Some(Confirm::Approve),
        "urgent: y / n"
    );
    let fx = press(&mut a, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(fx, vec![Effect::Broadcast(BcEffect::Approve(w.id))]);
    let fx = a.update(
        BcMsg::Decided(
            w.id,
            true,
            Ok(Box::new(decision(
                w.id,
                "ok",
                "broadcast approved by maria@control-room: 824 deliveries queued",
            ))),
        )
        .into(),
    );
    assert!(
        fx.contains(&Effect::Broadcast(BcEffect::Progress(w.id))),
        "{fx:?}"
    );
    assert_eq!(ui(&a).broadcast_id(), Some(w.id));
    assert_eq!(ui(&a).stage, Stage::Progress);
    // read-only consoles see the list but cannot approve
    let mut r = app();
    r.mode = Mode::ReadOnly;
    r.update(BcMsg::Awaiting(Ok(vec![w.clone()])).into());
    press(&mut r, KeyCode::Char('B'), KeyModifiers::SHIFT);
    press(&mut r, KeyCode::Enter, KeyModifiers::NONE);
    assert!(press(&mut r, KeyCode::Char('a'), KeyModifiers::NONE).is_empty());
    assert_eq!(
        await_ui(&r).note.as_deref(),
        Some("read-only: approving is disabled")
    );
}
