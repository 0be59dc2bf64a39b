//! Roles that say who may act (issue 18), on real Postgres: every role × every database action
//! through opsdeck (the API the console and the CLI share, and the CLI binary), and as raw SQL
//! from the same logins; the audit row names the login; bypass attempts fail.
//!
//! Each test has its own database and its own logins (roles are the cluster's: the five opsdeck
//! roles are shared, created idempotently; the logins are named per test and dropped after).

mod bcastkit;
mod common;

use common::TestStore;
use common::cli::{opsdeck, text, url_of};
use opsdeck::api::Store;
use opsdeck::api::actions::{ActionCtx, execute};
use opsdeck::api::store::Val;
use opsdeck::api::store::roles::{ACTION_TABLES, tables};
use opsdeck::config::{DbTarget, SecretUrl};
use opsdeck::domain::action::{Action, Actor, JobSelect, Named, Outcome};
use opsdeck::domain::role::{Basis, Role};
use std::time::Duration;

use uuid::Uuid;

/// A migrated database with the roles set up and one login per role (plus one in no role).
struct World {
    s: TestStore,
    tag: String,
    logins: Vec<(Option<Role>, String)>,
}

impl World {
    async fn new() -> Option<World> {
        let s = common::migrated(common::pg_store_unmigrated().await?).await;
        s.init_roles().await.expect("roles init");
        let tag = Uuid::new_v4().simple().to_string()[..10].to_string();
        let mut logins = Vec::new();
        for r in Role::ALL.iter().copied().map(Some).chain([None]) {
            let name = format!(
                "t18_{tag}_{}",
                r.map(|r| &r.db_name()["opsdeck_".len()..])
                    .unwrap_or("none")
            );
            let mut sql = format!("CREATE ROLE {name} LOGIN;");
            if let Some(r) = r {
                sql.push_str(&format!(" GRANT {} TO {name};", r.db_name()));
            }
            s.db.execute_script(&sql).await.expect("create login");
            logins.push((r, name));
        }
        Some(World { s, tag, logins })
    }

    fn login(&self, r: Option<Role>) -> &str {
        &self.logins.iter().find(|(x, _)| *x == r).unwrap().1
    }

    fn url(&self, login: &str) -> String {
        let mut u = url::Url::parse(&url_of(&self.s)).unwrap();
        u.set_username(login).unwrap();
        u.to_string()
    }

    async fn store_as(&self, login: &str) -> Store {
        Store::open(&DbTarget::Postgres(SecretUrl::new(self.url(login))), 2)
            .await
            .expect("connect as login")
    }

    async fn drop_logins(self) {
        let names: Vec<String> = self.logins.iter().map(|(_, n)| n.clone()).collect();
        let admin = self.s.store.clone();
        drop(self.s);
        // the database is gone: the logins own nothing any more
        let a = Store::open(
            &DbTarget::Postgres(SecretUrl::new(common::pg_admin_url())),
            1,
        )
        .await
        .unwrap();
        for n in names {
            let _ = a.db.execute(&format!("DROP ROLE IF EXISTS {n}"), &[]).await;
        }
        a.db.close().await;
        admin.db.close().await;
    }
}

/// An error's SQLSTATE (42501: permission denied), or the error itself.
fn sqlstate(e: sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.to_string()).unwrap_or_default(),
        e => format!("{e}"),
    }
}

/// One set of rows every action can act on.
struct Rows {
    wf_active: Uuid,
    wf_paused: Uuid,
    job_failed: Uuid,
    job_pending: Uuid,
    bulk_type: String,
    run_failed: Uuid,
    run_running: Uuid,
    req_a: Uuid,
    req_b: Uuid,
    req_resend: Uuid,
    disc_a: Uuid,
    disc_b: Uuid,
    event: Uuid,
}

async fn rows(s: &TestStore, tag: &str) -> Rows {
    let id = Uuid::new_v4;
    let r = Rows {
        wf_active: id(),
        wf_paused: id(),
        job_failed: id(),
        job_pending: id(),
        bulk_type: format!("bulk.{tag}"),
        run_failed: id(),
        run_running: id(),
        req_a: id(),
        req_b: id(),
        req_resend: id(),
        disc_a: id(),
        disc_b: id(),
        event: id(),
    };
    let recon_run = id();
    let sql = format!(
        "INSERT INTO workflows (id, name, status) VALUES ('{wa}', 'A {tag}', 'active'), \
           ('{wp}', 'P {tag}', 'paused');
         INSERT INTO job_queue (id, job_type, status) VALUES ('{jf}', 'email.send', 'failed'), \
           ('{jp}', 'email.send', 'pending'), (gen_random_uuid(), '{bt}', 'failed');
         INSERT INTO workflow_executions (id, workflow_id, status) VALUES \
           ('{rf}', '{wa}', 'failed'), ('{rr}', '{wa}', 'running');
         INSERT INTO approval_requests (id, type, status) VALUES ('{qa}', 'rate', 'pending'), \
           ('{qb}', 'rate', 'pending');
         INSERT INTO approval_requests (id, type, status, decided_by, decided_at, resume_url, \
           resume_status, created_at) VALUES ('{qr}', 'rate', 'approved', 'someone', now(), \
           'http://127.0.0.1:9/resume', 'failed', now() - interval '1 hour');
         INSERT INTO reconciliation_runs (id, reconciliation_date) VALUES ('{rc}', current_date);
         INSERT INTO reconciliation_discrepancies (id, run_id, kind) VALUES \
           ('{da}', '{rc}', 'missing_in_db'), ('{db}', '{rc}', 'missing_in_db');
         INSERT INTO events (id, name, venue_name, start_at, capacity) VALUES \
           ('{ev}', 'Show {tag}', 'Hall', now(), 100);
         INSERT INTO capacity_alerts (event_id, threshold, sold, capacity) VALUES ('{ev}', 90, 91, 100);",
        wa = r.wf_active,
        wp = r.wf_paused,
        jf = r.job_failed,
        jp = r.job_pending,
        bt = r.bulk_type,
        rf = r.run_failed,
        rr = r.run_running,
        qa = r.req_a,
        qb = r.req_b,
        qr = r.req_resend,
        rc = recon_run,
        da = r.disc_a,
        db = r.disc_b,
        ev = r.event,
    );
    s.db.execute_script(&sql).await.expect("rows");
    r
}

