//! Who may do what (issue 18). A person logs in to the database as themselves and holds one of
//! opsdeck's roles by `GRANT`; the database enforces it (the action functions check
//! `session_user`), the console and the CLI only show it ahead of time. Pure: no IO here.

use serde::Serialize;

/// opsdeck's roles, least to most. Each holds the one before it (operator holds viewer;
/// approver and broadcaster hold operator; admin holds both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Approver,
    Broadcaster,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Operator,
        Role::Approver,
        Role::Broadcaster,
        Role::Admin,
    ];

    /// The Postgres role's name.
    pub fn db_name(self) -> &'static str {
        match self {
            Role::Viewer => "opsdeck_viewer",
            Role::Operator => "opsdeck_operator",
            Role::Approver => "opsdeck_approver",
            Role::Broadcaster => "opsdeck_broadcaster",
            Role::Admin => "opsdeck_admin",
        }
    }

    pub fn from_db_name(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.db_name() == s)
    }

    /// The role an action (by its audit name, `workflow.pause`) needs. The database's
    /// `opsdeck_needs()` says the same; a test holds them equal.
    pub fn needed_for(action: &str) -> Role {
        match action {
            "workflow.pause"
            | "workflow.resume"
            | "job.retry_failed"
            | "n8n.workflow.pause"
            | "n8n.workflow.resume"
            | "broadcast.approve"
            | "broadcast.rules" => Role::Admin,
            "approval.approve" | "approval.reject" | "approval.resend" => Role::Approver,
            "broadcast.live" | "broadcast.follow_up" | "broadcast.cancel" | "broadcast.retry" => {
                Role::Broadcaster
            }
            _ => Role::Operator,
        }
    }

    /// What a holder of this role (and of the roles it holds) may do, for `whoami` and help.
    pub fn capabilities(self) -> &'static [&'static str] {
        match self {
            Role::Viewer => &["see everything"],
            Role::Operator => &[
                "retry and cancel jobs and runs",
                "acknowledge capacity alerts",
                "resolve and ignore discrepancies",
                "test broadcasts",
            ],
            Role::Approver => &["approve and reject human-in-the-loop requests"],
            Role::Broadcaster => {
                &["live broadcasts (all levels), follow-ups, cancelling a broadcast"]
            }
            Role::Admin => &[
                "pause and resume workflows",
                "bulk retry by filter",
                "approve another's four-eyes broadcast",
            ],
        }
    }

    /// The roles this one holds, itself included.
    pub fn holds(self) -> Vec<Role> {
        match self {
            Role::Viewer => vec![Role::Viewer],
            Role::Operator => vec![Role::Viewer, Role::Operator],
            Role::Approver => vec![Role::Viewer, Role::Operator, Role::Approver],
            Role::Broadcaster => vec![Role::Viewer, Role::Operator, Role::Broadcaster],
            Role::Admin => Role::ALL.to_vec(),
        }
    }
}

/// What decides what a login may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Basis {
    /// The embedded demo: one user, every capability.
    Demo,
    /// The login holds opsdeck roles: they decide, in the database.
    Roles,
    /// No opsdeck role (or the roles were never created): the login's table grants decide,
    /// all or nothing, as before roles. `write`: it may change the action tables.
    Grants { write: bool },
    /// An adopted database, or a database without the action functions: as `Grants`, checked
    /// by opsdeck itself.
    Unenforced { write: bool },
}

/// Who the console or the CLI acts as, and what that login may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// The database login (`session_user`); None on the demo.
    pub login: Option<String>,
    /// The opsdeck roles it holds, through any chain of grants (explicit grants only: a
    /// superuser holds none unless granted one).
    pub roles: Vec<Role>,
    pub basis: Basis,
    /// Whether `opsdeck roles init` has run on this database (the roles exist and are
    /// granted their rights here).
    pub roles_ready: bool,
    /// Action tables the login may UPDATE directly although it holds roles: roles do not bind
    /// it there (a DBA should revoke them).
    pub direct_writes: Vec<String>,
    /// Roles other than the schema's owner that may CREATE in the schema the action functions
    /// run with (`PUBLIC` for everyone): they could shadow a function those functions call.
    pub schema_creators: Vec<String>,
}

impl Access {
    pub fn demo() -> Access {
        Access {
            login: None,
            roles: vec![],
            basis: Basis::Demo,
            roles_ready: false,
            direct_writes: vec![],
            schema_creators: vec![],
        }
    }

    /// Whether the login may do `action` (by audit name); Err says why not, as the database
    /// would ("needs opsdeck_approver").
    pub fn may(&self, action: &str) -> Result<(), String> {
        match &self.basis {
            Basis::Demo => Ok(()),
            Basis::Grants { write: true } | Basis::Unenforced { write: true } => Ok(()),
            Basis::Grants { write: false } | Basis::Unenforced { write: false } => Err(format!(
                "read-only: the login {} may not change the action tables",
                self.login.as_deref().unwrap_or("?")
            )),
            Basis::Roles => {
                let need = Role::needed_for(action);
                if self.roles.contains(&need) {
                    Ok(())
                } else {
                    Err(format!("needs {}", need.db_name()))
                }
            }
        }
    }

