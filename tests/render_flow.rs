//! The whole read path on real databases (Postgres and SQLite): rows in, `api::refresh` reads,
//! `Msg::Loaded` into `update`, a frame rendered, the numbers on screen.

mod common;

use chrono::{Duration, Utc};
use common::TestStore;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::api::db::Val;
use opsdeck::domain::mode::Mode;
use opsdeck::keymap::Keymap;
use opsdeck::state::{App, Effect, Msg};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use uuid::Uuid;

/// Runs the effects' reads against the store and feeds the results back, until none are left.
async fn settle(s: &TestStore, a: &mut App, mut fx: Vec<Effect>) {
    while let Some(e) = fx.pop() {
        if let Effect::Load(req) = e {
            let reader = opsdeck::api::replica::Reader::new(s.store.clone(), None);
            let msg = opsdeck::app::effects::load(&reader, req).await;
            if let Msg::Loaded(l) = &msg {
                assert!(l.result.is_ok(), "read failed: {:?}", l.result);
            }
            fx.extend(a.update(msg));
        }
    }
}

async fn key(s: &TestStore, a: &mut App, c: char) {
    let fx = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )));
    settle(s, a, fx).await;
}

fn screen(a: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    t.draw(|f| opsdeck::views::draw(f, a)).expect("draw");
    t.backend().to_string()
}

async fn exec(s: &TestStore, sql: &str, args: &[Val]) {
    s.db.execute(sql, args).await.expect(sql);
}

async fn flow_body(s: TestStore) {
    let now = Utc::now();
    let wf = Uuid::new_v4();
    exec(
        &s,
        "INSERT INTO workflows (id, name, trigger_type, status, paused_by, pause_reason) VALUES ($1, $2, 'webhook', 'paused', 'maria', 'rate limit')",
        &[Val::Uuid(wf), Val::Text("flow-\u{1b}[31mtickets".into())],
    )
    .await;
    for (i, status) in ["completed", "completed", "completed", "failed", "running"]
        .iter()
        .enumerate()
    {
        let started = now - Duration::minutes(10 + i as i64);
        let done = (*status != "running").then(|| started + Duration::seconds(2));
        exec(
            &s,
            "INSERT INTO workflow_executions (id, workflow_id, status, started_at, completed_at, duration_ms, steps_total, steps_completed) VALUES ($1, $2, $3, $4, $5, $6, 4, 2)",
            &[
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(wf),
                Val::Text(status.to_string()),
                Val::Ts(started),
                Val::OptTs(done),
                Val::OptI64(done.map(|_| 2000)),
            ],
        )
        .await;
    }
    for (ty, status) in [
        ("email.send", "pending"),
        ("email.send", "pending"),
        ("email.send", "retrying"),
        ("image.process", "processing"),
    ] {
        exec(
            &s,
            "INSERT INTO job_queue (id, job_type, status, created_at) VALUES ($1, $2, $3, $4)",
            &[
                Val::Uuid(Uuid::new_v4()),
                Val::Text(ty.into()),
                Val::Text(status.into()),
                Val::Ts(now - Duration::minutes(3)),
            ],
        )
        .await;
    }
    exec(
        &s,
        "INSERT INTO events (id, name, venue_name, start_at, capacity, tickets_sold) VALUES ($1, 'Flow Gala', 'Hall 1', $2, 200, 184)",
        &[Val::Uuid(Uuid::new_v4()), Val::Ts(now + Duration::hours(5))],
    )
    .await;

    let mut a = App::new(
        Mode::ReadOnly,
        Theme::builtin("mono").expect("theme"),
        Keymap::default_map(),
        "t".into(),
        "test/db".into(),
        now,
    );
    let fx = a.start();
    settle(&s, &mut a, fx).await;
    let o = screen(&a);
    // depth = pending 2 + retrying 1; success 3 of 4 finished; 5 started / 60 min
    assert!(o.contains("depth 3 ● OK"), "{o}");
    assert!(o.contains("2 pending · 1 retrying · 0 failed"), "{o}");
    assert!(o.contains("1 processing"), "{o}");
    assert!(o.contains("success 75.0% · failed 1"), "{o}");
    assert!(o.contains("0.08 runs/min · 5 started"), "{o}");
    assert!(o.contains("1 paused wf"), "{o}");
    assert!(o.contains("READ-ONLY"), "{o}");
    assert!(!o.contains('\u{1b}'), "escape reached the screen");

    key(&s, &mut a, '2').await;
    let w = screen(&a);
    assert!(w.contains("flow-tickets"), "{w}");
    assert!(w.contains("⏸ paused"), "{w}");
    assert!(w.contains("75.0%"), "{w}");
    assert!(w.contains("paused by maria"), "{w}");

    key(&s, &mut a, '4').await;
    let q = screen(&a);
    assert!(q.contains("Jobs 4"), "{q}");
    assert!(q.contains("email.send"), "{q}");

    key(&s, &mut a, '6').await;
    let c = screen(&a);
    assert!(c.contains("Flow Gala"), "{c}");
    assert!(c.contains("184/200"), "{c}");
    assert!(c.contains("▲ WAITLIST 90%"), "{c}");

    // the Runs view with a text filter goes to the database
    key(&s, &mut a, '3').await;
    assert!(screen(&a).contains("Runs 5"));
    key(&s, &mut a, '/').await;
    for ch in "status:failed".chars() {
        key(&s, &mut a, ch).await;
    }
    let seq = a.runs.list.filter.seq;
    let fx = a.update(Msg::FilterSettled(
        opsdeck::domain::refresh::ViewId::Runs,
        seq,
    ));
    settle(&s, &mut a, fx).await;
    let r = screen(&a);
    assert!(r.contains("Runs 1"), "{r}");
    assert!(r.contains("failed"), "{r}");
}

store_test!(reads_render_the_store_numbers, flow_body);
