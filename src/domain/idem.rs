//! The idempotency key: one submission, however often it is sent (a double submit, a retried
//! request, two consoles). Made outside the pure layers (`api::broadcast::new_key`, called by
//! app.rs and the CLI) and carried in on messages, so the state stays deterministic.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IdemKey(String);

impl IdemKey {
    pub fn new(key: impl Into<String>) -> IdemKey {
        IdemKey(key.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key of its own for a submission that follows this one (`{key}-{suffix}`): sent
    /// twice from the same screen, it is still sent once.
    pub fn derived(&self, suffix: &str) -> IdemKey {
        IdemKey(format!("{}-{suffix}", self.0))
    }
}

impl From<String> for IdemKey {
    fn from(s: String) -> IdemKey {
        IdemKey(s)
    }
}

impl From<&str> for IdemKey {
    fn from(s: &str) -> IdemKey {
        IdemKey(s.to_string())
    }
}

impl fmt::Display for IdemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
