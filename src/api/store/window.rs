//! Windows over the per-minute rollups kept by triggers: `run_minutes` (migration 0005, runs
//! per workflow and status), `job_minutes` (0006, completed jobs) and `run_totals` (0008, runs
//! per status, all workflows).
//!
//! A window starts on a whole minute: "the last hour" counts from the start of the minute an
//! hour ago (60 to 61 minutes, the current minute included). Whole buckets make every count
//! exact for that window, and its cost is the number of buckets (at most 61 per key for an
//! hour), not the number of rows: no base-table read for a partial first minute, which on an
//! event day is hundreds of rows fetched from pages the workers are writing.

use chrono::{DurationRound, TimeDelta};

use crate::api::db::Val;
use crate::domain::model::Ts;

/// The start of the window that covers `since`: the start of its minute.
pub fn start(since: Ts) -> Ts {
    since.duration_trunc(TimeDelta::minutes(1)).unwrap_or(since)
}

/// A derived table `(kind, workflow_id, status, n)` of the runs started (`kind = 'started'`, by
/// their current status) and finished (`'finished'`, by `completed_at`) in the window: both
/// clocks in one read of the rollup. Sum `n` to count. Binds: [`binds`].
pub fn runs_both() -> &'static str {
    "(SELECT kind, workflow_id, status, n FROM run_minutes \
       WHERE kind IN ('started', 'finished') AND minute >= $1 AND minute <= $2)"
}

/// `$1` is the window's [`start`], `$2` the end of time: the bucket range is written two-sided
/// so that a generic plan (Postgres switches to one after five runs of a prepared statement,
/// not knowing `$1` is recent) still estimates a narrow range and walks the primary key
/// instead of the table.
pub fn binds(since: Ts) -> [Val; 2] {
    [Val::Ts(start(since)), Val::Ts(far_future())]
}

fn far_future() -> Ts {
    chrono::DateTime::from_timestamp(253_402_214_400, 0).expect("9999-12-31")
}
