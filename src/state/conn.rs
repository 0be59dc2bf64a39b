//! The database connection as the console sees it.

use crate::domain::model::Ts;

/// Connection state, judged by the reads: a failed read = lost, the next good one = back.
#[derive(Debug, Clone, PartialEq)]
pub enum Conn {
    Connecting,
    Connected,
    Lost {
        since: Ts,
        /// Failed reads in a row.
        attempt: u32,
        /// When the next read is tried.
        retry_at: Ts,
        error: String,
    },
}

impl Conn {
    pub fn is_lost(&self) -> bool {
        matches!(self, Conn::Lost { .. })
    }

    /// Backoff after `attempt` failures in a row: 1, 2, 4, … 30 s.
    pub fn backoff_secs(attempt: u32) -> i64 {
        1i64 << attempt.saturating_sub(1).min(5).min(30)
    }

    /// A read failed at `now`.
    pub fn failed(&mut self, now: Ts, error: String) {
        let (since, attempt) = match self {
            Conn::Lost { since, attempt, .. } => (*since, *attempt + 1),
            _ => (now, 1),
        };
        let secs = Conn::backoff_secs(attempt).min(30);
        *self = Conn::Lost {
            since,
            attempt,
            retry_at: now + chrono::Duration::seconds(secs),
            error,
        };
    }
}
