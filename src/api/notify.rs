//! Postgres LISTEN/NOTIFY: the triggers send `{"table", "op"}` on channel `opsdeck` (at most
//! once per table per quarter second: migration 0010); this task forwards the table names.
//! Through a shared listener (`opsdeck relay`) see [`super::relay`]. `PgListener` reconnects by itself; while it is down the
//! console polls (the state is told through [`Listen`]).
//!
//! At start a self-test sends one NOTIFY through the store the console reads from and waits
//! for it on the listener: LISTEN "works" through a transaction pooler or a proxy that drops
//! notifications, but nothing ever arrives. Unheard, the listener stops and the console polls
//! (`Listen::Unheard`), and the log says why.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

use crate::api::store::Store;
use crate::domain::refresh::Listen;

pub const CHANNEL: &str = "opsdeck";

/// The table name of the self-test's NOTIFY (no view shows it; every listener ignores it).
pub const SELF_TEST: &str = "opsdeck_selftest";

/// How long the self-test waits for its own NOTIFY.
pub const SELF_TEST_WAIT: Duration = Duration::from_secs(3);

/// What the listener reports to the event loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A row of `table` changed.
    Changed(String),
    State(Listen),
}

/// The table named in a NOTIFY payload (`{"table": "...", ...}`); None if it is not ours.
pub fn table_of(payload: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    let t = v.get("table")?.as_str()?;
    // table names are short identifiers; anything else is not from our triggers
    (t != SELF_TEST && t.len() <= 63 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| t.to_string())
}

/// Sends a NOTIFY through `echo` and waits for it on `l`. The changes that arrive meanwhile
/// are kept for the caller; an error says why the test failed.
async fn self_test(l: &mut PgListener, echo: &Store) -> Result<Vec<String>, String> {
    let token = uuid::Uuid::new_v4().to_string();
    echo.notify_self_test(CHANNEL, SELF_TEST, &token)
        .await
        .map_err(|e| format!("cannot send the test NOTIFY: {e}"))?;
    let deadline = tokio::time::Instant::now() + SELF_TEST_WAIT;
    let mut changed = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, l.recv()).await {
            Err(_) => {
                return Err(format!(
                    "LISTEN was accepted but the test NOTIFY did not come back within {} s \
                     (a transaction pooler or a proxy in the way?)",
                    SELF_TEST_WAIT.as_secs()
                ));
            }
            Ok(Err(e)) => return Err(format!("the listener failed: {e}")),
            Ok(Ok(n)) if n.payload().contains(&token) => return Ok(changed),
            Ok(Ok(n)) => changed.extend(table_of(n.payload())),
        }
    }
}

/// Listens on `pool` until the receiver is dropped; the first time, it checks a NOTIFY sent
/// through `echo` comes back (see the module). Never returns an error: on failure it reports
/// `Listen::Down`, waits (1, 2, 4 … 30 s) and tries again; an unheard self-test ends it.
pub async fn listen(pool: PgPool, echo: Store, tx: mpsc::Sender<Note>) {
    let mut backoff = 1u64;
    let mut tested = false;
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut l) => {
                if let Err(e) = l.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "LISTEN failed");
                } else {
                    if !tested {
                        tested = true;
                        match self_test(&mut l, &echo).await {
                            Ok(changed) => {
                                for t in changed {
                                    if tx.send(Note::Changed(t)).await.is_err() {
                                        return;
                                    }
                                }
                            }
                            Err(why) => {
                                tracing::warn!("NOTIFY self-test failed: {why}; the console polls");
                                let _ = tx.send(Note::State(Listen::Unheard)).await;
                                return;
                            }
                        }
                    }
                    backoff = 1;
                    if tx.send(Note::State(Listen::Up)).await.is_err() {
                        return;
                    }
                    loop {
                        // try_recv: None means the connection dropped (PgListener reconnects on
                        // the next call; we report it so the console polls meanwhile)
                        match l.try_recv().await {
                            Ok(Some(n)) => {
                                if let Some(t) = table_of(n.payload())
                                    && tx.send(Note::Changed(t)).await.is_err()
                                {
                                    return;
                                }
                            }
                            Ok(None) => {
                                tracing::info!("notify connection lost; reconnecting");
                                if tx.send(Note::State(Listen::Down)).await.is_err() {
                                    return;
                                }
                                // the next try_recv reconnects and re-LISTENs
                                match l.recv().await {
                                    Ok(n) => {
                                        if tx.send(Note::State(Listen::Up)).await.is_err() {
                                            return;
                                        }
                                        if let Some(t) = table_of(n.payload())
                                            && tx.send(Note::Changed(t)).await.is_err()
                                        {
                                            return;
                                        }
                                    }
                                    Err(e) => {
                                        tracing::warn!(error = %e, "notify reconnect failed");
                                        break;
                                    }
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "notify receive failed");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "notify connect failed"),
        }
        if tx.send(Note::State(Listen::Down)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(backoff)).await;
        backoff = (backoff * 2).min(30);
    }
}
