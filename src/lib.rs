//! opsdeck: a terminal operations console for an event-automation platform.
//!
//! Layout (see ARCHITECTURE.md): `api` does all IO, `state` decides (pure), `views` draw,
//! `sim` is the simulated automation engine for the demo and drills.

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
