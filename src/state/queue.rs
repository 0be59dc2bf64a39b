//! Queue: depth by status × job type, the oldest pending job, and the job list.

use super::list::ListView;
use super::rows::JOB_COLUMNS;
use super::table::Table;
use crate::domain::model::{Job, QueueDepth};

#[derive(Debug)]
pub struct QueueState {
    pub depth: Option<QueueDepth>,
    pub list: ListView<Job>,
}

impl Default for QueueState {
    fn default() -> Self {
        QueueState {
            depth: None,
            list: ListView::new(Table::new(&JOB_COLUMNS)),
        }
    }
}