/// Every database action, on `r`.
fn actions(r: &Rows) -> Vec<Action> {
    vec![
        Action::PauseWorkflows {
            workflows: vec![Named::new(r.wf_active, "A")],
            reason: "drill".into(),
        },
        Action::ResumeWorkflows {
            workflows: vec![Named::new(r.wf_paused, "P")],
        },
        Action::RetryJobs {
            jobs: vec![Named::new(r.job_failed, "job")],
        },
        Action::CancelJobs {
            jobs: vec![Named::new(r.job_pending, "job")],
        },
        Action::RetryFailed {
            select: JobSelect {
                job_type: Some(r.bulk_type.clone()),
                ..Default::default()
            },
            expected: Some(1),
        },
        Action::RetryRun {
            run: r.run_failed,
            label: "run".into(),
        },
        Action::CancelRun {
            run: r.run_running,
            label: "run".into(),
        },
        Action::Decide {
            request: r.req_a,
            label: "req a".into(),
            approve: true,
            note: None,
        },
        Action::Decide {
            request: r.req_b,
            label: "req b".into(),
            approve: false,
            note: Some("too expensive".into()),
        },
        Action::ResendDecision {
            request: r.req_resend,
            label: "req r".into(),
        },
        Action::Resolve {
            discrepancy: r.disc_a,
            label: "d a".into(),
            ignore: false,
            note: "refunded".into(),
        },
        Action::Resolve {
            discrepancy: r.disc_b,
            label: "d b".into(),
            ignore: true,
            note: "test payment".into(),
        },
        Action::AckCapacity {
            event: r.event,
            label: "show".into(),
        },
    ]
}

/// Everything an action can change, as one digest: a denied action must leave it as it was.
async fn fingerprint(s: &Store) -> String {
    s.db.fetch_one(
        "SELECT md5(concat_ws('|', \
           (SELECT string_agg(id || status || COALESCE(paused_by, ''), ',' ORDER BY id) FROM workflows), \
           (SELECT string_agg(id || status || updated_at, ',' ORDER BY id) FROM job_queue), \
           (SELECT string_agg(id || status || COALESCE(retried_as::text, ''), ',' ORDER BY id) FROM workflow_executions), \
           (SELECT string_agg(id || status || COALESCE(resume_status, '') || COALESCE(resume_attempt_at::text, ''), ',' ORDER BY id) FROM approval_requests), \
           (SELECT string_agg(id || status, ',' ORDER BY id) FROM reconciliation_discrepancies), \
           (SELECT string_agg(id || COALESCE(acknowledged_by, ''), ',' ORDER BY id) FROM capacity_alerts))) AS f",
        &[],
    )
    .await
    .unwrap()
    .s("f")
}

fn ctx(display: &str) -> ActionCtx {
    ActionCtx::new(Actor {
        operator: display.into(),
        origin: "ssh:10.0.0.9".into(),
    })
}

/// Each role × each action through opsdeck: allowed ones change their rows with one ok audit
/// row naming the login (the display name beside it); denied ones change nothing and leave a
/// denied row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_every_action() {
    let Some(w) = World::new().await else { return };
    for (role, login) in w.logins.clone() {
        let st = w.store_as(&login).await;
        let a = st.access().await.unwrap();
        assert_eq!(a.login.as_deref(), Some(login.as_str()));
        match role {
            Some(r) => {
                assert_eq!(a.basis, Basis::Roles, "{login}");
                assert_eq!(a.top_role(), Some(r));
            }
            None => assert_eq!(a.basis, Basis::Grants { write: false }),
        }
        let r = rows(&w.s, &format!("{}{login}", w.tag)).await;
        for action in actions(&r) {
            let name = action.name();
            let allowed = role.is_some_and(|r| r.holds().contains(&Role::needed_for(name)));
            let before = fingerprint(&w.s).await;
            let rep = execute(&st, &ctx("Ana Display"), &action).await;
            let audit = w
                .s
                .db
                .fetch_one(
                    "SELECT operator, login, display_name, outcome, action FROM operator_actions \
                     WHERE id = $1",
                    &[Val::Uuid(rep.audit_id.expect("an audit row"))],
                )
                .await
                .unwrap();
            assert_eq!(audit.s("action"), name);
            assert_eq!(audit.s("login"), login, "{name}");
            if allowed {
                assert_eq!(rep.outcome, Outcome::Ok, "{login} {name}: {}", rep.message);
                assert_ne!(
                    fingerprint(&w.s).await,
                    before,
                    "{login} {name} changed nothing"
                );
                assert_eq!(audit.s("outcome"), "ok");
                assert_eq!(audit.s("operator"), login, "the audit row names the login");
                assert_eq!(audit.text("display_name").as_deref(), Some("Ana Display"));
            } else {
                assert_eq!(
                    rep.outcome,
                    Outcome::Denied,
                    "{login} {name}: {}",
                    rep.message
                );
                assert_eq!(rep.outcome.exit_code(), 2);
                assert_eq!(
                    fingerprint(&w.s).await,
                    before,
                    "{login} {name} changed rows"
                );
                assert_eq!(audit.s("outcome"), "denied");
                if role.is_some() {
                    let need = Role::needed_for(name).db_name();
                    assert!(
                        rep.message.contains(&format!("needs {need}")),
                        "{}",
                        rep.message
                    );
                    assert_eq!(audit.s("operator"), login);
                } else {
                    assert!(rep.message.contains("read-only"), "{}", rep.message);
                }
            }
        }
        // the one audit row per action: no more
        let n =
            w.s.db
                .fetch_one(
                    "SELECT count(*) AS n FROM operator_actions WHERE login = $1",
                    &[Val::Text(login.clone())],
                )
                .await
                .unwrap()
                .n("n");
        assert_eq!(n, actions(&r).len() as i64, "{login}");
        st.db.close().await;
    }
    w.drop_logins().await;
}

