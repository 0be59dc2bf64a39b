//! Newest-first lists with filters and keyset pagination ("older than this row").

use anyhow::Result;
use uuid::Uuid;

use super::rows::{self, ACTION_COLS, APPROVAL_COLS, DISC_COLS, RECON_COLS};
use super::{Query, Store};
use crate::api::db::Val;
use crate::domain::model::*;

fn limit_of(f: &ListFilter) -> u32 {
    if f.limit == 0 { 100 } else { f.limit }
}

impl Store {
    pub async fn runs(&self, f: &ListFilter) -> Result<Vec<Run>> {
        let mut q = Query::new(&format!(
            "SELECT {} FROM workflow_executions e JOIN workflows w ON w.id = e.workflow_id",
            rows::run_list_cols(self.db.backend())
        ));
        q.and_opt("e.status = ?", f.status.clone().map(Val::Text))
            .and_opt("e.workflow_id = ?", f.workflow_id.map(Val::Uuid))
            .contains("w.name || ' ' || COALESCE(e.current_step, '') || ' ' || COALESCE(e.error_message, '')", f.text.as_deref())
            .older_than("e.started_at", "e.id", f.before)
            .tail("ORDER BY e.started_at DESC, e.id DESC")
            .limit(limit_of(f));
        Ok(self
            .db
            .fetch_all(&q.sql, &q.args)
            .await?
            .iter()
            .map(rows::run)
            .collect())
    }

    pub async fn run(&self, id: Uuid) -> Result<Option<Run>> {
        let r = self
            .db
            .fetch_optional(
                &format!(
                    "SELECT {} FROM workflow_executions e JOIN workflows w ON w.id = e.workflow_id WHERE e.id = $1",
                    rows::run_detail_cols()
                ),
                &[Val::Uuid(id)],
            )
            .await?;
        Ok(r.as_ref().map(rows::run))
    }

