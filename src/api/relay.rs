//! The shared listener: `opsdeck relay` holds the one LISTEN connection a control room needs
//! and passes every notification on to the consoles that connect to it (`listen_url =
//! "opsdeck-relay://host:7433"`). Fifty consoles then hold one direct connection for live
//! updates instead of fifty, and their queries can all go through a transaction pooler.
//!
//! The protocol is lines over TCP, relay → console only: `opsdeck-relay 1` once, then
//! `n <payload>` per notification (the payload as Postgres sent it, with any line break made a
//! space), `up` / `down` as the relay's own LISTEN connection comes and goes, `lost` when this
//! console fell more than [`BACKLOG`] notifications behind (the console refreshes then), and
//! `ping` every [`PING`] (a console that hears nothing for [`SILENCE`] reconnects).
//! A notification carries a table's name and nothing of its rows, so the relay hands out no
//! data; it binds to 127.0.0.1 unless told otherwise.
//!
//! The console's NOTIFY self-test works through it unchanged: the console sends its NOTIFY
//! through its own database connection (a pooler is fine for sending) and waits for it here.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

use super::notify::{CHANNEL, Note, SELF_TEST_WAIT, table_of};
use crate::api::store::Store;
use crate::domain::refresh::Listen;

/// `listen_url`'s scheme for a relay.
pub const SCHEME: &str = "opsdeck-relay://";
/// The relay's default address.
pub const DEFAULT_BIND: &str = "127.0.0.1:7433";
/// Notifications a slow console may fall behind before it is told `lost`.
pub const BACKLOG: usize = 4096;
const HELLO: &str = "opsdeck-relay 1";
/// The relay says `ping` this often when it has nothing else to say...
pub const PING: Duration = Duration::from_secs(10);
/// ...and a console that hears nothing for this long takes it for gone and reconnects.
pub const SILENCE: Duration = Duration::from_secs(30);

/// `host:port` of an `opsdeck-relay://host:port` URL (None for any other URL).
pub fn address(url: &str) -> Option<Result<String, String>> {
    let rest = url.trim().strip_prefix(SCHEME)?;
    let addr = rest.trim_end_matches('/');
    Some(match addr.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => Ok(addr.to_string()),
        _ => Err(format!(
            "listen_url {url}: a relay's address is opsdeck-relay://host:port"
        )),
    })
}

#[derive(Clone, Debug)]
enum Line {
    Payload(String),
    Up,
    Down,
}