/// Raw SQL as each login: no role may write an action table, only read; no role may become a
/// role it was not granted; the helpers are not callable; a forged operator name is recorded
/// beside the login, never instead of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_sql_and_bypass_attempts_fail() {
    let Some(w) = World::new().await else { return };
    let r = rows(&w.s, &w.tag).await;
    let code = sqlstate;
    for role in Role::ALL {
        let login = w.login(Some(role)).to_string();
        let st = w.store_as(&login).await;
        for t in ACTION_TABLES {
            let e = st
                .db
                .execute(&format!("UPDATE {t} SET id = id"), &[])
                .await
                .map(|_| ())
                .expect_err("raw UPDATE must fail");
            assert_eq!(code(e), "42501", "{login} UPDATE {t}");
        }
        let e = st
            .db
            .execute(
                "INSERT INTO operator_actions (operator, action, target_type, outcome) \
                 VALUES ('x', 'workflow.pause', 'workflow', 'ok')",
                &[],
            )
            .await
            .map(|_| ())
            .expect_err("forged audit row");
        assert_eq!(code(e), "42501");
        // every role sees everything
        for t in tables() {
            st.db
                .fetch_all(&format!("SELECT * FROM {t} LIMIT 1"), &[])
                .await
                .unwrap_or_else(|e| panic!("{login} cannot read {t}: {e}"));
        }
        // the helper that makes the change is not callable directly
        let e = st
            .db
            .fetch_all(
                "SELECT * FROM opsdeck_act_workflows('{\"action\":\"pause_workflows\",\"workflows\":[]}'::jsonb, 'x')",
                &[],
            )
            .await.map(|_| ()).expect_err("helper");
        assert_eq!(code(e), "42501");
        st.db.close().await;
    }
    // a viewer cannot SET ROLE to a role it was not granted
    let viewer = w.store_as(w.login(Some(Role::Viewer))).await;
    let mut tx = viewer.db.begin().await.unwrap();
    let e = tx
        .execute("SET ROLE opsdeck_admin", &[])
        .await
        .map(|_| ())
        .expect_err("SET ROLE to an ungranted role");
    assert_eq!(code(e), "42501");
    drop(tx);
    // SET ROLE to its own role changes nothing about who acts (session_user)
    let mut tx = viewer.db.begin().await.unwrap();
    tx.execute("SET LOCAL ROLE opsdeck_viewer", &[])
        .await
        .unwrap();
    let pause = serde_json::json!({"action": "pause_workflows",
        "workflows": [{"id": r.wf_active, "label": "A"}], "reason": "forged"});
    let out = tx
        .fetch_one(
            "SELECT opsdeck_act($1{json}, $2, 'psql') AS r",
            &[
                Val::Json(pause.clone()),
                Val::Text(w.login(Some(Role::Admin)).into()),
            ],
        )
        .await
        .unwrap()
        .json("r")
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(out["outcome"], "denied", "{out}");
    assert_eq!(out["operator"], w.login(Some(Role::Viewer)));
    let a =
        w.s.db
            .fetch_one(
                "SELECT operator, display_name, outcome FROM operator_actions WHERE id = $1::uuid",
                &[Val::Text(out["audit_id"].as_str().unwrap().into())],
            )
            .await
            .unwrap();
    assert_eq!(a.s("operator"), w.login(Some(Role::Viewer)));
    assert_eq!(
        a.text("display_name").as_deref(),
        Some(w.login(Some(Role::Admin))),
        "the forged name lands beside the login"
    );
    let status =
        w.s.db
            .fetch_one(
                "SELECT status FROM workflows WHERE id = $1",
                &[Val::Uuid(r.wf_active)],
            )
            .await
            .unwrap()
            .s("status");
    assert_eq!(status, "active");
    // a capability is read from the action, never from a name: an action tagged as something
    // else is not a way in (an unknown tag is refused outright)
    let e = viewer
        .db
        .fetch_one(
            "SELECT opsdeck_act('{\"action\":\"capacity_ack_but_really_pause\"}'::jsonb, 'x', 'y') AS r",
            &[],
        )
        .await.map(|_| ()).expect_err("unknown action");
    assert_eq!(code(e), "22023");
    // recording a resume on someone else's decision is refused
    let ok = viewer
        .db
        .fetch_one(
            "SELECT opsdeck_record_resume(gen_random_uuid(), now(), NULL) AS ok",
            &[],
        )
        .await
        .unwrap()
        .bool("ok");
    assert_eq!(ok, Some(false));
    viewer.db.close().await;
    w.drop_logins().await;
}

