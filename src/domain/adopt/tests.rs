use super::*;

fn col(name: &str, t: &str) -> Column {
    Column::new(name, t)
}

/// Seed 004's four tables, as the catalog describes them.
fn seed_004() -> Catalog {
    let mut c = Catalog::default();
    c.tables.insert(
        "workflows".into(),
        vec![
            col("id", "uuid"),
            col("name", "character varying"),
            col("trigger_type", "character varying"),
            col("is_active", "boolean"),
            col("created_at", "timestamp with time zone"),
        ],
    );
    c.tables.insert(
        "workflow_executions".into(),
        vec![
            col("id", "uuid"),
            col("workflow_id", "uuid"),
            col("status", "character varying"),
            col("started_at", "timestamp with time zone"),
            col("completed_at", "timestamp with time zone"),
        ],
    );
    c.tables.insert(
        "workflow_step_logs".into(),
        vec![col("id", "uuid"), col("execution_id", "uuid")],
    );
    c.tables.insert(
        "job_queue".into(),
        vec![
            col("id", "uuid"),
            col("status", "character varying"),
            col("priority", "integer"),
            col("created_at", "timestamp with time zone"),
        ],
    );
    c
}

fn what(p: &Plan, g: Group, subject: &str) -> String {
    p.group(g)
        .find(|s| s.subject == subject)
        .map(|s| s.what.clone())
        .unwrap_or_else(|| panic!("no {g:?} step for {subject}: {p:#?}"))
}

#[test]
fn an_empty_database_is_fresh_and_opsdecks_own_is_opsdeck() {
    assert_eq!(plan(&Catalog::default()).kind, Kind::Fresh);
    assert!(plan(&Catalog::default()).steps.is_empty());
    let mut c = seed_004();
    c.migrations = Some(vec![1, 2, 3]);
    assert_eq!(kind(&c), Kind::Opsdeck);
    // bookkeeping without a single migration is not opsdeck's schema
    c.migrations = Some(vec![]);
    assert_eq!(kind(&c), Kind::Existing);
}

#[test]
fn seed_004_is_adopted_with_its_mappings() {
    let p = plan(&seed_004());
    assert_eq!(p.kind, Kind::Existing);
    assert!(what(&p, Group::Adopt, "workflows").contains("is_active true = active"));
    assert!(
        what(&p, Group::Adopt, "workflow_executions")
            .contains("duration = completed_at - started_at")
    );
    let jobs = what(&p, Group::Adopt, "job_queue");
    assert!(jobs.contains("no updated_at"), "{jobs}");
    assert!(jobs.contains("no workflow_id"), "{jobs}");
    // what an adoption adds is the store's to say (api::store::adopt::script)
    assert!(p.group(Group::Add).next().is_none());
    // absent tables are skipped, never created over the user's schema
    assert!(what(&p, Group::Skip, "approval_requests").contains("not in this database"));
    assert!(p.group(Group::Warn).next().is_none(), "{p:#?}");
    // the groups come in reading order
    let groups: Vec<Group> = p.steps.iter().map(|s| s.group).collect();
    let mut sorted = groups.clone();
    sorted.sort();
    assert_eq!(groups, sorted);
}

#[test]
fn seed_000_errors_are_classified_from_the_message() {
    let mut c = Catalog::default();
    c.tables.insert(
        "workflow_errors".into(),
        vec![
            col("workflow_id", "text"),
            col("error_message", "text"),
            col("error_time", "timestamp with time zone"),
            col("execution_id", "text"),
        ],
    );
    let p = plan(&c);
    let w = what(&p, Group::Adopt, "workflow_errors");
    assert!(w.contains("n8n's workflow id"), "{w}");
    assert!(w.contains("classified from the message"), "{w}");
    assert!(w.contains("error_time is when"), "{w}");
}

#[test]
fn unknown_words_and_types_are_warnings_not_errors() {
    let mut c = seed_004();
    c.words.insert(
        "workflow_executions.status".into(),
        vec![
            ("success".into(), 10),
            ("error".into(), 2),
            ("zombie".into(), 1),
        ],
    );
    c.tables.get_mut("job_queue").unwrap()[2] = col("priority", "text");
    let p = plan(&c);
    let warns: Vec<&Step> = p.group(Group::Warn).collect();
    assert_eq!(warns.len(), 2, "{warns:#?}");
    assert!(
        warns
            .iter()
            .any(|s| s.subject == "workflow_executions.status"
                && s.what.contains("'zombie' (1 rows)"))
    );
    assert!(
        warns
            .iter()
            .any(|s| s.subject == "job_queue.priority" && s.what.contains("is text"))
    );
}

#[test]
fn seed_words_map_to_the_contract() {
    let m = |col: &str, w: &str| {
        known_words(col)
            .iter()
            .find(|(k, _)| *k == w)
            .map(|(_, v)| *v)
    };
    assert_eq!(
        m("workflow_executions.status", "success"),
        Some("completed")
    );
    assert_eq!(m("workflow_executions.status", "error"), Some("failed"));
    assert_eq!(m("tickets.status", "paid"), Some("sold"));
    assert_eq!(m("automation_workflows.status", "paused"), Some("paused"));
    assert_eq!(m("job_queue.status", "zombie"), None);
}

#[test]
fn error_messages_classify_like_the_seeds_error_analysis() {
    for (msg, want) in [
        ("Request timed out after 30000ms", "timeout"),
        ("ETIMEDOUT 10.0.0.1:443", "timeout"),
        (
            "Request failed with status code 401",
            "authentication_failed",
        ),
        (
            "Invalid API key provided: sk_live_…",
            "authentication_failed",
        ),
        ("429 Too Many Requests", "rate_limit"),
        ("Twilio: rate limit exceeded", "rate_limit"),
        ("connect ECONNREFUSED 127.0.0.1:5432", "network"),
        ("getaddrinfo ENOTFOUND api.sendgrid.com", "network"),
        (
            "Cannot read properties of undefined (reading 'email')",
            "unknown",
        ),
        ("", "unknown"),
    ] {
        assert_eq!(classify_error(msg), want, "{msg}");
    }
}