    /// The highest role held (admin over broadcaster over approver …).
    pub fn top_role(&self) -> Option<Role> {
        self.roles.iter().copied().max()
    }

    /// Whether roles decide (the console shows the role; denied keys say which role they need).
    pub fn by_roles(&self) -> bool {
        self.basis == Basis::Roles
    }

    /// The status bar's "who": `ana · opsdeck_approver`, `deploy · table grants`. A long login
    /// is cut (to 24 cells) so that the role always shows.
    pub fn label(&self) -> String {
        let login =
            crate::domain::sanitize::clean_trunc(self.login.as_deref().unwrap_or("demo"), 24);
        let login = login.as_str();
        match (&self.basis, self.top_role()) {
            (Basis::Demo, _) => "demo user · every capability".into(),
            (Basis::Roles, Some(r)) => format!("{login} · {}", r.db_name()),
            (Basis::Roles, None) => login.to_string(),
            (Basis::Grants { write: true } | Basis::Unenforced { write: true }, _) => {
                format!("{login} · table grants")
            }
            (Basis::Grants { write: false } | Basis::Unenforced { write: false }, _) => {
                format!("{login} · read-only")
            }
        }
    }

    /// What the login may do, in words (for `whoami`).
    pub fn capabilities(&self) -> Vec<&'static str> {
        match &self.basis {
            Basis::Demo | Basis::Grants { write: true } | Basis::Unenforced { write: true } => {
                Role::ALL
                    .iter()
                    .flat_map(|r| r.capabilities())
                    .copied()
                    .collect()
            }
            Basis::Grants { write: false } | Basis::Unenforced { write: false } => {
                Role::Viewer.capabilities().to_vec()
            }
            Basis::Roles => Role::ALL
                .iter()
                .filter(|r| self.roles.contains(r))
                .flat_map(|r| r.capabilities())
                .copied()
                .collect(),
        }
    }

    /// What `whoami` and the README recommend, when anything.
    pub fn advice(&self) -> Option<String> {
        if !self.schema_creators.is_empty() {
            return Some(format!(
                "{} may create objects in the schema opsdeck's action functions use, and so could \
                 shadow a function they call: REVOKE CREATE on it from them",
                self.schema_creators.join(", ")
            ));
        }
        match &self.basis {
            Basis::Demo => None,
            Basis::Roles if !self.direct_writes.is_empty() => Some(format!(
                "this login may also write {} directly (its own table rights), which roles do not bind: revoke them",
                self.direct_writes.join(", ")
            )),
            Basis::Roles => None,
            Basis::Grants { .. } if self.roles_ready => Some(
                "this login holds no opsdeck role: its table grants decide, all or nothing, and the \
                 audit trail records the name it gives. Give each person a login and a role: \
                 GRANT opsdeck_operator TO <login>"
                    .into(),
            ),
            Basis::Grants { .. } => Some(
                "the opsdeck roles are not set up on this database: run `opsdeck roles init` (or \
                 give `opsdeck roles init --plan` to a DBA), then GRANT a role to each login"
                    .into(),
            ),
            Basis::Unenforced { .. } => Some(
                "this database has no opsdeck action functions (adopted, or not migrated): roles \
                 are not enforced here"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(roles: &[Role]) -> Access {
        Access {
            login: Some("ana".into()),
            roles: roles.to_vec(),
            basis: Basis::Roles,
            roles_ready: true,
            direct_writes: vec![],
            schema_creators: vec![],
        }
    }

    #[test]
    fn roles_decide_by_the_table() {
        let approver = with(&Role::Approver.holds());
        assert!(approver.may("approval.approve").is_ok());
        assert!(approver.may("job.retry").is_ok());
        assert_eq!(
            approver.may("workflow.pause").unwrap_err(),
            "needs opsdeck_admin"
        );
        assert_eq!(
            approver.may("broadcast.live").unwrap_err(),
            "needs opsdeck_broadcaster"
        );
        let viewer = with(&[Role::Viewer]);
        assert_eq!(
            viewer.may("job.retry").unwrap_err(),
            "needs opsdeck_operator"
        );
        assert_eq!(viewer.label(), "ana · opsdeck_viewer");
        let admin = with(&Role::Admin.holds());
        assert!(admin.may("broadcast.approve").is_ok());
        assert_eq!(admin.top_role(), Some(Role::Admin));
    }

    #[test]
    fn grants_are_all_or_nothing_and_the_demo_may_all() {
        let mut g = with(&[]);
        g.basis = Basis::Grants { write: false };
        assert!(g.may("job.retry").unwrap_err().starts_with("read-only"));
        g.basis = Basis::Grants { write: true };
        assert!(g.may("workflow.pause").is_ok());
        assert!(g.advice().unwrap().contains("GRANT opsdeck_operator"));
        assert!(Access::demo().may("broadcast.approve").is_ok());
    }
}
