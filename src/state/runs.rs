//! Runs: the live list (filter by status with `status:x`, by workflow from the Workflows view)
//! and a run's detail (progress, step logs, context).

use uuid::Uuid;

use super::list::ListView;
use super::rows::RUN_COLUMNS;
use super::table::Table;
use crate::domain::model::{Run, StepLog, Ts};

#[derive(Debug)]
pub struct RunsState {
    pub list: ListView<Run>,
    /// Only runs of this workflow (id, name), set by Enter on a workflow; Esc clears it.
    pub workflow: Option<(Uuid, String)>,
    /// The open run's fresh read (None until loaded).
    pub detail: Option<RunDetail>,
}

#[derive(Debug, Clone)]
pub struct RunDetail {
    pub id: Uuid,
    pub run: Option<Run>,
    /// Newest first, as read.
    pub steps: Vec<StepLog>,
    pub loaded_at: Option<Ts>,
}

impl Default for RunsState {
    fn default() -> Self {
        RunsState {
            list: ListView::new(Table::new(&RUN_COLUMNS)),
            workflow: None,
            detail: None,
        }
    }
}

impl RunsState {
    /// With n8n configured: the list gets a source column (see [`super::rows::RUN_COLUMNS_N8N`]).
    pub fn with_source_column(&mut self) {
        self.list = ListView::new(Table::new(&super::rows::RUN_COLUMNS_N8N));
    }

    /// The run to show in the detail: the fresh read, else the list row.
    pub fn detail_run(&self) -> Option<&Run> {
        let id = self.list.detail?;
        self.detail
            .as_ref()
            .filter(|d| d.id == id)
            .and_then(|d| d.run.as_ref())
            .or_else(|| self.list.detail_row())
    }
}
