//! The only IO: the store (Postgres + SQLite), the notify listener, and (later) HTTP clients.

pub mod db;
pub mod store;

pub use store::Store;
