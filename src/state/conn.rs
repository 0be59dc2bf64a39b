//! The database connection as the console sees it, and the reads in flight.

use std::collections::{HashMap, HashSet};

use crate::domain::model::Ts;
use crate::domain::refresh::{LoadKind, ViewId};

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

/// Reads in flight: one per (view, kind); a request while one is in flight runs again when
/// it lands (so a burst of changes costs at most one extra read).
#[derive(Debug, Default)]
pub struct Loads {
    pub seq: u64,
    pub inflight: HashMap<(ViewId, LoadKind), u64>,
    pub again: HashSet<(ViewId, LoadKind)>,
}

impl Loads {
    /// Registers a new read; None when one is already in flight (it is queued to run again).
    pub fn begin(&mut self, view: ViewId, kind: LoadKind) -> Option<u64> {
        if self.inflight.contains_key(&(view, kind)) {
            self.again.insert((view, kind));
            return None;
        }
        self.seq += 1;
        self.inflight.insert((view, kind), self.seq);
        Some(self.seq)
    }

    /// A read landed; returns whether it is the one in flight and whether to run it again.
    pub fn end(&mut self, view: ViewId, kind: LoadKind, seq: u64) -> (bool, bool) {
        if self.inflight.get(&(view, kind)) == Some(&seq) {
            self.inflight.remove(&(view, kind));
            (true, self.again.remove(&(view, kind)))
        } else {
            (false, false)
        }
    }

    pub fn busy(&self, view: ViewId) -> bool {
        self.inflight.keys().any(|(v, _)| *v == view)
    }
}
