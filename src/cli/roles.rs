//! `opsdeck roles init [--plan]` and `opsdeck whoami [--json]` (issue 18).

use std::process::ExitCode;

use super::{Fail, Globals, finish, load_config, need_store, open_store, target};
use crate::api::store::roles::{RolesError, init_script};
use crate::domain::role::{Access, Basis, Role};

/// Creates the opsdeck roles and grants them their rights on this database (`--plan`: prints
/// the SQL and changes nothing).
pub async fn init(g: &Globals, plan: bool) -> ExitCode {
    finish(
        async {
            let file = load_config(g)?;
            if plan {
                // with a database: its kind (an adopted one is granted its schema `opsdeck`);
                // without one, the plan for a database opsdeck migrated
                let adopted = match target(g, &file)? {
                    Some(t) => {
                        let store = open_store(&t, 1).await?;
                        let a = store.is_adopted().await.unwrap_or(false);
                        store.db.close().await;
                        a
                    }
                    None => false,
                };
                print!("{}", init_script(adopted));
                return Ok(());
            }
            let (t, store) = need_store(g, &file, "roles init needs", 1).await?;
            let r = store.init_roles().await;
            let creators = store.schema_creators().await.unwrap_or_default();
            store.db.close().await;
            if !creators.is_empty() {
                eprintln!(
                    "opsdeck: warning: {} may create objects in the schema the action functions \
                     use and could shadow a function they call: REVOKE CREATE ON SCHEMA public \
                     FROM them",
                    creators.join(", ")
                );
            }
            r.map_err(|e| Fail::new(2, format!("{}: {e}", t.display_addr())))?;
            println!(
                "{}: roles ready: {} (GRANT one to each person's login)",
                t.display_addr(),
                Role::ALL.map(|r| r.db_name()).join(", ")
            );
            Ok(())
        }
        .await,
    )
}

/// After `migrate`: the roles, when this login may create them; else what to do.
pub(super) async fn after_migrate(store: &crate::api::Store, addr: &str) {
    match store.init_roles().await {
        Ok(()) => println!("{addr}: opsdeck roles ready (see `opsdeck whoami`)"),
        Err(RolesError::NotHere(_)) => {}
        Err(e) => println!("{addr}: opsdeck roles not set up: {e}"),
    }
}

/// Who this login is and what it may do.
pub async fn whoami(g: &Globals, json: bool) -> ExitCode {
    finish(
        async {
            let file = load_config(g)?;
            let (t, store) = need_store(g, &file, "whoami needs", 1).await?;
            let a = store.access().await;
            store.db.close().await;
            let a = a.map_err(|e| {
                Fail::new(
                    2,
                    format!(
                        "{}: {}",
                        t.display_addr(),
                        crate::api::db::describe_sqlx(&e)
                    ),
                )
            })?;
            let display = crate::config::resolve_operator(g.operator.as_deref(), &file);
            if json {
                println!("{:#}", whoami_json(&a, &display));
            } else {
                print!("{}", whoami_text(&a, &display, &t.display_addr()));
            }
            Ok(())
        }
        .await,
    )
}

fn basis_word(a: &Access) -> &'static str {
    match a.basis {
        Basis::Demo => "single user (demo): every capability",
        Basis::Roles => "roles, enforced by the database",
        Basis::Grants { write: true } => "table grants (no opsdeck role): every capability",
        Basis::Grants { write: false } => "table grants (no opsdeck role): read-only",
        Basis::Unenforced { write: true } => "table grants, checked by opsdeck only",
        Basis::Unenforced { write: false } => "read-only (no write grants)",
    }
}

pub fn whoami_json(a: &Access, display: &str) -> serde_json::Value {
    serde_json::json!({
        "login": a.login,
        "display_name": display,
        "roles": a.roles.iter().map(|r| r.db_name()).collect::<Vec<_>>(),
        "role": a.top_role().map(|r| r.db_name()),
        "basis": a.basis,
        "capabilities": a.capabilities(),
        "roles_ready": a.roles_ready,
        "direct_writes": a.direct_writes,
        "schema_creators": a.schema_creators,
        "advice": a.advice(),
    })
}

pub fn whoami_text(a: &Access, display: &str, addr: &str) -> String {
    let mut s = String::new();
    let login = a.login.as_deref().unwrap_or("(demo)");
    s.push_str(&format!("login:        {login} on {addr}\n"));
    if a.by_roles() && display != login {
        s.push_str(&format!(
            "display name: {display} (recorded beside the login, never instead of it)\n"
        ));
    } else if !a.by_roles() {
        s.push_str(&format!(
            "operator:     {display} (the name the audit trail records)\n"
        ));
    }
    let roles: Vec<&str> = a.roles.iter().map(|r| r.db_name()).collect();
    s.push_str(&format!(
        "roles:        {}\n",
        if roles.is_empty() {
            "none".to_string()
        } else {
            roles.join(", ")
        }
    ));
    s.push_str(&format!("decided by:   {}\n", basis_word(a)));
    s.push_str("may:\n");
    for c in a.capabilities() {
        s.push_str(&format!("  - {c}\n"));
    }
    if a.by_roles() {
        let lacking: Vec<String> = Role::ALL
            .iter()
            .filter(|r| !a.roles.contains(r))
            .map(|r| format!("{} ({})", r.db_name(), r.capabilities().join("; ")))
            .collect();
        if !lacking.is_empty() {
            s.push_str("may not (role needed):\n");
            for l in lacking {
                s.push_str(&format!("  - {l}\n"));
            }
        }
    }
    if let Some(adv) = a.advice() {
        s.push_str(&format!("advice: {adv}\n"));
    }
    s
}
