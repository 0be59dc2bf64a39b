//! The domain: pure types every layer shares — runs, jobs, errors, operator actions and their
//! outcomes, broadcast drafts, decisions and progress, n8n read types, what a refresh asks for
//! and returns, the list limits, sanitising. No IO, no terminal, no async: it depends on std,
//! chrono, uuid, serde and serde_json only, and imports no other layer of the crate.

pub mod action;
pub mod adopt;
pub mod alert;
pub mod broadcast;
pub mod context;
pub mod export;
pub mod idem;
pub mod mode;
pub mod model;
pub mod money;
pub mod n8n;
pub mod n8n_queue;
pub mod refresh;
pub mod role;
pub mod sanitize;
pub mod timeline;
