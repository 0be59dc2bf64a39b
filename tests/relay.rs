//! The shared listener (`opsdeck relay`) on real Postgres: one LISTEN connection for many
//! consoles; every console hears its own self-test and every change; a lost LISTEN connection
//! is reported down and comes back; the real binary serves consoles and refuses a transaction
//! pooler.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::cli::{opsdeck, text, url_of};
use opsdeck::api::Store;
use opsdeck::api::notify::Note;
use opsdeck::api::relay;
use opsdeck::domain::refresh::Listen;
use tokio::sync::mpsc;

const FAILED_JOB: &str = "INSERT INTO job_queue (job_type, status, attempts, error_message) \
                          VALUES ('email.send', 'failed', 3, 'SMTP 550')";

/// Waits for a note that `want` accepts, skipping others.
async fn until(rx: &mut mpsc::Receiver<Note>, what: &str, want: impl Fn(&Note) -> bool) {
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Some(n)) if want(&n) => return,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the follower ended before {what}"),
            Err(_) => panic!("no {what} within 20 s"),
        }
    }
}

fn changed(t: &'static str) -> impl Fn(&Note) -> bool {
    move |n| *n == Note::Changed(t.into())
}

async fn listeners(s: &Store) -> i64 {
    s.db.fetch_one(
        "SELECT count(*)::bigint AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        &[],
    )
    .await
    .expect("pg_stat_activity")
    .n("n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_listen_serves_every_console_and_comes_back() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    let bind = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = bind.local_addr().expect("addr").to_string();
    let relay_store = Store::open(&t.target, 1).await.expect("relay store");
    let pool = relay_store.db.pg_pool().cloned().expect("postgres");
    let server = tokio::spawn(relay::serve(pool, bind));

    // three consoles follow it; each passes its self-test (a NOTIFY sent through its own store)
    let mut rxs = Vec::new();
    for _ in 0..3 {
        let (tx, mut rx) = mpsc::channel(1024);
        tokio::spawn(relay::follow(addr.clone(), t.store.clone(), tx));
        until(&mut rx, "the self-test and Up", |n| {
            *n == Note::State(Listen::Up)
        })
        .await;
        rxs.push(rx);
    }
    assert_eq!(listeners(&t).await, 1, "one LISTEN for three consoles");
    t.db.execute(FAILED_JOB, &[]).await.expect("a writer");
    for rx in &mut rxs {
        until(rx, "the job's notification", changed("job_queue")).await;
    }

    // the relay's LISTEN connection is killed: the consoles hear it down, then up again
    t.db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        &[],
    )
    .await
    .expect("terminate the relay's LISTEN");
    // the relay notices when it next reads: a change wakes it
    t.db.execute(FAILED_JOB, &[]).await.expect("a writer");
    for rx in &mut rxs {
        until(rx, "Down", |n| *n == Note::State(Listen::Down)).await;
    }
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut heard = vec![false; rxs.len()];
    // keep writing until every console has heard a change after coming back
    while heard.iter().any(|h| !h) {
        assert!(tokio::time::Instant::now() < end, "no change heard again");
        tokio::time::sleep(Duration::from_millis(300)).await;
        t.db.execute(FAILED_JOB, &[]).await.expect("a writer");
        for (i, rx) in rxs.iter_mut().enumerate() {
            while let Ok(n) = rx.try_recv() {
                heard[i] |= n == Note::Changed("job_queue".into());
            }
        }
    }
    assert_eq!(listeners(&t).await, 1, "one LISTEN again");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_relays_and_refuses_a_transaction_pooler() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    let url = url_of(&t);

    let o = opsdeck(
        &[
            "relay",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &format!("{url}?pooler=transaction"),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("LISTEN cannot work through a transaction pooler"),
        "{}",
        text(&o)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args([
            "relay",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &url,
        ])
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the relay");
    // read its first line, then close its stderr, as `opsdeck relay 2>&1 | head -1` would: a
    // relay whose log reader went away must go on (it panicked at its next log line once)
    let mut first = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut first)
        .expect("its first line");
    assert!(
        first.contains(&format!(
            "listen_url = \"opsdeck-relay://127.0.0.1:{port}\""
        )),
        "{first}"
    );
    let (tx, mut rx) = mpsc::channel(1024);
    let follower = tokio::spawn(relay::follow(
        format!("127.0.0.1:{port}"),
        t.store.clone(),
        tx,
    ));
    until(&mut rx, "Up through the binary", |n| {
        *n == Note::State(Listen::Up)
    })
    .await;
    t.db.execute(FAILED_JOB, &[]).await.expect("a writer");
    until(&mut rx, "the job's notification", changed("job_queue")).await;
    follower.abort();
    let _ = child.kill();
    let _ = child.wait();
}

/// A console whose relay cannot be reached polls at its own pace: the listener reports Down at
/// every retry (1, 2, 4 … s), and each report used to restart the poll timer, so a 2 s poll
/// ran every 3–4 s and later every 8, 16 s (found walking the console in tmux).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_whose_relay_is_gone_polls_at_its_pace() {
    let Some(t) = common::pg_store_unmigrated().await else {
        return;
    };
    let t = common::migrated(t).await;
    // a port nobody listens on
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let opts = opsdeck::app::AppOptions {
        store: t.store.clone(),
        mode: opsdeck::domain::mode::Mode::Live,
        theme: opsdeck::theme::Theme::builtin("default").expect("theme"),
        keymap: opsdeck::keymap::Keymap::default_map(),
        refresh: Duration::from_secs(2),
        operator: "test".into(),
        db_label: "test".into(),
        broadcast: Default::default(),
        notice: None,
        n8n: None,
        n8n_queue: None,
        listen: opsdeck::app::ListenOn::Relay(addr),
        absent: Vec::new(),
        replica: None,
        currency: Default::default(),
        access: opsdeck::domain::role::Access::demo(),
        alerts: Default::default(),
        context: None,
        contexts: Default::default(),
    };
    let loads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = loads.clone();
    let frame = move |app: &opsdeck::state::App| {
        let mut v = seen.lock().unwrap();
        if let Some(at) = app.overview.loaded_at
            && v.last() != Some(&at)
        {
            v.push(at);
        }
        assert_ne!(app.listen, Listen::Up, "nothing to listen to");
        Ok(())
    };
    opsdeck::app::run_headless(
        opts,
        (160, 48),
        frame,
        tokio::time::sleep(Duration::from_secs(9)),
    )
    .await
    .expect("the console runs");
    let n = loads.lock().unwrap().len();
    // the first read and a poll every 2 s: 5 in 9 s (4 leaves room for a slow machine)
    assert!(n >= 4, "{n} reads in 9 s with a 2 s poll");
}
