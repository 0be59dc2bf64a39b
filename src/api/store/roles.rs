//! opsdeck's roles on a Postgres database (issue 18): creating them (`opsdeck roles init`, and
//! `opsdeck migrate` when its login may), and reading who the connected login is and what it
//! may do (`opsdeck whoami`, the console's status bar and disabled keys).
//!
//! The roles are NOLOGIN groups: a person logs in as themselves and is granted one. They get
//! SELECT on opsdeck's tables and EXECUTE on the action functions, and no write rights at all:
//! every change goes through `opsdeck_act()` (migration 0011), which checks the role.

use crate::api::store::Store;
use crate::api::store::actions::acts_by_function;
use crate::domain::role::{Access, Basis, Role};

/// The tables opsdeck's migrations create (the contract's, and the rollups; a test holds this
/// equal to the migrations) and its migration ledger (the console checks it is up to date).
pub fn tables() -> Vec<&'static str> {
    let mut v = crate::domain::adopt::CONTRACT_TABLES.to_vec();
    v.extend([
        "run_minutes",
        "job_minutes",
        "run_totals",
        "opsdeck_broadcast_rules",
        "opsdeck_test_recipients",
        "opsdeck_alerts",
        "_sqlx_migrations",
    ]);
    v
}

/// The tables the actions change: a login holding a role must not be able to UPDATE them
/// directly (whoami warns when it can).
pub const ACTION_TABLES: &[&str] = &[
    "workflows",
    "job_queue",
    "workflow_executions",
    "approval_requests",
    "rate_negotiations",
    "reconciliation_discrepancies",
    "capacity_alerts",
    "operator_actions",
];

/// The SQL of `opsdeck roles init`: idempotent, safe to run on every database of a cluster
/// (roles are the cluster's; the grants are this database's). `adopted`: the database was
/// adopted, and opsdeck's tables and views of the user's are in the schema `opsdeck`.
pub fn init_sql(adopted: bool) -> Vec<String> {
    let mut v = Vec::new();
    let names: Vec<String> = Role::ALL
        .iter()
        .map(|r| format!("'{}'", r.db_name()))
        .collect();
    v.push(format!(
        "-- the five roles, NOLOGIN: people log in as themselves and are granted one\n\
         DO $$\nDECLARE r text;\nBEGIN\n    FOREACH r IN ARRAY ARRAY[{}] LOOP\n        \
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN\n            \
         BEGIN\n                EXECUTE format('CREATE ROLE %I NOLOGIN', r);\n            \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- created meanwhile\n            \
         END;\n        END IF;\n    END LOOP;\nEND $$;",
        names.join(", ")
    ));
    // each role holds the one before it
    let holds = [
        (Role::Operator, Role::Viewer),
        (Role::Approver, Role::Operator),
        (Role::Broadcaster, Role::Operator),
        (Role::Admin, Role::Approver),
        (Role::Admin, Role::Broadcaster),
    ];
    let pairs: Vec<String> = holds
        .iter()
        .map(|(m, r)| format!("ARRAY['{}', '{}']", m.db_name(), r.db_name()))
        .collect();
    v.push(format!(
        "-- each role holds the one before it (admin holds approver and broadcaster)\n\
         DO $$\nDECLARE p text[];\nBEGIN\n    FOREACH p SLICE 1 IN ARRAY ARRAY[{}] LOOP\n        \
         IF NOT EXISTS (SELECT FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member\n                       \
         JOIN pg_roles r ON r.oid = a.roleid WHERE m.rolname = p[1] AND r.rolname = p[2]) THEN\n            \
         EXECUTE format('GRANT %I TO %I', p[2], p[1]);\n        END IF;\n    END LOOP;\nEND $$;",
        pairs.join(", ")
    ));
    if adopted {
        // the views read the user's tables as their owner: the roles need only the views
        v.push(
            "-- see everything: read opsdeck's schema, its views of your tables and its own tables\n\
             -- (no INSERT, UPDATE or DELETE for any role, and nothing on your tables)\n\
             GRANT USAGE ON SCHEMA opsdeck TO opsdeck_viewer;\n\
             GRANT SELECT ON ALL TABLES IN SCHEMA opsdeck TO opsdeck_viewer;"
                .into(),
        );
    } else {
        v.push(
            "-- see everything: read opsdeck's tables (no INSERT, UPDATE or DELETE for any role)\n\
             GRANT USAGE ON SCHEMA public TO opsdeck_viewer;"
                .into(),
        );
        v.push(format!(
            "GRANT SELECT ON {} TO opsdeck_viewer;",
            tables().join(", ")
        ));
    }
    v.push(
        "-- act: only through the functions, which check the role and write the audit row\n\
         GRANT EXECUTE ON FUNCTION opsdeck_act(jsonb, text, text), \
         opsdeck_audit(jsonb, text, text, text, jsonb, jsonb), \
         opsdeck_record_resume(uuid, timestamptz, text), opsdeck_may(text), \
         opsdeck_roles_of(text), opsdeck_broadcast_send(jsonb, text, text), \
         opsdeck_broadcast_decide(uuid, text, text, text), opsdeck_broadcast_retry(uuid, text, text), \
         opsdeck_broadcast_claim_webhook(uuid), opsdeck_set_broadcast_rules(text[], text, text), \
         opsdeck_set_test_recipients(jsonb, text[], boolean, text, text), \
         opsdeck_record_n8n(uuid, jsonb), \
         opsdeck_broadcast_record_webhook(uuid, boolean, text, jsonb, text, text) TO opsdeck_viewer;"
            .into(),
    );
    v
}

