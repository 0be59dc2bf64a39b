//! Windowed run counts from the per-minute rollup (`run_minutes`, migration 0005, kept by
//! triggers): the whole minutes of a window come from at most 60 buckets per workflow and
//! status, the partial first minute from the base table (an indexed range of under a minute),
//! so the result is exact and its cost follows the rate of runs, not the size of the history.

use chrono::{DurationRound, TimeDelta};

use crate::api::db::Val;
use crate::model::Ts;

/// Which timestamp a window is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunClock {
    /// runs started in the window, by their current status
    Started,
    /// runs finished (completed_at) in the window, by status
    Finished,
}

/// The minute after `since`'s minute: buckets from here on lie entirely inside the window;
/// `[since, edge)` is read from the base table.
pub fn edge(since: Ts) -> Ts {
    since.duration_trunc(TimeDelta::minutes(1)).unwrap_or(since) + TimeDelta::minutes(1)
}

/// A derived table `(workflow_id, status, n)` of the runs with `clock` at or after `$1`
/// (`$2` is [`edge`], `$3` the end of time), optionally only `status = 'only'`; sum `n` to count. Binds: [`binds`].
pub fn runs_since(clock: RunClock, only: Option<&str>) -> String {
    let (kind, col) = match clock {
        RunClock::Started => ("started", "started_at"),
        RunClock::Finished => ("finished", "completed_at"),
    };
    let st = only.map_or(String::new(), |s| format!(" AND status = '{s}'"));
    format!(
        "(SELECT workflow_id, status, n FROM run_minutes \
           WHERE kind = '{kind}' AND minute >= $2 AND minute <= $3{st} \
         UNION ALL \
         SELECT workflow_id, status, 1 AS n FROM workflow_executions \
           WHERE {col} >= $1 AND {col} < $2{st})"
    )
}

/// A derived table `(kind, workflow_id, status, n)` of the runs started (`kind = 'started'`) and
/// finished (`'finished'`) at or after `$1`: both clocks in one read of the rollup, for a
/// refresh that needs both. Binds: [`binds`].
pub fn runs_both() -> &'static str {
    "(SELECT kind, workflow_id, status, n FROM run_minutes \
       WHERE kind IN ('started', 'finished') AND minute >= $2 AND minute <= $3 \
     UNION ALL \
     SELECT 'started' AS kind, workflow_id, status, 1 AS n FROM workflow_executions \
       WHERE started_at >= $1 AND started_at < $2 \
     UNION ALL \
     SELECT 'finished' AS kind, workflow_id, status, 1 AS n FROM workflow_executions \
       WHERE completed_at >= $1 AND completed_at < $2)"
}

/// `$3` is the end of time: the bucket range is written two-sided so that a generic plan
/// (Postgres switches to one after five runs of a prepared statement, not knowing `$2` is
/// recent) still estimates a narrow range and walks the primary key instead of the table.
pub fn binds(since: Ts) -> [Val; 3] {
    [Val::Ts(since), Val::Ts(edge(since)), Val::Ts(far_future())]
}

fn far_future() -> Ts {
    chrono::DateTime::from_timestamp(253_402_214_400, 0).expect("9999-12-31")
}
