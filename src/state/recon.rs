//! Reconciliation: runs with their counts; Enter opens a run's discrepancies, grouped by kind.

use super::list::ListView;
use super::rows::{DISCREPANCY_COLUMNS, RECON_COLUMNS};
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
        let mut discrepancies = Table::new(&DISCREPANCY_COLUMNS);
        // by kind: the kind column is sort choice 1
        discrepancies.sort = 1;
        ReconState {
            list: ListView::new(Table::new(&RECON_COLUMNS)),
            discrepancies,
        }
    }
}