/// `init_sql` as one script (for `--plan` and a DBA's psql).
pub fn init_script(adopted: bool) -> String {
    let mut s = String::from("-- opsdeck roles init: run on each database opsdeck acts on\n");
    if adopted {
        s.push_str("-- (an adopted database: run with search_path = opsdeck, public)\n");
    }
    for st in init_sql(adopted) {
        s.push_str(&st);
        s.push_str("\n\n");
    }
    s
}

/// Why `roles init` could not run.
#[derive(Debug)]
pub enum RolesError {
    /// Not Postgres, or a database without the action functions (SQLite, adopted, unmigrated).
    NotHere(String),
    /// The login may not create roles or grant them.
    NoRight(String),
    Other(sqlx::Error),
}

impl std::fmt::Display for RolesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RolesError::NotHere(s) | RolesError::NoRight(s) => f.write_str(s),
            RolesError::Other(e) => f.write_str(&crate::api::db::describe_sqlx(e)),
        }
    }
}

impl Store {
    /// Creates the roles (when missing) and grants them their rights on this database, in one
    /// transaction. Two databases of a cluster initialising at once may collide on the
    /// cluster's catalog: that is retried.
    pub async fn init_roles(&self) -> Result<(), RolesError> {
        if !acts_by_function(self).await.map_err(RolesError::Other)? {
            return Err(RolesError::NotHere(
                "roles need a Postgres database migrated or adopted by this opsdeck (`opsdeck \
                 migrate` first: it adds the action functions)"
                    .into(),
            ));
        }
        let adopted = self.adoption().await.map_err(RolesError::Other)?.is_some();
        let script = init_sql(adopted).join("\n");
        let mut last = None;
        for attempt in 0..5 {
            let mut tx = self.db.begin().await.map_err(RolesError::Other)?;
            match tx.execute_script(&script).await {
                Ok(()) => match tx.commit().await {
                    Ok(()) => return Ok(()),
                    Err(e) => last = Some(e),
                },
                Err(e) => {
                    let _ = tx.rollback().await;
                    let code = match &e {
                        sqlx::Error::Database(d) => d.code().map(|c| c.to_string()),
                        _ => None,
                    };
                    if code.as_deref() == Some("42501") {
                        return Err(RolesError::NoRight(format!(
                            "this login may not create or grant the opsdeck roles ({}): give \
                             `opsdeck roles init --plan` to a DBA",
                            crate::api::db::describe_sqlx(&e)
                        )));
                    }
                    last = Some(e);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 * (attempt + 1))).await;
        }
        Err(RolesError::Other(last.expect("an error after five tries")))
    }

