//! Capacity: every event against the seed's 80 / 90 / 100 % thresholds, and open alerts.

use super::list::ListView;
use super::rows::EVENT_COLUMNS;
use super::table::Table;
use crate::domain::model::{CapacityAlert, EventCapacity};

#[derive(Debug)]
pub struct CapacityState {
    pub list: ListView<EventCapacity>,
    pub alerts: Vec<CapacityAlert>,
}

impl Default for CapacityState {
    fn default() -> Self {
        CapacityState {
            list: ListView::new(Table::new(&EVENT_COLUMNS)),
            alerts: Vec::new(),
        }
    }
}
