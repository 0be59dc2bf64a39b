//! Queue: depth by status × job type, the oldest pending job, and the job list.

use super::list::ListView;
use super::rows::JOB_COLUMNS;
use super::table::Table;
use crate::domain::model::{Job, QueueDepth};

#[derive(Debug)]
pub struct QueueState {
    pub depth: Option<QueueDepth>,
    pub list: ListView<Job>,
    /// The open job read again in full (the list's rows carry its error cut and a large
    /// payload left out).
    pub full: Option<Job>,
    /// When `full` was read (the open job's data age).
    pub full_at: Option<crate::domain::model::Ts>,
}

impl Default for QueueState {
    fn default() -> Self {
        QueueState {
            depth: None,
            list: ListView::new(Table::new(&JOB_COLUMNS)),
            full: None,
            full_at: None,
        }
    }
}

impl QueueState {
    /// The open job: as read in full once that read is in, else its list row.
    pub fn detail_job(&self) -> Option<&Job> {
        let id = self.list.detail?;
        self.full
            .as_ref()
            .filter(|j| j.id == id)
            .or_else(|| self.list.detail_row())
    }
}
