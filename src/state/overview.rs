//! The control-room screen: one `Overview` read, and a tile focus (j/k or arrows move it,
//! Enter jumps to the tile's view; the tile titles also carry the view's number key).

use crate::domain::model::{Overview, Ts};
use crate::domain::refresh::ViewId;

/// The tiles in focus order, with the view each one opens.
pub const TILES: [(&str, ViewId); 7] = [
    ("Queue", ViewId::Queue),
    ("Runs · last hour", ViewId::Runs),
    ("Failing workflows", ViewId::Workflows),
    ("Capacity alerts", ViewId::Capacity),
    ("Open discrepancies", ViewId::Reconciliation),
    ("Pending approvals", ViewId::Approvals),
    (BROADCASTS_TILE, ViewId::Audit),
];

/// The broadcasts tile: Enter opens the Audit view filtered on `broadcast.` (broadcasts have no
/// view of their own), and its title says so.
pub const BROADCASTS_TILE: &str = "Last broadcasts · in Audit";

/// The contract table each tile reads (an adopted database may not have it).
pub const TILE_TABLES: [&str; 7] = [
    "job_queue",
    "workflow_executions",
    "workflow_executions",
    "capacity_alerts",
    "reconciliation_discrepancies",
    "approval_requests",
    "emergency_broadcasts",
];

#[derive(Debug, Default)]
pub struct OverviewState {
    pub data: Option<Box<Overview>>,
    pub loaded_at: Option<Ts>,
    pub tile: usize,
}

impl OverviewState {
    pub fn move_tile(&mut self, delta: isize) {
        let n = TILES.len() as isize;
        self.tile = ((self.tile as isize + delta).rem_euclid(n)) as usize;
    }
    pub fn target(&self) -> ViewId {
        TILES[self.tile.min(TILES.len() - 1)].1
    }
}