/// Runs the relay until the process ends: one LISTEN on `pool` (reconnecting with backoff
/// 1, 2, 4 … 30 s), every notification to every console connected to `bind`.
pub async fn serve(pool: PgPool, bind: TcpListener) -> anyhow::Result<()> {
    let (tx, _) = broadcast::channel::<Line>(BACKLOG);
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // the LISTEN task ends with this one (an aborted relay must give its connection back)
    let _listen = AbortOnDrop(tokio::spawn(listen(pool, tx.clone(), up.clone())));
    loop {
        let (sock, peer) = match bind.accept().await {
            Ok(a) => a,
            // out of file descriptors, a connection reset before it was taken: the relay
            // goes on for the consoles it has
            Err(e) => {
                tracing::warn!(error = %e, "cannot take a connection");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let rx = tx.subscribe();
        let is_up = up.load(std::sync::atomic::Ordering::SeqCst);
        tracing::info!(%peer, "a console connected");
        tokio::spawn(async move {
            if let Err(e) = feed(sock, rx, is_up).await {
                tracing::info!(%peer, error = %e, "a console left");
            }
        });
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn feed(
    mut sock: TcpStream,
    mut rx: broadcast::Receiver<Line>,
    up: bool,
) -> std::io::Result<()> {
    let _ = sock.set_nodelay(true);
    let first = format!("{HELLO}\n{}\n", if up { "up" } else { "down" });
    sock.write_all(first.as_bytes()).await?;
    let mut ping = tokio::time::interval(PING);
    ping.reset();
    loop {
        let line = tokio::select! {
            r = rx.recv() => match r {
                Ok(Line::Payload(p)) => format!("n {}\n", p.replace(['\n', '\r'], " ")),
                Ok(Line::Up) => "up\n".to_string(),
                Ok(Line::Down) => "down\n".to_string(),
                Err(broadcast::error::RecvError::Lagged(_)) => "lost\n".to_string(),
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            // a sign of life: the console knows the relay is there, and a console gone
            // without a word is found (the write fails)
            _ = ping.tick() => "ping\n".to_string(),
        };
        sock.write_all(line.as_bytes()).await?;
    }
}

async fn listen(
    pool: PgPool,
    tx: broadcast::Sender<Line>,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::Ordering;
    let mut backoff = 1u64;
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => {
                    backoff = 1;
                    up.store(true, Ordering::SeqCst);
                    let _ = tx.send(Line::Up);
                    tracing::info!("LISTEN {CHANNEL}: up");
                    loop {
                        match l.try_recv().await {
                            Ok(Some(n)) => {
                                let _ = tx.send(Line::Payload(n.payload().to_string()));
                            }
                            // the connection dropped: the next try_recv reconnects and
                            // re-LISTENs; the consoles poll meanwhile
                            Ok(None) => {
                                tracing::warn!("the LISTEN connection was lost; reconnecting");
                                up.store(false, Ordering::SeqCst);
                                let _ = tx.send(Line::Down);
                                match l.recv().await {
                                    Ok(n) => {
                                        up.store(true, Ordering::SeqCst);
                                        let _ = tx.send(Line::Up);
                                        let _ = tx.send(Line::Payload(n.payload().to_string()));
                                    }
                                    Err(e) => {
                                        tracing::warn!(error = %e, "reconnecting failed");
                                        break;
                                    }
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "LISTEN failed");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN failed"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot connect for LISTEN"),
        }
        up.store(false, Ordering::SeqCst);
        let _ = tx.send(Line::Down);
        tokio::time::sleep(Duration::from_secs(backoff)).await;
        backoff = (backoff * 2).min(30);
    }
}

/// The console's side: what `notify::listen` does, through a relay at `addr`. At the first
/// connection a NOTIFY sent through `echo` must come back within [`SELF_TEST_WAIT`], else the
/// console polls (`Listen::Unheard`). A relay that goes away is reported `Down` and tried
/// again with backoff; `down` from the relay (its LISTEN is lost) is reported the same way.
pub async fn follow(addr: String, echo: Store, tx: mpsc::Sender<Note>) {
    let mut backoff = 1u64;
    let mut tested = false;
    loop {
        match TcpStream::connect(&addr).await {
            Ok(sock) => {
                let mut lines = BufReader::new(sock).lines();
                match tokio::time::timeout(SELF_TEST_WAIT, lines.next_line()).await {
                    Ok(Ok(Some(h))) if h == HELLO => {
                        backoff = 1;
                        loop {
                            let line = match tokio::time::timeout(SILENCE, lines.next_line()).await
                            {
                                Ok(Ok(Some(l))) => l,
                                Ok(Ok(None)) | Ok(Err(_)) => {
                                    tracing::info!("the relay {addr} went away; reconnecting");
                                    break;
                                }
                                Err(_) => {
                                    tracing::warn!(
                                        "the relay {addr} said nothing for {} s; reconnecting",
                                        SILENCE.as_secs()
                                    );
                                    break;
                                }
                            };
                            let notes = match line.as_str() {
                                // the relay's LISTEN is up: the first time, the self-test
                                // (before it, a NOTIFY could pass unheard)
                                "up" if !tested => {
                                    tested = true;
                                    match self_test(&mut lines, &echo).await {
                                        Ok(changed) => changed
                                            .into_iter()
                                            .map(Note::Changed)
                                            .chain([Note::State(Listen::Up)])
                                            .collect(),
                                        Err(why) => {
                                            tracing::warn!(
                                                "NOTIFY self-test through the relay {addr} failed: {why}; the console polls"
                                            );
                                            let _ = tx.send(Note::State(Listen::Unheard)).await;
                                            return;
                                        }
                                    }
                                }
                                "up" => vec![Note::State(Listen::Up)],
                                "down" => vec![Note::State(Listen::Down)],
                                "ping" => vec![],
                                // fell behind: any table may have changed
                                "lost" => crate::domain::adopt::CONTRACT_TABLES
                                    .iter()
                                    .map(|t| Note::Changed(t.to_string()))
                                    .collect(),
                                l => l
                                    .strip_prefix("n ")
                                    .and_then(table_of)
                                    .map(Note::Changed)
                                    .into_iter()
                                    .collect(),
                            };
                            for n in notes {
                                if tx.send(n).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    Ok(Ok(other)) => {
                        tracing::warn!("{addr} is not an opsdeck relay (it said {other:?})");
                    }
                    _ => tracing::warn!("the relay {addr} did not greet in time"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot reach the relay {addr}"),
        }
        if tx.send(Note::State(Listen::Down)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(backoff)).await;
        backoff = (backoff * 2).min(30);
    }
}

/// Sends a NOTIFY through `echo` and waits for it from the relay; the changes that arrive
/// meanwhile are kept for the caller.
async fn self_test(
    lines: &mut tokio::io::Lines<BufReader<TcpStream>>,
    echo: &Store,
) -> Result<Vec<String>, String> {
    let token = uuid::Uuid::new_v4().to_string();
    echo.notify_self_test(CHANNEL, super::notify::SELF_TEST, &token)
        .await
        .map_err(|e| format!("cannot send the test NOTIFY: {e}"))?;
    let deadline = tokio::time::Instant::now() + SELF_TEST_WAIT;
    let mut changed = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Err(_) => {
                return Err(format!(
                    "the test NOTIFY did not come back within {} s (is the relay on the same database?)",
                    SELF_TEST_WAIT.as_secs()
                ));
            }
            Ok(Err(e)) => return Err(format!("the relay failed: {e}")),
            Ok(Ok(None)) => return Err("the relay closed the connection".into()),
            Ok(Ok(Some(l))) => {
                if let Some(p) = l.strip_prefix("n ") {
                    if p.contains(&token) {
                        return Ok(changed);
                    }
                    changed.extend(table_of(p));
                }
            }
        }
    }
}
