//! The only IO: the store (Postgres + SQLite), the notify listener, and (later) HTTP clients.

pub mod actions;
pub mod broadcast;
pub mod contexts;
pub mod db;
pub mod export;
pub mod n8n;
pub mod notify;
pub mod refresh;
pub mod relay;
pub mod replica;
pub mod store;

pub use store::Store;