    /// Whether this database was adopted (its `roles init` grants the schema `opsdeck`).
    pub async fn is_adopted(&self) -> Result<bool, sqlx::Error> {
        Ok(self.adoption().await?.is_some())
    }

    /// Who the connected login is and what it may do.
    pub async fn access(&self) -> Result<Access, sqlx::Error> {
        if self.db.pg_pool().is_none() {
            return Ok(Access::demo());
        }
        let login = self
            .db
            .fetch_one("SELECT session_user::text AS u", &[])
            .await?
            .s("u");
        let ready = self
            .db
            .fetch_one(
                "SELECT CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = 'opsdeck_viewer') \
                   AND to_regclass('workflows') IS NOT NULL \
                   THEN has_table_privilege('opsdeck_viewer', 'workflows', 'SELECT') \
                   ELSE false END AS r",
                &[],
            )
            .await
            .map(|r| r.bool("r").unwrap_or(false))
            .unwrap_or(false);
        if !acts_by_function(self).await? {
            let write = crate::api::store::actions::can_act(self).await?;
            return Ok(Access {
                login: Some(login),
                roles: vec![],
                basis: Basis::Unenforced { write },
                roles_ready: false,
                direct_writes: vec![],
                schema_creators: vec![],
            });
        }
        let r = self
            .db
            .fetch_one(
                "SELECT array_to_string(opsdeck_roles_of(session_user::text), ',') AS roles, \
                   opsdeck_may('job.retry') IS NULL AS write",
                &[],
            )
            .await?;
        let roles: Vec<Role> = r
            .s("roles")
            .split(',')
            .filter_map(Role::from_db_name)
            .collect();
        let creators = self.schema_creators().await?;
        if roles.is_empty() {
            return Ok(Access {
                login: Some(login),
                roles,
                basis: Basis::Grants {
                    write: r.bool("write").unwrap_or(false),
                },
                roles_ready: ready,
                direct_writes: vec![],
                schema_creators: creators,
            });
        }
        // one query for every action table (not one per table)
        let list: Vec<String> = ACTION_TABLES.iter().map(|t| format!("'{t}'")).collect();
        let direct: Vec<String> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT t FROM unnest(ARRAY[{}]) WITH ORDINALITY AS x(t, n) \
                     WHERE has_table_privilege(session_user, t, 'UPDATE') ORDER BY n",
                    list.join(", ")
                ),
                &[],
            )
            .await?
            .iter()
            .map(|r| r.s("t"))
            .collect();
        Ok(Access {
            login: Some(login),
            roles,
            basis: Basis::Roles,
            roles_ready: ready,
            direct_writes: direct,
            schema_creators: creators,
        })
    }

    /// Roles other than the owner that may CREATE in `public` (and `opsdeck`, adopted): the
    /// action functions run as their owner with those schemas on their path.
    pub async fn schema_creators(&self) -> Result<Vec<String>, sqlx::Error> {
        let rows = self
            .db
            .fetch_all(
                "SELECT DISTINCT COALESCE(r.rolname, 'PUBLIC') AS who \
                 FROM pg_namespace n \
                 CROSS JOIN LATERAL aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a \
                 LEFT JOIN pg_roles r ON r.oid = a.grantee \
                 WHERE n.nspname IN ('public', 'opsdeck') AND a.privilege_type = 'CREATE' \
                   AND a.grantee <> n.nspowner \
                   AND NOT COALESCE(r.rolsuper, false) ORDER BY 1",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| r.s("who")).collect())
    }
}
