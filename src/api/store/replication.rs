//! What a read replica says about itself, and where the primary's WAL is (for
//! `api::replica`).

use super::Store;
use crate::api::db::Val;

impl Store {
    /// On a hot standby: its lag in seconds (0 when it has replayed all it has received), and
    /// whether it has replayed past `lsn` (true without one).
    pub async fn replay_state(&self, lsn: Option<String>) -> Result<(f64, bool), sqlx::Error> {
        let r = self
            .db
            .fetch_one(
                "SELECT CAST(CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                   ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) \
                 END AS double precision) AS lag, \
                 ($1::text IS NULL OR pg_last_wal_replay_lsn() >= CAST($1::text AS pg_lsn)) AS caught_up",
                &[Val::OptText(lsn)],
            )
            .await?;
        Ok((
            r.f64("lag").unwrap_or(0.0).max(0.0),
            r.bool("caught_up").unwrap_or(false),
        ))
    }

    /// On the primary: where its WAL is now (after a commit: at or past that commit).
    pub async fn wal_position(&self) -> Result<Option<String>, sqlx::Error> {
        Ok(self
            .db
            .fetch_one("SELECT CAST(pg_current_wal_lsn() AS text) AS lsn", &[])
            .await?
            .text("lsn"))
    }
}
