//! A read replica (`read_url`, a hot standby): the views read there, so that many consoles do
//! not load the primary the workers write to. Actions, their conditional updates and their
//! audit rows always go to the primary (they never come through here).
//!
//! After an operator acts, the console must never show the acted rows in their old state: the
//! [`Reader`] notes the primary's WAL position after the action committed, and reads from the
//! primary until the replica has replayed past it (`pg_last_wal_replay_lsn()`), then goes back
//! to the replica. A replica that does not answer is left alone for [`RETRY`] while the views
//! read the primary; it comes back on its own.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Store;
use crate::domain::refresh::ReadFrom;

/// How long a replica that failed is left alone before it is tried again.
pub const RETRY: Duration = Duration::from_secs(5);

#[derive(Default, Debug)]
struct State {
    /// The primary's WAL position after the last action: read the primary until the replica
    /// has replayed this far.
    wait_for: Option<String>,
    /// The replica failed: not before this.
    down_until: Option<Instant>,
    /// Writes on their way to the primary: until they have committed and their WAL position
    /// is known, the views read the primary (a read started meanwhile could miss them).
    writing: u32,
    /// The WAL position after a write could not be read: the primary until then.
    primary_until: Option<Instant>,
}

/// Where the views read: the replica when there is one and it is fresh enough, else the
/// primary. Cheap to clone (one shared state).
#[derive(Clone)]
pub struct Reader {
    primary: Store,
    replica: Option<Store>,
    state: Arc<Mutex<State>>,
}

impl Reader {
    pub fn new(primary: Store, replica: Option<Store>) -> Reader {
        Reader {
            primary,
            replica,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The store this read goes to, and where that is (None without a replica). One small
    /// query on the replica: how far it has replayed, and its lag.
    pub async fn pick(&self) -> (&Store, Option<ReadFrom>) {
        let Some(replica) = &self.replica else {
            return (&self.primary, None);
        };
        let wait_for = {
            let s = self.lock();
            if s.down_until.is_some_and(|t| Instant::now() < t) {
                return (&self.primary, Some(ReadFrom::ReplicaDown));
            }
            if s.writing > 0 || s.primary_until.is_some_and(|t| Instant::now() < t) {
                return (&self.primary, Some(ReadFrom::CatchingUp));
            }
            s.wait_for.clone()
        };
        let r = replica.replay_state(wait_for.clone()).await;
        match r {
            Err(e) => {
                tracing::warn!(error = %e, "the read replica does not answer: reading the primary");
                self.down();
                (&self.primary, Some(ReadFrom::ReplicaDown))
            }
            Ok((lag_s, true)) => {
                let mut s = self.lock();
                if s.wait_for == wait_for {
                    s.wait_for = None;
                }
                s.down_until = None;
                (replica, Some(ReadFrom::Replica { lag_s }))
            }
            Ok(_) => (&self.primary, Some(ReadFrom::CatchingUp)),
        }
    }

    /// A read on the replica failed: read the primary for [`RETRY`].
    pub fn down(&self) {
        self.lock().down_until = Some(Instant::now() + RETRY);
    }

    /// Something is about to be written on the primary (an action, a broadcast): the views
    /// read the primary from now until [`Reader::written`].
    pub fn writing(&self) {
        if self.replica.is_some() {
            self.lock().writing += 1;
        }
    }

    /// It was written (or failed): until the replica has replayed the primary's WAL position
    /// now, the views read the primary.
    pub async fn written(&self) {
        if self.replica.is_none() {
            return;
        }
        let lsn = self.primary.wal_position().await;
        let mut s = self.lock();
        s.writing = s.writing.saturating_sub(1);
        match lsn {
            Ok(lsn) => s.wait_for = lsn,
            Err(e) => {
                // not knowing how far to wait: the primary for a while
                tracing::warn!(error = %e, "cannot read the primary's WAL position");
                s.primary_until = Some(Instant::now() + RETRY);
            }
        }
    }

    /// The primary (actions, and reads that must see the latest).
    pub fn primary(&self) -> &Store {
        &self.primary
    }
}
