//! Lists never fetch more text than a row shows (issue 20): a job with a 1 MB error and a
//! 1 MB payload costs the queue list 512 characters of its error and no payload; opening it
//! reads the job again, with the whole payload and the error up to 64 KiB, saying how much
//! more there is. The same for a run's error and context. Postgres and SQLite.

mod common;

use chrono::Utc;
use common::TestStore;
use opsdeck::api::db::Val;
use opsdeck::domain::model::ListFilter;
use opsdeck::domain::refresh::{LoadKind, LoadReq, Payload, ViewId};
use uuid::Uuid;

const MB: usize = 1 << 20;

async fn body(s: TestStore) {
    let big_error = "E".repeat(MB);
    let big_payload = serde_json::json!({ "blob": "p".repeat(MB) }).to_string();
    let wf = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO workflows (id, name, trigger_type, status) VALUES ($1, 'Hostile', 'webhook', 'active')",
        &[Val::Uuid(wf)],
    )
    .await
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = Uuid::new_v4();
        ids.push(id);
        s.db.execute(
            "INSERT INTO job_queue (id, job_type, payload, status, error_message, workflow_id, created_at) \
             VALUES ($1, 'email.send', $2, 'failed', $3, $4, $5)",
            &[
                Val::Uuid(id),
                Val::Json(serde_json::from_str(&big_payload).unwrap()),
                Val::Text(big_error.clone()),
                Val::Uuid(wf),
                Val::Ts(Utc::now() - chrono::Duration::seconds(i)),
            ],
        )
        .await
        .unwrap();
    }
    // a small one: whole in the list
    let small = Uuid::new_v4();
    s.db.execute(
        "INSERT INTO job_queue (id, job_type, payload, status, error_message, workflow_id, created_at) \
         VALUES ($1, 'sms.send', $2, 'failed', 'bad number', $3, $4)",
        &[
            Val::Uuid(small),
            Val::Json(serde_json::json!({"to": "+33"})),
            Val::Uuid(wf),
            Val::Ts(Utc::now() - chrono::Duration::hours(1)),
        ],
    )
    .await
    .unwrap();

    let jobs = s.jobs(&ListFilter::page(100)).await.unwrap();
    assert_eq!(jobs.len(), 6);
    for j in jobs.iter().filter(|j| j.id != small) {
        let e = j.error_message.as_deref().unwrap();
        assert!(e.starts_with(&"E".repeat(512)), "{}", &e[..40]);
        assert!(
            e.ends_with(&format!(" … {} more characters", MB - 512)),
            "{}",
            &e[500..]
        );
        assert_eq!(
            j.payload,
            serde_json::Value::Null,
            "a 1 MB payload stays out of the list"
        );
    }
    let sm = jobs.iter().find(|j| j.id == small).unwrap();
    assert_eq!(sm.error_message.as_deref(), Some("bad number"));
    assert_eq!(sm.payload["to"], "+33");

    // the console's detail read: the whole payload, the error up to 64 KiB
    let req = LoadReq {
        view: ViewId::Queue,
        kind: LoadKind::Detail,
        filter: Default::default(),
        id: Some(ids[0]),
        now: Utc::now(),
        seq: 0,
    };
    let Payload::JobDetail(Some(j)) = opsdeck::api::refresh::load(&s, &req).await.unwrap() else {
        panic!("a job detail");
    };
    assert_eq!(j.payload["blob"].as_str().map(str::len), Some(MB));
    let e = j.error_message.unwrap();
    assert!(e.starts_with(&"E".repeat(65_536)));
    assert!(e.ends_with(&format!(" … {} more characters", MB - 65_536)));

    // the state: opening the job asks for that read, and the detail shows it
    let mut a = opsdeck::state::App::new(
        opsdeck::domain::mode::Mode::ReadOnly,
        opsdeck::theme::Theme::builtin("default").unwrap(),
        opsdeck::keymap::Keymap::default_map(),
        "ana".into(),
        "db".into(),
        Utc::now(),
    );
    a.start();
    let fx = a.switch(ViewId::Queue);
    let reader = opsdeck::api::replica::Reader::new(s.store.clone(), None);
    for e in fx {
        if let opsdeck::state::Effect::Load(r) = e {
            a.update(opsdeck::app::effects::load(&reader, r).await);
        }
    }
    let fx = a.update(opsdeck::state::Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    )));
    let detail: Vec<LoadReq> = fx
        .into_iter()
        .filter_map(|e| match e {
            opsdeck::state::Effect::Load(r) if r.kind == LoadKind::Detail => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(detail.len(), 1, "opening a job reads it in full");
    let open = detail[0].id.unwrap();
    assert_eq!(open, ids[0], "the newest job is selected");
    assert_eq!(
        a.queue.detail_job().map(|j| j.payload.is_null()),
        Some(true)
    );
    a.update(opsdeck::app::effects::load(&reader, detail[0].clone()).await);
    let j = a.queue.detail_job().unwrap();
    assert_eq!(j.id, open);
    assert!(!j.payload.is_null(), "the detail holds the whole payload");
}

store_test!(lists_cut_text_details_read_it, body);
