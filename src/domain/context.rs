//! One line of the all-contexts overview (`opsdeck contexts`, `:ctx` in the console): a
//! context of the config, whether it answered, and what an operator checks first there.

/// A context as read side by side with the others (each within a few seconds: a dead one is a
/// line saying why, never a wait).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContextLine {
    pub name: String,
    pub production: bool,
    /// The config's default context (`context =`).
    pub default: bool,
    /// "host/dbname" or the SQLite file's name — never a password.
    pub database: String,
    pub reachable: bool,
    /// Why it is not reachable (passwords redacted).
    pub error: Option<String>,
    pub depth: Option<i64>,
    pub critical_errors: Option<usize>,
    pub pending_approvals: Option<i64>,
    /// Open alerts; None where the database keeps no alerts (not migrated to 0015).
    pub open_alerts: Option<usize>,
}

impl ContextLine {
    /// A line not read yet (or that could not be): only its name and marks.
    pub fn unread(name: &str, production: bool, default: bool) -> ContextLine {
        ContextLine {
            name: name.to_string(),
            production,
            default,
            database: String::new(),
            reachable: false,
            error: None,
            depth: None,
            critical_errors: None,
            pending_approvals: None,
            open_alerts: None,
        }
    }

    /// Something there wants a look: unreachable, critical errors or open alerts.
    pub fn needs_a_look(&self) -> bool {
        !self.reachable
            || self.critical_errors.unwrap_or(0) > 0
            || self.open_alerts.unwrap_or(0) > 0
    }
}
