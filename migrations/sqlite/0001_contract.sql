-- opsdeck automation-database contract (see DOMAIN.md). SQLite flavour: TEXT/TEXT/TEXT stored as TEXT (timestamps as fixed-width RFC 3339 UTC, microseconds).

CREATE TABLE workflows (
    id                TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    name              TEXT NOT NULL UNIQUE,
    description       TEXT,
    trigger_type      TEXT NOT NULL DEFAULT 'webhook',
    status            TEXT NOT NULL DEFAULT 'active',
    n8n_workflow_id   TEXT,
    paused_by         TEXT,
    paused_at         TEXT,
    pause_reason      TEXT,
    next_execution_at TEXT,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);

CREATE TABLE events (
    id           TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    name         TEXT NOT NULL,
    venue_name   TEXT NOT NULL,
    city         TEXT,
    start_at     TEXT NOT NULL,
    end_at       TEXT,
    capacity     INTEGER NOT NULL CHECK (capacity >= 0),
    status       TEXT NOT NULL DEFAULT 'published',
    -- maintained by trigger from tickets: capacity reads follow the rate of sales, not table size
    tickets_sold INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
CREATE INDEX events_start_idx ON events (start_at);

CREATE TABLE workflow_executions (
    id               TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    workflow_id      TEXT NOT NULL REFERENCES workflows(id),
    status           TEXT NOT NULL DEFAULT 'pending',
    started_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    completed_at     TEXT,
    duration_ms      INTEGER,
    event_id         TEXT REFERENCES events(id),
    steps_total      INTEGER NOT NULL DEFAULT 0,
    steps_completed  INTEGER NOT NULL DEFAULT 0,
    current_step     TEXT,
    error_message    TEXT,
    context          TEXT NOT NULL DEFAULT '{}',
    n8n_execution_id TEXT,
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
CREATE INDEX wfx_started_idx ON workflow_executions (started_at DESC, id DESC);
CREATE INDEX wfx_workflow_started_idx ON workflow_executions (workflow_id, started_at DESC);
CREATE INDEX wfx_completed_idx ON workflow_executions (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX wfx_open_idx ON workflow_executions (status, workflow_id)
    WHERE status IN ('pending', 'running', 'waiting');
CREATE INDEX wfx_updated_idx ON workflow_executions (updated_at);

CREATE TABLE workflow_step_logs (
    id            TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    execution_id  TEXT NOT NULL REFERENCES workflow_executions(id) ON DELETE CASCADE,
    step_index    INTEGER NOT NULL,
    step_name     TEXT NOT NULL,
    status        TEXT NOT NULL,
    input         TEXT,
    output        TEXT,
    error_message TEXT,
    duration_ms   INTEGER,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
CREATE INDEX wfsl_execution_idx ON workflow_step_logs (execution_id, created_at DESC, id DESC);

CREATE TABLE workflow_errors (
    id            TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    workflow_id   TEXT REFERENCES workflows(id),
    execution_id  TEXT REFERENCES workflow_executions(id) ON DELETE SET NULL,
    error_type    TEXT NOT NULL DEFAULT 'unknown',
    error_message TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
CREATE INDEX wferr_created_idx ON workflow_errors (created_at DESC, id DESC);
CREATE INDEX wferr_pattern_idx ON workflow_errors (workflow_id, error_type, created_at DESC);
CREATE INDEX wferr_workflow_idx ON workflow_errors (workflow_id, created_at DESC);

CREATE TABLE job_queue (
    id            TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    job_type      TEXT NOT NULL,
    payload       TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL DEFAULT 'pending',
    priority      INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL DEFAULT 3,
    scheduled_for TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    started_at    TEXT,
    completed_at  TEXT,
    error_message TEXT,
    workflow_id   TEXT REFERENCES workflows(id),
    locked_by     TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
-- claim order: pending/retrying, due, highest priority, oldest first
CREATE INDEX jq_claim_idx ON job_queue (priority DESC, scheduled_for, created_at)
    WHERE status IN ('pending', 'retrying');
-- exact counts of open states
CREATE INDEX jq_open_idx ON job_queue (status, job_type, created_at)
    WHERE status IN ('pending', 'retrying', 'processing', 'failed');
CREATE INDEX jq_created_idx ON job_queue (created_at DESC, id DESC);
CREATE INDEX jq_completed_idx ON job_queue (completed_at) WHERE status = 'completed';
CREATE INDEX jq_updated_idx ON job_queue (updated_at);

CREATE TABLE tickets (
    id       TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    event_id TEXT NOT NULL REFERENCES events(id),
    tier     TEXT NOT NULL DEFAULT 'general',
    status   TEXT NOT NULL DEFAULT 'sold',
    sold_at  TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
CREATE INDEX tickets_event_idx ON tickets (event_id, status);

CREATE TABLE capacity_alerts (
    id              TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    event_id        TEXT NOT NULL REFERENCES events(id),
    threshold       INTEGER NOT NULL,
    sold            INTEGER NOT NULL,
    capacity        INTEGER NOT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    UNIQUE (event_id, threshold)
);
CREATE INDEX capalert_open_idx ON capacity_alerts (created_at DESC) WHERE acknowledged_at IS NULL;

CREATE TABLE approval_requests (
    id            TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    type          TEXT NOT NULL,
    data          TEXT NOT NULL DEFAULT '{}',
    priority      TEXT NOT NULL DEFAULT 'normal',
    requested_by  TEXT,
    status        TEXT NOT NULL DEFAULT 'pending',
    decided_by    TEXT,
    decided_at    TEXT,
    decision_note TEXT,
    resume_url    TEXT,
    execution_id  TEXT REFERENCES workflow_executions(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    expires_at    TEXT
);
CREATE INDEX appr_created_idx ON approval_requests (created_at DESC, id DESC);
CREATE INDEX appr_pending_idx ON approval_requests (created_at DESC) WHERE status = 'pending';

CREATE TABLE rate_negotiations (
    id                  TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    approval_request_id TEXT REFERENCES approval_requests(id),
    model_id            TEXT,
    model_name          TEXT NOT NULL,
    designer_id         TEXT,
    designer_name       TEXT NOT NULL,
    designer_tier       TEXT NOT NULL,
    standard_rate       INTEGER NOT NULL,
    proposed_rate       INTEGER NOT NULL,
    show_count          INTEGER NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending',
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
CREATE INDEX ratneg_request_idx ON rate_negotiations (approval_request_id);

CREATE TABLE reconciliation_runs (
    id                  TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    reconciliation_date TEXT NOT NULL,
    stripe_count        INTEGER NOT NULL DEFAULT 0,
    db_count            INTEGER NOT NULL DEFAULT 0,
    discrepancy_count   INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL DEFAULT 'success',
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
CREATE INDEX recrun_created_idx ON reconciliation_runs (created_at DESC, id DESC);

CREATE TABLE reconciliation_discrepancies (
    id            TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    run_id        TEXT NOT NULL REFERENCES reconciliation_runs(id),
    kind          TEXT NOT NULL,
    stripe_id     TEXT,
    db_id         TEXT,
    stripe_amount INTEGER,
    db_amount     INTEGER,
    status        TEXT NOT NULL DEFAULT 'open',
    resolved_by   TEXT,
    resolved_at   TEXT,
    note          TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);
CREATE INDEX recdisc_created_idx ON reconciliation_discrepancies (created_at DESC, id DESC);
CREATE INDEX recdisc_open_idx ON reconciliation_discrepancies (kind, created_at DESC) WHERE status = 'open';
CREATE INDEX recdisc_run_idx ON reconciliation_discrepancies (run_id);

CREATE TABLE people (
    id              TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    name            TEXT NOT NULL,
    phone           TEXT,
    email           TEXT,
    primary_channel TEXT,
    language        TEXT NOT NULL DEFAULT 'en',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);

CREATE TABLE event_attendees (
    event_id  TEXT NOT NULL REFERENCES events(id),
    person_id TEXT NOT NULL REFERENCES people(id),
    ticket_id TEXT REFERENCES tickets(id),
    PRIMARY KEY (event_id, person_id)
);
CREATE TABLE event_models (
    event_id  TEXT NOT NULL REFERENCES events(id),
    person_id TEXT NOT NULL REFERENCES people(id),
    status    TEXT NOT NULL DEFAULT 'confirmed',
    PRIMARY KEY (event_id, person_id)
);
CREATE TABLE event_staff (
    event_id  TEXT NOT NULL REFERENCES events(id),
    person_id TEXT NOT NULL REFERENCES people(id),
    role      TEXT NOT NULL DEFAULT 'staff',
    PRIMARY KEY (event_id, person_id)
);

CREATE TABLE emergency_broadcasts (
    id              TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    idempotency_key TEXT NOT NULL UNIQUE,
    level           TEXT NOT NULL,
    scope           TEXT NOT NULL,
    event_id        TEXT REFERENCES events(id),
    venue_name      TEXT,
    message         TEXT NOT NULL,
    triggered_by    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    affected_count  INTEGER NOT NULL DEFAULT 0,
    test            INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    completed_at    TEXT
);
CREATE INDEX bcast_created_idx ON emergency_broadcasts (created_at DESC, id DESC);

CREATE TABLE broadcast_deliveries (
    id           TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    broadcast_id TEXT NOT NULL REFERENCES emergency_broadcasts(id),
    person_id    TEXT REFERENCES people(id),
    channel      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'queued',
    error        TEXT,
    sent_at      TEXT
);
CREATE INDEX bdel_broadcast_idx ON broadcast_deliveries (broadcast_id, channel, status);

CREATE TABLE system_metrics (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    measured_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    cpu_usage    REAL,
    memory_usage REAL,
    queue_depth  INTEGER
);
CREATE INDEX sysmet_measured_idx ON system_metrics (measured_at DESC);

CREATE TABLE operator_actions (
    id          TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)),2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)),2) || '-' || hex(randomblob(6)))),
    at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'),
    operator    TEXT NOT NULL,
    origin      TEXT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT,
    before      TEXT,
    after       TEXT,
    note        TEXT,
    outcome     TEXT NOT NULL
);
CREATE INDEX opact_at_idx ON operator_actions (at DESC, id DESC);

-- tickets_sold follows ticket status changes
CREATE TRIGGER tickets_sold_ins AFTER INSERT ON tickets WHEN NEW.status = 'sold'
BEGIN
    UPDATE events SET tickets_sold = tickets_sold + 1, updated_at = (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z') WHERE id = NEW.event_id;
END;
CREATE TRIGGER tickets_sold_upd AFTER UPDATE OF status, event_id ON tickets
BEGIN
    UPDATE events SET tickets_sold = tickets_sold - 1, updated_at = (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z') WHERE id = OLD.event_id AND OLD.status = 'sold';
    UPDATE events SET tickets_sold = tickets_sold + 1, updated_at = (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z') WHERE id = NEW.event_id AND NEW.status = 'sold';
END;
CREATE TRIGGER tickets_sold_del AFTER DELETE ON tickets WHEN OLD.status = 'sold'
BEGIN
    UPDATE events SET tickets_sold = tickets_sold - 1, updated_at = (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z') WHERE id = OLD.event_id;
END;
