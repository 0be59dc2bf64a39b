//! `opsdeck bench refresh`: fill a fresh Postgres database with a season (or an event-day
//! burst) of history, then time the console's reads against the seeds' own monitoring SQL.
//!
//! The fill (set-based, `generate_series`): N runs (~10 % failed; open states only in the last
//! 10 minutes) with 2 step logs each, N/10 errors (the failed runs), N jobs, 40 workflows,
//! 50 events with N/4 tickets between them and two capacity alerts each, N/100 approvals (20
//! pending) with rate negotiations, a reconciliation run a day with N/100 discrepancies (10 %
//! open), 20 broadcasts, a metrics row a minute and N/1000 operator actions. Timestamps are
//! uniform over the last 30 days (`season`) or the last 24 h (`burst`).
//!
//! What is timed, each at least 50 times after a warm-up: `Store::overview` (the refresh the
//! console does every poll), each view's first page through `api::refresh::load`, and the
//! seeds' SQL: seed 000 Phase 8's dashboard query (per workflow and status COUNT, AVG, MAX, MIN
//! and PERCENTILE_CONT(0.95) over runs started in the last 24 h) plus Phase 3's per-sale
//! capacity check (COUNT of an event's sold tickets).
//!
//! `opsdeck bench load` (see [`load`]): the consoles' refresh idle and then while the simulated
//! engine runs at `--rate` jobs/s and an operator retries failed jobs in bulk; the ratio, the
//! engine's throughput and the deadlocks Postgres counted.

pub mod adopt;
pub mod cluster;
pub mod consoles;
pub mod fill;
pub mod load;
pub mod measure;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Season,
    Burst,
}
