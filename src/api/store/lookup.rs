//! The command line's look-ups: a row by a unique id prefix, by name, and the labels its
//! confirmations show. Small bounded reads (LIMIT 2: "one" or "several").

use uuid::Uuid;

use super::Store;
use crate::api::db::Val;
use crate::domain::action::Named;

/// The tables whose rows the command line names by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTable {
    Jobs,
    Runs,
    Workflows,
    Events,
    ApprovalRequests,
    Discrepancies,
}

/// How [`Store::named`] finds a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    Id(Uuid),
    Name(String),
}

impl IdTable {
    fn table(self) -> &'static str {
        match self {
            IdTable::Jobs => "job_queue",
            IdTable::Runs => "workflow_executions",
            IdTable::Workflows => "workflows",
            IdTable::Events => "events",
            IdTable::ApprovalRequests => "approval_requests",
            IdTable::Discrepancies => "reconciliation_discrepancies",
        }
    }
}

impl Store {
    /// At most two ids of `table` starting with `prefix` (lower-cased).
    pub async fn ids_with_prefix(
        &self,
        table: IdTable,
        prefix: &str,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let rows = self
            .db
            .fetch_all(
                &format!(
                    "SELECT id FROM {} WHERE CAST(id AS TEXT) LIKE $1 LIMIT 2",
                    table.table()
                ),
                &[Val::Text(format!("{}%", prefix.to_lowercase()))],
            )
            .await?;
        Ok(rows.iter().map(|r| r.id("id")).collect())
    }

    /// A job's type and status.
    pub async fn job_type_status(&self, id: Uuid) -> Result<Option<(String, String)>, sqlx::Error> {
        Ok(self
            .db
            .fetch_optional(
                "SELECT job_type, status FROM job_queue WHERE id = $1",
                &[Val::Uuid(id)],
            )
            .await?
            .map(|r| (r.s("job_type"), r.s("status"))))
    }

    /// At most two rows of `table` (workflows or events) with this id or exact name, as
    /// (id, name).
    pub async fn named(&self, table: IdTable, by: By) -> Result<Vec<Named>, sqlx::Error> {
        let (col, val) = match by {
            By::Id(id) => ("id", Val::Uuid(id)),
            By::Name(n) => ("name", Val::Text(n)),
        };
        let rows = self
            .db
            .fetch_all(
                &format!(
                    "SELECT id, name FROM {} WHERE {col} = $1 LIMIT 2",
                    table.table()
                ),
                &[val],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Named::new(r.id("id"), r.s("name")))
            .collect())
    }

    /// "Kai Duarte × Maison Noor" for the rate negotiation of an approval request.
    pub async fn negotiation_label(&self, request: Uuid) -> Result<Option<String>, sqlx::Error> {
        Ok(self
            .db
            .fetch_optional(
                "SELECT model_name, designer_name FROM rate_negotiations WHERE approval_request_id = $1",
                &[Val::Uuid(request)],
            )
            .await?
            .map(|r| format!("{} × {}", r.s("model_name"), r.s("designer_name"))))
    }

    /// Pending approval requests past their expiry.
    pub async fn overdue_approvals(
        &self,
        now: crate::domain::model::Ts,
    ) -> Result<i64, sqlx::Error> {
        Ok(self
            .db
            .fetch_one(
                "SELECT count(*) AS n FROM approval_requests WHERE status = 'pending' AND expires_at < $1",
                &[Val::Ts(now)],
            )
            .await?
            .n("n"))
    }
}