    /// A run's step logs, newest first.
    pub async fn step_logs(
        &self,
        run_id: Uuid,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<StepLog>> {
        let mut q = Query::new(&format!(
            "SELECT {} FROM workflow_step_logs",
            rows::step_cols(self.db.backend())
        ));
        q.and("execution_id = ?", [Val::Uuid(run_id)])
            .older_than("created_at", "id", before)
            .tail("ORDER BY created_at DESC, id DESC")
            .limit(limit);
        Ok(self
            .db
            .fetch_all(&q.sql, &q.args)
            .await?
            .iter()
            .map(rows::step)
            .collect())
    }

    pub async fn jobs(&self, f: &ListFilter) -> Result<Vec<Job>> {
        let mut q = Query::new(&format!(
            "SELECT {} FROM job_queue j LEFT JOIN workflows w ON w.id = j.workflow_id",
            rows::job_list_cols(self.db.backend())
        ));
        q.and_opt("j.status = ?", f.status.clone().map(Val::Text))
            .and_opt("j.job_type = ?", f.job_type.clone().map(Val::Text))
            .and_opt("j.workflow_id = ?", f.workflow_id.map(Val::Uuid))
            .contains(
                "j.job_type || ' ' || COALESCE(j.error_message, '')",
                f.text.as_deref(),
            )
            .older_than("j.created_at", "j.id", f.before)
            .tail("ORDER BY j.created_at DESC, j.id DESC")
            .limit(limit_of(f));
        Ok(self
            .db
            .fetch_all(&q.sql, &q.args)
            .await?
            .iter()
            .map(rows::job)
            .collect())
    }

    pub async fn job(&self, id: Uuid) -> Result<Option<Job>> {
        let r = self
            .db
            .fetch_optional(
                &format!(
                    "SELECT {} FROM job_queue j LEFT JOIN workflows w ON w.id = j.workflow_id WHERE j.id = $1",
                    rows::job_detail_cols()
                ),
                &[Val::Uuid(id)],
            )
            .await?;
        Ok(r.as_ref().map(rows::job))
    }

    pub async fn errors(&self, f: &ListFilter) -> Result<Vec<ErrorRow>> {
        let mut q = Query::new(&format!(
            "SELECT {} FROM workflow_errors x LEFT JOIN workflows w ON w.id = x.workflow_id",
            rows::error_list_cols()
        ));
        q.and_opt("x.error_type = ?", f.kind.clone().map(Val::Text))
            .and_opt("x.workflow_id = ?", f.workflow_id.map(Val::Uuid))
            .contains(
                "COALESCE(w.name, '') || ' ' || COALESCE(x.error_message, '')",
                f.text.as_deref(),
            )
            .older_than("x.created_at", "x.id", f.before)
            .tail("ORDER BY x.created_at DESC, x.id DESC")
            .limit(limit_of(f));
        Ok(self
            .db
            .fetch_all(&q.sql, &q.args)
            .await?
            .iter()
            .map(rows::error_row)
            .collect())
    }

    pub async fn recon_runs(&self, f: &ListFilter) -> Result<Vec<ReconRun>> {
        let mut q = Query::new(&format!("SELECT {RECON_COLS} FROM reconciliation_runs"));
        q.and_opt("status = ?", f.status.clone().map(Val::Text))
            .older_than("created_at", "id", f.before)
            .tail("ORDER BY created_at DESC, id DESC")
            .limit(limit_of(f));
        Ok(self
            .db
            .fetch_all(&q.sql, &q.args)
            .await?
            .iter()
            .map(rows::recon_run)
            .collect())
    }

    /// Discrepancies; `workflow_id` is unused, `kind` filters the kind, and a run id can be given
    /// through `run`.
    pub async fn discrepancies(
        &self,
        f: &ListFilter,
        run: Option<Uuid>,
    ) -> Result<Vec<Discrepancy>> {
        let mut q = Query::new(&format!(
            "SELECT {DISC_COLS} FROM reconciliation_discrepancies"
        ));
        q.and_opt("status = ?", f.status.clone().map(Val::Text))
            .and_opt("kind = ?", f.kind.clone().map(Val::Text))
            .and_opt("run_id = ?", run.map(Val::Uuid))
            .contains("COALESCE(stripe_id, '') || ' ' || COALESCE(db_id, '') || ' ' || COALESCE(note, '')", f.text.as_deref())
            .older_than("created_at", "id", f.before)
            .tail("ORDER BY created_at DESC, id DESC")
            .limit(limit_of(f));
        Ok(self
            .db
            .fetch_all(&q.sql, &q.args)
            .await?
            .iter()
            .map(rows::discrepancy)
            .collect())
    }

    pub async fn approvals(&self, f: &ListFilter) -> Result<Vec<Approval>> {
        let mut q = Query::new(&format!(
            "SELECT {APPROVAL_COLS} FROM approval_requests a LEFT JOIN rate_negotiations n ON n.approval_request_id = a.id"
        ));
        match f.status.as_deref() {
            // what needs an operator: undecided, or decided but n8n was not told
            Some("open") => {
                q.and(
                    &format!(
                        "(a.status = 'pending' OR a.resume_status = 'failed' OR {})",
                        rows::stale_resume_sql("a.", "?")
                    ),
                    [Val::Ts(
                        chrono::Utc::now() - crate::domain::action::RESUME_STALE,
                    )],
                );
            }
            s => {
                q.and_opt("a.status = ?", s.map(|s| Val::Text(s.to_string())));
            }
        }
        q.and_opt("a.type = ?", f.kind.clone().map(Val::Text))
            .contains(
                "a.type || ' ' || COALESCE(n.model_name, '') || ' ' || COALESCE(n.designer_name, '')",
                f.text.as_deref(),
            )
            .older_than("a.created_at", "a.id", f.before)
            .tail("ORDER BY a.created_at DESC, a.id DESC")
            .limit(limit_of(f));
        Ok(self
            .db
            .fetch_all(&q.sql, &q.args)
            .await?
            .iter()
            .map(rows::approval)
            .collect())
    }

    pub async fn operator_actions(&self, f: &ListFilter) -> Result<Vec<OperatorAction>> {
        let mut q = Query::new(&format!("SELECT {ACTION_COLS} FROM operator_actions"));
        q.and_opt("outcome = ?", f.status.clone().map(Val::Text))
            .and_opt("action = ?", f.kind.clone().map(Val::Text))
            .contains(
                "operator || ' ' || action || ' ' || target_type || ' ' || COALESCE(target_id, '') || ' ' || COALESCE(note, '')",
                f.text.as_deref(),
            )
            .older_than("at", "id", f.before)
            .tail("ORDER BY at DESC, id DESC")
            .limit(limit_of(f));
        Ok(self
            .db
            .fetch_all(&q.sql, &q.args)
            .await?
            .iter()
            .map(rows::operator_action)
            .collect())
    }
}
