//! The one mechanism for IO in flight (gitui's `AsyncSingleJob`, absorbed): at most one job
//! per key at a time. A read asked for while its key is in flight is remembered and runs once
//! more when it lands, so a burst of changes costs at most one extra read; an operator action
//! or a broadcast decision is never queued (a double press must not act twice).

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::domain::refresh::{LoadKind, ViewId};

/// What is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Busy {
    /// A view's read.
    Read(ViewId, LoadKind),
    /// The broadcasts awaiting a second operator.
    Awaiting,
    /// What the alert rules need (and the alerts).
    Watch,
    /// The confirmed operator action (one at a time).
    Action,
    /// An approval or a cancel of this waiting broadcast.
    Decide(Uuid),
}

#[derive(Debug, Default)]
pub struct InFlight {
    seq: u64,
    running: HashMap<Busy, u64>,
    again: HashSet<Busy>,
}

impl InFlight {
    /// Starts `job`; None when it is already in flight (then it runs again when it lands).
    pub fn begin(&mut self, job: Busy) -> Option<u64> {
        if self.running.contains_key(&job) {
            self.again.insert(job);
            return None;
        }
        Some(self.start(job))
    }

    /// Starts `job`; None when it is already in flight (and nothing is queued).
    pub fn begin_once(&mut self, job: Busy) -> Option<u64> {
        if self.running.contains_key(&job) {
            return None;
        }
        Some(self.start(job))
    }

    fn start(&mut self, job: Busy) -> u64 {
        self.seq += 1;
        self.running.insert(job, self.seq);
        self.seq
    }

    /// The result of `job` number `seq` landed: whether it is the one in flight (an older
    /// one is dropped) and whether to run it again.
    pub fn end(&mut self, job: Busy, seq: u64) -> (bool, bool) {
        if self.running.get(&job) == Some(&seq) {
            self.running.remove(&job);
            (true, self.again.remove(&job))
        } else {
            (false, false)
        }
    }

    /// The result of `job` landed (for results that carry no number): whether to run it again.
    pub fn finish(&mut self, job: Busy) -> bool {
        self.running.remove(&job);
        self.again.remove(&job)
    }

    pub fn busy(&self, job: Busy) -> bool {
        self.running.contains_key(&job)
    }

    /// The view reads in flight, with their numbers.
    pub fn reads(&self) -> Vec<(ViewId, LoadKind, u64)> {
        self.running
            .iter()
            .filter_map(|(j, seq)| match j {
                Busy::Read(v, k) => Some((*v, *k, *seq)),
                _ => None,
            })
            .collect()
    }

    /// A read of `view` is in flight.
    pub fn reading(&self, view: ViewId) -> bool {
        self.running
            .keys()
            .any(|j| matches!(j, Busy::Read(v, _) if *v == view))
    }
}