/// The database's idea of which role an action needs is the binary's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_and_binary_agree_on_needed_roles() {
    let Some(s) = common::pg_store_unmigrated().await else {
        return;
    };
    let s = common::migrated(s).await;
    let names = [
        "workflow.pause",
        "workflow.resume",
        "job.retry",
        "job.retry_failed",
        "job.cancel",
        "run.retry",
        "run.cancel",
        "approval.approve",
        "approval.reject",
        "approval.resend",
        "discrepancy.resolve",
        "discrepancy.ignore",
        "capacity.ack",
        "n8n.workflow.pause",
        "n8n.workflow.resume",
        "n8n.execution.retry",
        "broadcast.test",
        "broadcast.live",
        "broadcast.follow_up",
        "broadcast.cancel",
        "broadcast.approve",
        "broadcast.retry",
        "broadcast.rules",
    ];
    for n in names {
        let db =
            s.db.fetch_one("SELECT opsdeck_needs($1) AS r", &[Val::Text(n.into())])
                .await
                .unwrap()
                .s("r");
        assert_eq!(db, Role::needed_for(n).db_name(), "{n}");
    }
}

/// `roles::TABLES` is every table the migrations create (the viewer's SELECT grants).
#[test]
fn viewer_reads_every_migrated_table() {
    let mut made = Vec::new();
    for e in std::fs::read_dir("migrations/postgres").unwrap() {
        let sql = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for l in sql.lines() {
            if let Some(rest) = l.trim().strip_prefix("CREATE TABLE ") {
                let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
                made.push(rest.split_whitespace().next().unwrap().to_string());
            }
        }
    }
    made.push("_sqlx_migrations".into());
    made.sort();
    let mut ours: Vec<String> = tables().iter().map(|t| t.to_string()).collect();
    ours.sort();
    assert_eq!(made, ours);
}

/// The CLI as two people: a viewer's approve exits 2 with the role it needs, on record; the
/// approver's goes through; whoami says who each is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_whoami_and_refusals() {
    let Some(w) = World::new().await else { return };
    let r = rows(&w.s, &w.tag).await;
    let viewer = w.url(w.login(Some(Role::Viewer)));
    let approver = w.url(w.login(Some(Role::Approver)));
    let req = r.req_a.to_string();
    let o = opsdeck(&["--database-url", &viewer, "approve", &req, "--yes"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("needs opsdeck_approver"), "{}", text(&o));
    let o = opsdeck(
        &[
            "--database-url",
            &approver,
            "--operator",
            "Ana M.",
            "approve",
            &req,
            "--yes",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows =
        w.s.db
            .fetch_all(
                "SELECT operator, display_name, outcome FROM operator_actions \
                 WHERE target_id = $1 ORDER BY at",
                &[Val::Text(req.clone())],
            )
            .await
            .unwrap();
    let got: Vec<(String, Option<String>, String)> = rows
        .iter()
        .map(|x| (x.s("operator"), x.text("display_name"), x.s("outcome")))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                w.login(Some(Role::Viewer)).to_string(),
                got[0].1.clone(),
                "denied".into()
            ),
            (
                w.login(Some(Role::Approver)).to_string(),
                Some("Ana M.".into()),
                "ok".into()
            ),
        ]
    );
    let decided =
        w.s.db
            .fetch_one(
                "SELECT decided_by FROM approval_requests WHERE id = $1",
                &[Val::Uuid(r.req_a)],
            )
            .await
            .unwrap()
            .s("decided_by");
    assert_eq!(decided, w.login(Some(Role::Approver)));
    // whoami
    let o = opsdeck(&["--database-url", &approver, "whoami", "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["login"], w.login(Some(Role::Approver)));
    assert_eq!(v["role"], "opsdeck_approver");
    assert_eq!(v["basis"]["by"], "roles");
    let o = opsdeck(&["--database-url", &url_of(&w.s), "whoami"], &[]);
    assert!(text(&o).contains("holds no opsdeck role"), "{}", text(&o));
    assert!(
        text(&o).contains("GRANT opsdeck_operator TO"),
        "{}",
        text(&o)
    );
    // roles init --plan prints the SQL and needs no database
    let o = opsdeck(&["roles", "init", "--plan"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).contains("CREATE ROLE %I NOLOGIN"));
    assert!(text(&o).contains("GRANT SELECT ON workflows"));
    // a live broadcast by an approver: the database refuses it (exit 2), nothing sent
    let o = opsdeck(
        &[
            "--database-url",
            &approver,
            "broadcast",
            "--level",
            "info",
            "--event",
            &format!("Show {}", w.tag),
            "--message",
            "doors open",
            "--yes",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("needs opsdeck_broadcaster"),
        "{}",
        text(&o)
    );
    w.drop_logins().await;
}

/// A login in a role but also with direct UPDATE rights: whoami says roles do not bind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_write_rights_are_flagged() {
    let Some(w) = World::new().await else { return };
    let login = w.login(Some(Role::Operator)).to_string();
    w.s.db
        .execute_script(&format!("GRANT UPDATE ON job_queue TO {login}"))
        .await
        .unwrap();
    let st = w.store_as(&login).await;
    let a = st.access().await.unwrap();
    assert_eq!(a.direct_writes, vec!["job_queue".to_string()]);
    assert!(a.advice().unwrap().contains("revoke them"));
    st.db.close().await;
    w.s.db
        .execute_script(&format!("REVOKE UPDATE ON job_queue FROM {login}"))
        .await
        .unwrap();
    w.drop_logins().await;
}

/// The real console in tmux as an approver: the status bar says who, the help marks what the
/// role lacks, pressing it says which role it needs, and an approval goes through (on record
/// under the login).
#[test]
fn the_console_as_an_approver() {
    if !common::tmux::available() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(w) = rt.block_on(World::new()) else {
        return;
    };
    let r = rt.block_on(rows(&w.s, &w.tag));
    let login = w.login(Some(Role::Approver)).to_string();
    let t = common::tmux::Tmux::start_raw(
        &format!("--operator 'Ana M.' --database-url '{}'", w.url(&login)),
        160,
        48,
    );
    let s = t.wait_for("opsdeck_approver", Duration::from_secs(20));
    assert!(s.contains(&format!("{login} · opsdeck_approver")), "{s}");
    t.keys(&["2"]);
    t.wait_for(&format!("A {}", w.tag), Duration::from_secs(10));
    t.keys(&["?"]);
    let s = t.wait_for("disabled: needs opsdeck_admin", Duration::from_secs(5));
    assert!(s.contains("Pause the workflow"), "{s}");
    // (Escape and P apart: together a terminal reads them as Alt-P)
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["P"]);
    t.wait_for(
        "Pause the workflow: needs opsdeck_admin",
        Duration::from_secs(5),
    );
    // Approvals: approve the first pending request
    t.keys(&["8"]);
    t.wait_for("designer (tier)", Duration::from_secs(10));
    t.keys(&["A"]);
    t.wait_for("Approve", Duration::from_secs(5));
    t.keys(&["Enter"]);
    // the toast (the dialog ignores keys until the result lands)
    t.wait_for("✓ approved", Duration::from_secs(10));
    t.keys(&["q"]);
    t.wait_for("EXITED=0", Duration::from_secs(10));
    let by: Vec<String> = rt.block_on(async {
        w.s.db
            .fetch_all(
                "SELECT decided_by FROM approval_requests WHERE id IN ($1, $2) \
                 AND status = 'approved'",
                &[Val::Uuid(r.req_a), Val::Uuid(r.req_b)],
            )
            .await
            .unwrap()
            .iter()
            .map(|x| x.s("decided_by"))
            .collect()
    });
    assert_eq!(
        by,
        vec![login.clone()],
        "one request approved, by the login"
    );
    rt.block_on(w.drop_logins());
}

