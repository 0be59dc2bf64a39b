use super::*;
use crate::domain::adopt::{Catalog, Column, classify_error};

fn col(name: &str, t: &str) -> Column {
    Column::new(name, t)
}

/// Seed 004's workflows and job_queue, as the catalog describes them.
fn seed_004() -> Catalog {
    let mut c = Catalog::default();
    c.tables.insert(
        "workflows".into(),
        vec![
            col("id", "uuid"),
            col("name", "character varying"),
            col("is_active", "boolean"),
            col("created_at", "timestamp with time zone"),
            col("updated_at", "timestamp with time zone"),
        ],
    );
    c.tables.insert(
        "job_queue".into(),
        vec![
            col("id", "uuid"),
            col("job_type", "character varying"),
            col("status", "character varying"),
            col("created_at", "timestamp with time zone"),
            col("completed_at", "timestamp with time zone"),
        ],
    );
    c
}

fn sql_of<'a>(s: &'a [Stmt], subject: &str) -> &'a str {
    &s.iter()
        .find(|s| s.subject == subject)
        .unwrap_or_else(|| panic!("no statement for {subject}"))
        .sql
}

#[test]
fn the_same_catalog_gives_the_same_statements() {
    let o = Options::default();
    let a = statements(&seed_004(), &o);
    assert_eq!(a, statements(&seed_004(), &o));
    assert_eq!(fingerprint(&a), fingerprint(&statements(&seed_004(), &o)));
    let no = Options {
        triggers: false,
        ..o
    };
    assert_ne!(fingerprint(&a), fingerprint(&statements(&seed_004(), &no)));
}

#[test]
fn is_active_is_the_status_and_pauses_live_in_the_extra_table() {
    let s = statements(&seed_004(), &Options::default());
    let v = sql_of(&s, "opsdeck.workflows");
    assert!(
        v.contains("CASE WHEN b.is_active IS FALSE THEN 'paused' ELSE 'active' END AS status"),
        "{v}"
    );
    assert!(
        v.contains("(SELECT x.paused_by FROM opsdeck.workflows_extra x WHERE x.id = b.id)"),
        "{v}"
    );
    assert!(v.contains("is_active = CASE WHEN NEW.status IS DISTINCT FROM OLD.status THEN NEW.status = 'active'"), "{v}");
    let x = sql_of(&s, "opsdeck.workflows_extra");
    assert!(
        x.contains("paused_by text") && x.contains("pause_reason text"),
        "{x}"
    );
    // the user's own updated_at is read as it is, not kept aside
    assert!(!x.contains("updated_at"), "{x}");
}

#[test]
fn nothing_touches_the_users_tables_but_indexes_and_opsdecks_triggers() {
    for triggers in [true, false] {
        let o = Options {
            triggers,
            ..Options::default()
        };
        for s in statements(&seed_004(), &o) {
            for line in s.sql.lines() {
                let l = line.to_uppercase();
                // opsdeck's own tables may change (its audit trail's login columns), never yours
                if l.contains("ALTER TABLE") {
                    assert!(l.contains("ALTER TABLE OPSDECK."), "{}: {line}", s.subject);
                }
                for bad in [
                    "DROP TABLE PUBLIC",
                    "TRUNCATE",
                    "DELETE FROM PUBLIC",
                    "RENAME",
                ] {
                    assert!(!l.contains(bad), "{}: {line}", s.subject);
                }
                if l.contains("DROP TRIGGER") {
                    assert!(l.contains("OPSDECK_"), "{line}");
                }
            }
            if s.index.is_some() {
                assert!(s.concurrently && s.sql.contains("CONCURRENTLY IF NOT EXISTS"));
            }
        }
    }
}

#[test]
fn without_triggers_the_rollups_are_views_and_nothing_fires_on_the_writers() {
    let o = Options {
        triggers: false,
        ..Options::default()
    };
    let s = statements(&seed_004(), &o);
    assert!(
        s.iter()
            .all(|s| !s.sql.contains("CREATE TRIGGER opsdeck_notify"))
    );
    assert!(
        s.iter()
            .all(|s| !s.sql.contains("CREATE TRIGGER opsdeck_job_minutes"))
    );
    assert!(
        sql_of(&s, "opsdeck.job_minutes (view)")
            .contains("CREATE OR REPLACE VIEW opsdeck.job_minutes")
    );
    assert!(
        s.iter()
            .any(|s| s.index.as_deref() == Some("opsdeck_jq_completed_idx"))
    );
}

#[test]
fn an_absent_table_is_an_empty_view_that_refuses_writes() {
    let s = statements(&seed_004(), &Options::default());
    let v = sql_of(&s, "opsdeck.capacity_alerts");
    assert!(v.contains("WHERE false"), "{v}");
    assert!(v.contains("EXECUTE FUNCTION opsdeck.absent()"), "{v}");
    let rec = sql_of(&s, "opsdeck.adopted_tables");
    assert!(rec.contains("('job_queue', true)") && rec.contains("('capacity_alerts', false)"));
}

#[test]
fn the_sql_classification_uses_the_same_words_as_rust() {
    let sql = classify_sql("m");
    for (class, words) in ERROR_CLASSES {
        for w in *words {
            assert!(sql.contains(&format!("'{w}'")), "{w}");
            assert_eq!(classify_error(w), *class, "{w}");
        }
    }
    assert!(sql.ends_with("ELSE 'unknown' END"));
}

#[test]
fn the_plan_shows_each_statement_with_its_cost() {
    let p = super::super::plan(&seed_004(), &Options::default());
    let add: Vec<_> = p.group(crate::domain::adopt::Group::Add).collect();
    assert!(
        add.iter()
            .any(|s| s.subject == "opsdeck.workflows_extra" && s.what.contains("who paused"))
    );
    assert!(add.iter().all(|s| s.sql.is_some()));
    assert!(add.iter().any(|s| {
        s.cost
            .as_deref()
            .is_some_and(|c| c.contains("CONCURRENTLY"))
    }));
}

#[test]
fn paid_tickets_are_sold_and_count_toward_capacity() {
    let mut c = Catalog::default();
    c.tables.insert(
        "events".into(),
        vec![
            col("id", "uuid"),
            col("name", "text"),
            col("capacity", "integer"),
        ],
    );
    c.tables.insert(
        "tickets".into(),
        vec![
            col("id", "uuid"),
            col("event_id", "uuid"),
            col("status", "text"),
        ],
    );
    let s = statements(&c, &Options::default());
    let t = sql_of(&s, "opsdeck.tickets");
    assert!(t.contains("WHEN 'paid' THEN 'sold'"), "{t}");
    let e = sql_of(&s, "opsdeck.events");
    assert!(e.contains("IN ('sold', 'paid')) AS tickets_sold"), "{e}");
}
