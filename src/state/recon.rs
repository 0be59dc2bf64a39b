//! Reconciliation: runs with their counts; Enter opens a run's discrepancies, grouped by kind.

use super::list::ListView;
use super::rows::{DISCREPANCY_SORTS, RECON_SORTS};
use super::table::Table;
use crate::domain::model::{Discrepancy, ReconRun};

#[derive(Debug)]
pub struct ReconState {
    pub list: ListView<ReconRun>,
    /// The open run's discrepancies (sorted by kind).
    pub discrepancies: Table<Discrepancy>,
}

impl Default for ReconState {
    fn default() -> Self {
        let mut discrepancies = Table::new(DISCREPANCY_SORTS);
        discrepancies.sort = 1;
        ReconState {
            list: ListView::new(Table::new(RECON_SORTS)),
            discrepancies,
        }
    }
}