/// Broadcasts by role: the database refuses a live one without opsdeck_broadcaster (nothing
/// written but the denied row), lets an operator test, makes the four-eyes rule compare logins
/// (an admin cannot approve its own waiting broadcast under any display name; another admin
/// can), and keeps cancelling to broadcasters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_by_role() {
    use opsdeck::api::broadcast as bc;
    use opsdeck::config::{BroadcastConfig, TestRecipient};
    use opsdeck::domain::broadcast::{Level, SendOutcome, Target};
    let Some(w) = World::new().await else { return };
    bcastkit::fixture(&w.s).await;
    let admin2 = format!("t18_{}_admin2", w.tag);
    w.s.db
        .execute_script(&format!(
            "CREATE ROLE {admin2} LOGIN; GRANT opsdeck_admin TO {admin2};"
        ))
        .await
        .unwrap();
    let cfg = BroadcastConfig {
        second_operator_for: vec![Level::Critical],
        test_recipients: vec![TestRecipient {
            name: "me".into(),
            phone: Some("+33699999999".into()),
            email: None,
            channel: Some("sms".into()),
        }],
        ..Default::default()
    };
    let gala = || Target::Event("Gala".into());
    let operator = w.store_as(w.login(Some(Role::Operator))).await;
    let broadcaster = w.store_as(w.login(Some(Role::Broadcaster))).await;
    let admin = w.store_as(w.login(Some(Role::Admin))).await;
    let second = w.store_as(&admin2).await;
    let c = |who: &str| bcastkit::ctx(who, cfg.clone());
    let now = chrono::Utc::now();

    // an operator: live refused, nothing written but the denied row
    let before = bcastkit::written(&w.s).await;
    let pv = bc::prepare(
        &operator,
        &cfg,
        &bcastkit::draft("warning", gala(), "Delay", "r1"),
        now,
    )
    .await
    .unwrap();
    let e = bc::send(&operator, &c("Olga"), &pv).await.unwrap_err();
    assert!(e.contains("needs opsdeck_broadcaster"), "{e}");
    let after = bcastkit::written(&w.s).await;
    assert_eq!(after[..3], before[..3], "no broadcast, delivery or job");
    assert_eq!(after[3], before[3] + 1, "one denied audit row");
    // … but may test, to the test recipients an admin set (migration 0013: until then a test
    // went to the sender's configured recipients, which an operator could fill with attendees)
    let mut d = bcastkit::draft("critical", gala(), "Drill", "r2");
    d.test = true;
    let pv = bc::prepare(&operator, &cfg, &d, now).await.unwrap();
    let e = bc::send(&operator, &c("Olga"), &pv).await.unwrap_err();
    assert!(e.contains("test recipients an admin set"), "{e}");
    let me = ("me".to_string(), Some("+33699999999".to_string()), None);
    let held = bc::set_test_recipients(&admin, &c("Ada"), &[me], &[], false)
        .await
        .unwrap();
    assert_eq!(
        held[0].added_by.as_deref(),
        Some(w.login(Some(Role::Admin)))
    );
    let pv = bc::prepare(&operator, &cfg, &d, now).await.unwrap();
    let r = bc::send(&operator, &c("Olga"), &pv).await.unwrap();
    assert!(r.test && r.deliveries > 0, "{r:?}");

    // a broadcaster sends live; the row names the login
    let pv = bc::prepare(
        &broadcaster,
        &cfg,
        &bcastkit::draft("warning", gala(), "Delay", "r3"),
        now,
    )
    .await
    .unwrap();
    let r = bc::send(&broadcaster, &c("Bea"), &pv).await.unwrap();
    assert_eq!(r.outcome, SendOutcome::Sent);
    let by =
        w.s.db
            .fetch_one(
                "SELECT triggered_by FROM emergency_broadcasts WHERE id = $1",
                &[Val::Uuid(r.broadcast_id)],
            )
            .await
            .unwrap()
            .s("triggered_by");
    assert_eq!(by, w.login(Some(Role::Broadcaster)));
    // an operator cannot cancel it; the broadcaster can
    let d = bc::cancel(&operator, &c("Olga"), r.broadcast_id)
        .await
        .unwrap();
    assert_eq!(d.outcome, "denied", "{d:?}");
    assert_eq!(d.exit_code(), 2);
    let d = bc::cancel(&broadcaster, &c("Bea"), r.broadcast_id)
        .await
        .unwrap();
    assert_eq!(d.outcome, "ok", "{d:?}");

    // four-eyes by login: the admin's own critical broadcast waits; naming itself after the
    // other admin does not let it approve; a broadcaster may not approve; the other admin may
    let pv = bc::prepare(
        &admin,
        &cfg,
        &bcastkit::draft("critical", gala(), "Fire", "r4"),
        now,
    )
    .await
    .unwrap();
    assert!(pv.needs_approval);
    let r = bc::send(&admin, &c("Ada"), &pv).await.unwrap();
    assert_eq!(r.outcome, SendOutcome::AwaitingApproval);
    let d = bc::approve(&admin, &c(&admin2), r.broadcast_id)
        .await
        .unwrap();
    assert_eq!(d.outcome, "conflict", "{d:?}");
    assert!(d.message.contains("four-eyes"), "{}", d.message);
    let d = bc::approve(&broadcaster, &c("Bea"), r.broadcast_id)
        .await
        .unwrap();
    assert_eq!(d.outcome, "denied", "{d:?}");
    assert!(d.message.contains("needs opsdeck_admin"), "{}", d.message);
    let d = bc::approve(&second, &c("Max"), r.broadcast_id)
        .await
        .unwrap();
    assert_eq!(d.outcome, "ok", "{d:?}");
    let approved =
        w.s.db
            .fetch_one(
                "SELECT approved_by FROM emergency_broadcasts WHERE id = $1",
                &[Val::Uuid(r.broadcast_id)],
            )
            .await
            .unwrap()
            .s("approved_by");
    assert_eq!(approved, admin2);
    // as raw SQL nobody writes the broadcast tables
    for t in ["emergency_broadcasts", "broadcast_deliveries", "people"] {
        let e = broadcaster
            .db
            .execute(&format!("UPDATE {t} SET id = id"), &[])
            .await
            .map(|_| ())
            .expect_err("raw UPDATE");
        assert!(e.to_string().contains("permission denied"), "{t}: {e}");
    }
    for st in [operator, broadcaster, admin, second] {
        st.db.close().await;
    }
    let mut w = w;
    w.logins.push((None, admin2));
    w.drop_logins().await;
}

