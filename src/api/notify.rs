//! Postgres LISTEN/NOTIFY: the triggers send `{"table", "op", "id"}` on channel `opsdeck`;
//! this task forwards the table names. `PgListener` reconnects by itself; while it is down the
//! console polls (the state is told through [`Listen`]).

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

use crate::domain::refresh::Listen;

pub const CHANNEL: &str = "opsdeck";

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
    (t.len() <= 63 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| t.to_string())
}

/// Listens until the receiver is dropped. Never returns an error: on failure it reports
/// `Listen::Down`, waits (1, 2, 4 … 30 s) and tries again.
pub async fn listen(pool: PgPool, tx: mpsc::Sender<Note>) {
    let mut backoff = 1u64;
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut l) => {
                if let Err(e) = l.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "LISTEN failed");
                } else {
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
