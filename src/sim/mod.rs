//! The simulated automation engine (to be built).

pub mod cli;