/// Test broadcasts go to the test recipients the database holds: an operator's configuration
/// cannot make an attendee a "test recipient"; only an admin changes the list (audited, from
/// the CLI too); a raw call that names an attendee is refused even for one person; a
/// broadcaster is not held to the list (it may send live anyway).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_broadcasts_reach_only_held_recipients() {
    use opsdeck::api::broadcast as bc;
    use opsdeck::config::{BroadcastConfig, TestRecipient};
    use opsdeck::domain::broadcast::Target;
    let Some(w) = World::new().await else { return };
    bcastkit::fixture(&w.s).await;
    let now = chrono::Utc::now();
    let operator = w.store_as(w.login(Some(Role::Operator))).await;
    let broadcaster = w.store_as(w.login(Some(Role::Broadcaster))).await;
    // the operator's configuration names an attendee (Fay, +33622222222) as its test recipient
    let cfg = BroadcastConfig {
        test_recipients: vec![TestRecipient {
            name: "me".into(),
            phone: Some("+33622222222".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let c = |who: &str| bcastkit::ctx(who, cfg.clone());
    let mut d = bcastkit::draft("info", Target::Event("Gala".into()), "Drill", "t1");
    d.test = true;
    let pv = bc::prepare(&operator, &cfg, &d, now).await.unwrap();
    let before = bcastkit::written(&w.s).await;
    let e = bc::send(&operator, &c("Olga"), &pv).await.unwrap_err();
    assert!(e.contains("not on it: Fay"), "{e}");
    let after = bcastkit::written(&w.s).await;
    assert_eq!(after[..3], before[..3], "no broadcast, delivery or job");
    // a broadcaster's test is not held to the list
    let pv = bc::prepare(&broadcaster, &cfg, &d, now).await.unwrap();
    let r = bc::send(&broadcaster, &c("Bea"), &pv).await.unwrap();
    assert!(r.test && r.deliveries == 1, "{r:?}");

    // the list: the operator may not change it (denied and audited); an admin may, from the CLI
    let e = bc::set_test_recipients(
        &operator,
        &c("Olga"),
        &[("me".into(), Some("+33622222222".into()), None)],
        &[],
        false,
    )
    .await
    .unwrap_err();
    assert!(e.contains("needs opsdeck_admin"), "{e}");
    let denied =
        w.s.db
            .fetch_one(
                "SELECT count(*) AS n FROM operator_actions                  WHERE action = 'broadcast.test_recipients' AND outcome = 'denied' AND operator = $1",
                &[Val::Text(w.login(Some(Role::Operator)).into())],
            )
            .await
            .unwrap()
            .i64("n");
    assert_eq!(denied, Some(1));
    let admin = w.url(w.login(Some(Role::Admin)));
    let o = opsdeck(
        &[
            "--database-url",
            &admin,
            "broadcast",
            "test-recipients",
            "--add",
            "Olga=+33600000001,olga@ops.example",
            "--add",
            "Desk=desk@ops.example",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_str(text(&o).trim()).unwrap();
    assert_eq!(v["test_recipients"].as_array().unwrap().len(), 2, "{v}");
    let o = opsdeck(
        &[
            "--database-url",
            &w.url(w.login(Some(Role::Operator))),
            "broadcast",
            "test-recipients",
            "--remove",
            "desk@ops.example",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("needs opsdeck_admin"), "{}", text(&o));
    let o = opsdeck(
        &[
            "--database-url",
            &admin,
            "broadcast",
            "test-recipients",
            "--add",
            "x",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("NAME=CONTACT"), "{}", text(&o));

    // now the operator's test goes to the held list (Olga and Desk), not to its configuration
    let mut d = bcastkit::draft("info", Target::Event("Gala".into()), "Drill", "t2");
    d.test = true;
    let pv = bc::prepare(&operator, &cfg, &d, now).await.unwrap();
    let r = bc::send(&operator, &c("Olga"), &pv).await.unwrap();
    assert!(r.test && r.deliveries == 2, "{r:?}");
    // a raw call that names one attendee is refused
    let p = serde_json::json!({"id": Uuid::new_v4(), "idempotency_key": "raw-test",
        "level": "info", "scope": "venue", "venue_name": "Hall", "message": "hi", "test": true,
        "reached": 1, "unreachable": 0, "duplicates": 0,
        "deliveries": [[bcastkit::p(6), "sms"]]});
    let out = operator
        .db
        .fetch_one(
            "SELECT opsdeck_broadcast_send($1{json}, 'x', 'psql') AS r",
            &[Val::Json(p)],
        )
        .await
        .unwrap()
        .json("r")
        .unwrap();
    assert_eq!(out["outcome"], "denied", "{out}");
    assert!(out["message"].as_str().unwrap().contains("Fay"), "{out}");
    // … and so is one that invents a "new person" with an attendee's phone but another name
    let p = serde_json::json!({"id": Uuid::new_v4(), "idempotency_key": "raw-test-2",
        "level": "info", "scope": "venue", "venue_name": "Hall", "message": "hi", "test": true,
        "reached": 1, "unreachable": 0, "duplicates": 0,
        "new_people": [{"id": Uuid::from_u128(77), "name": "TEST me", "phone": "+33633333333"}],
        "deliveries": [[Uuid::from_u128(77), "sms"]]});
    let out = operator
        .db
        .fetch_one(
            "SELECT opsdeck_broadcast_send($1{json}, 'x', 'psql') AS r",
            &[Val::Json(p)],
        )
        .await
        .unwrap()
        .json("r")
        .unwrap();
    assert_eq!(out["outcome"], "denied", "{out}");
    for st in [operator, broadcaster] {
        st.db.close().await;
    }
    w.drop_logins().await;
}

/// The review's bypasses, each shut: an operator cannot cancel or retry a broadcast's delivery
/// jobs one by one, cannot call a "test" to more than 10 people, cannot claim or record n8n's
/// webhook call; the input rules hold for raw callers; a schema others may create in is flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn side_doors_are_shut() {
    let Some(w) = World::new().await else { return };
    let op_login = w.login(Some(Role::Operator)).to_string();
    let op = w.store_as(&op_login).await;
    let code = sqlstate;
    // a broadcast's delivery job
    let job = Uuid::new_v4();
    w.s.db
        .execute(
            "INSERT INTO job_queue (id, job_type, status) VALUES ($1, 'broadcast.sms', 'pending')",
            &[Val::Uuid(job)],
        )
        .await
        .unwrap();
    let r = execute(
        &op,
        &ctx("Olga"),
        &Action::CancelJobs {
            jobs: vec![Named::new(job, "sms")],
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Denied, "{}", r.message);
    assert!(
        r.message.contains("needs opsdeck_broadcaster"),
        "{}",
        r.message
    );
    // a "test" to 11 people
    let people: Vec<serde_json::Value> = (0..11)
        .map(|_| serde_json::json!([Uuid::new_v4(), "sms"]))
        .collect();
    let p = serde_json::json!({"id": Uuid::new_v4(), "idempotency_key": "side-door",
        "level": "info", "scope": "venue", "venue_name": "Hall", "message": "hi", "test": true,
        "reached": 11, "unreachable": 0, "duplicates": 0, "deliveries": people});
    let out = op
        .db
        .fetch_one(
            "SELECT opsdeck_broadcast_send($1{json}, 'x', 'psql') AS r",
            &[Val::Json(p)],
        )
        .await
        .unwrap()
        .json("r")
        .unwrap();
    assert_eq!(out["outcome"], "denied", "{out}");
    assert!(
        out["message"].as_str().unwrap().contains("at most 10"),
        "{out}"
    );
    // n8n's webhook: not an operator's to claim or record
    let b = Uuid::new_v4();
    w.s.db
        .execute(
            "INSERT INTO emergency_broadcasts (id, idempotency_key, level, scope, message, \
             triggered_by, status) VALUES ($1, 'wh', 'info', 'venue', 'm', 'x', 'queued')",
            &[Val::Uuid(b)],
        )
        .await
        .unwrap();
    let out = op
        .db
        .fetch_one(
            "SELECT opsdeck_broadcast_claim_webhook($1) AS r",
            &[Val::Uuid(b)],
        )
        .await
        .unwrap()
        .json("r")
        .unwrap();
    assert!(out.get("body").is_none(), "{out}");
    let ok = op
        .db
        .fetch_one(
            "SELECT opsdeck_broadcast_record_webhook($1, true, NULL, '{}'::jsonb, 'x', 'y') AS ok",
            &[Val::Uuid(b)],
        )
        .await
        .unwrap()
        .bool("ok");
    assert_eq!(ok, Some(false));
    let st =
        w.s.db
            .fetch_one(
                "SELECT COALESCE(webhook_status, '') AS s FROM emergency_broadcasts WHERE id = $1",
                &[Val::Uuid(b)],
            )
            .await
            .unwrap()
            .s("s");
    assert_eq!(st, "");
    // the input rules hold for callers that are not opsdeck
    let e = op
        .db
        .fetch_one(
            "SELECT opsdeck_act('{\"action\":\"resolve\",\"discrepancy\":\"00000000-0000-0000-0000-000000000000\",\"label\":\"x\",\"ignore\":true,\"note\":\"  \"}'::jsonb, 'x', 'y') AS r",
            &[],
        )
        .await
        .map(|_| ())
        .expect_err("a blank note");
    assert_eq!(code(e), "22023");
    // a schema others may create in is flagged
    w.s.db
        .execute_script(&format!("GRANT CREATE ON SCHEMA public TO {op_login}"))
        .await
        .unwrap();
    let a = op.access().await.unwrap();
    assert_eq!(a.schema_creators, vec![op_login.clone()]);
    assert!(
        a.advice().unwrap().contains("REVOKE CREATE"),
        "{:?}",
        a.advice()
    );
    w.s.db
        .execute_script(&format!("REVOKE CREATE ON SCHEMA public FROM {op_login}"))
        .await
        .unwrap();
    op.db.close().await;
    w.drop_logins().await;
}

/// The four-eyes levels held by the database: an admin sets them (a broadcaster may not), and a
/// live broadcast of such a level waits for a second login although the sender's configuration
/// does not ask for it, and even when a raw caller says it need not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_eyes_levels_are_the_databases() {
    use opsdeck::api::broadcast as bc;
    use opsdeck::config::BroadcastConfig;
    use opsdeck::domain::broadcast::{SendOutcome, Target};
    let Some(w) = World::new().await else { return };
    bcastkit::fixture(&w.s).await;
    let admin = w.url(w.login(Some(Role::Admin)));
    let broadcaster_url = w.url(w.login(Some(Role::Broadcaster)));
    let o = opsdeck(
        &[
            "--database-url",
            &broadcaster_url,
            "broadcast",
            "rules",
            "--second-operator-for",
            "",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("needs opsdeck_admin"), "{}", text(&o));
    let o = opsdeck(
        &[
            "--database-url",
            &admin,
            "broadcast",
            "rules",
            "--second-operator-for",
            "critical",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = opsdeck(
        &[
            "--database-url",
            &broadcaster_url,
            "broadcast",
            "rules",
            "--json",
        ],
        &[],
    );
    assert!(text(&o).contains("\"critical\""), "{}", text(&o));
    // the sender's configuration has no four-eyes rule: the database's holds it anyway
    let cfg = BroadcastConfig::default();
    let b = w.store_as(w.login(Some(Role::Broadcaster))).await;
    let pv = bc::prepare(
        &b,
        &cfg,
        &bcastkit::draft("critical", Target::Event("Gala".into()), "Fire", "fe1"),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(pv.needs_approval, "the preview says it will wait");
    let r = bc::send(&b, &bcastkit::ctx("Bea", cfg.clone()), &pv)
        .await
        .unwrap();
    assert_eq!(r.outcome, SendOutcome::AwaitingApproval);
    // a raw caller saying it need not wait: it waits
    let p = serde_json::json!({"id": Uuid::new_v4(), "idempotency_key": "fe2",
        "level": "critical", "scope": "venue", "venue_name": "Hall", "message": "m",
        "test": false, "needs_approval": false, "reached": 0, "unreachable": 0,
        "duplicates": 0, "deliveries": []});
    let out =
        b.db.fetch_one(
            "SELECT opsdeck_broadcast_send($1{json}, 'x', 'psql') AS r",
            &[Val::Json(p)],
        )
        .await
        .unwrap()
        .json("r")
        .unwrap();
    assert_eq!(out["status"], "awaiting_approval", "{out}");
    b.db.close().await;
    w.drop_logins().await;
}
