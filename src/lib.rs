//! opsdeck: a terminal operations console for an event-automation platform.
//!
//! Layout (README, "How the code is laid out"; the arrows are checked by tests/layers.rs):
//! `domain` holds the pure types every layer shares, `api` does all IO, `state` decides (pure,
//! deterministic), `views` draw, `app` runs the loop and is the one translator between effects
//! and api calls, `sim` is the simulated automation engine, `cli` the subcommands.

pub mod api;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod domain;
pub mod keymap;
pub mod sim;
pub mod state;
pub mod theme;
pub mod views;
