//! How the console was started: on the demo, on a real database, or read-only.

/// How the console was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The embedded demo (simulated engine on a local file).
    Demo,
    /// A real automation database.
    Live,
    /// A real database, every mutating key disabled.
    ReadOnly,
}

impl Mode {
    pub fn label(&self) -> &'static str {
        match self {
            Mode::Demo => "DEMO",
            Mode::Live => "LIVE",
            Mode::ReadOnly => "READ-ONLY",
        }
    }
}
