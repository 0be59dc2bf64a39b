-- opsdeck automation-database contract (see DOMAIN.md). Postgres flavour.

CREATE TABLE workflows (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name              text NOT NULL UNIQUE,
    description       text,
    trigger_type      text NOT NULL DEFAULT 'webhook',
    status            text NOT NULL DEFAULT 'active',
    n8n_workflow_id   text,
    paused_by         text,
    paused_at         timestamptz,
    pause_reason      text,
    next_execution_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    venue_name   text NOT NULL,
    city         text,
    start_at     timestamptz NOT NULL,
    end_at       timestamptz,
    capacity     integer NOT NULL CHECK (capacity >= 0),
    status       text NOT NULL DEFAULT 'published',
    -- maintained by trigger from tickets: capacity reads follow the rate of sales, not table size
    tickets_sold integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_start_idx ON events (start_at);

CREATE TABLE workflow_executions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id      uuid NOT NULL REFERENCES workflows(id),
    status           text NOT NULL DEFAULT 'pending',
    started_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    duration_ms      bigint,
    event_id         uuid REFERENCES events(id),
    steps_total      integer NOT NULL DEFAULT 0,
    steps_completed  integer NOT NULL DEFAULT 0,
    current_step     text,
    error_message    text,
    context          jsonb NOT NULL DEFAULT '{}'::jsonb,
    n8n_execution_id text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wfx_started_idx ON workflow_executions (started_at DESC, id DESC);
CREATE INDEX wfx_workflow_started_idx ON workflow_executions (workflow_id, started_at DESC);
CREATE INDEX wfx_completed_idx ON workflow_executions (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX wfx_open_idx ON workflow_executions (status, workflow_id)
    WHERE status IN ('pending', 'running', 'waiting');
CREATE INDEX wfx_updated_idx ON workflow_executions (updated_at);

CREATE TABLE workflow_step_logs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    execution_id  uuid NOT NULL REFERENCES workflow_executions(id) ON DELETE CASCADE,
    step_index    integer NOT NULL,
    step_name     text NOT NULL,
    status        text NOT NULL,
    input         jsonb,
    output        jsonb,
    error_message text,
    duration_ms   bigint,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wfsl_execution_idx ON workflow_step_logs (execution_id, created_at DESC, id DESC);

CREATE TABLE workflow_errors (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id   uuid REFERENCES workflows(id),
    execution_id  uuid REFERENCES workflow_executions(id) ON DELETE SET NULL,
    error_type    text NOT NULL DEFAULT 'unknown',
    error_message text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wferr_created_idx ON workflow_errors (created_at DESC, id DESC);
CREATE INDEX wferr_pattern_idx ON workflow_errors (workflow_id, error_type, created_at DESC);
CREATE INDEX wferr_workflow_idx ON workflow_errors (workflow_id, created_at DESC);

CREATE TABLE job_queue (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_type      text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
    status        text NOT NULL DEFAULT 'pending',
    priority      integer NOT NULL DEFAULT 0,
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 3,
    scheduled_for timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    completed_at  timestamptz,
    error_message text,
    workflow_id   uuid REFERENCES workflows(id),
    locked_by     text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
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
    id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id uuid NOT NULL REFERENCES events(id),
    tier     text NOT NULL DEFAULT 'general',
    status   text NOT NULL DEFAULT 'sold',
    sold_at  timestamptz DEFAULT now()
);
CREATE INDEX tickets_event_idx ON tickets (event_id, status);

CREATE TABLE capacity_alerts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id        uuid NOT NULL REFERENCES events(id),
    threshold       integer NOT NULL,
    sold            integer NOT NULL,
    capacity        integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    acknowledged_by text,
    acknowledged_at timestamptz,
    UNIQUE (event_id, threshold)
);
CREATE INDEX capalert_open_idx ON capacity_alerts (created_at DESC) WHERE acknowledged_at IS NULL;

CREATE TABLE approval_requests (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type          text NOT NULL,
    data          jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority      text NOT NULL DEFAULT 'normal',
    requested_by  text,
    status        text NOT NULL DEFAULT 'pending',
    decided_by    text,
    decided_at    timestamptz,
    decision_note text,
    resume_url    text,
    execution_id  uuid REFERENCES workflow_executions(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz
);
CREATE INDEX appr_created_idx ON approval_requests (created_at DESC, id DESC);
CREATE INDEX appr_pending_idx ON approval_requests (created_at DESC) WHERE status = 'pending';

CREATE TABLE rate_negotiations (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    approval_request_id uuid REFERENCES approval_requests(id),
    model_id            text,
    model_name          text NOT NULL,
    designer_id         text,
    designer_name       text NOT NULL,
    designer_tier       text NOT NULL,
    standard_rate       bigint NOT NULL,
    proposed_rate       bigint NOT NULL,
    show_count          integer NOT NULL,
    status              text NOT NULL DEFAULT 'pending',
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ratneg_request_idx ON rate_negotiations (approval_request_id);

CREATE TABLE reconciliation_runs (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    reconciliation_date date NOT NULL,
    stripe_count        integer NOT NULL DEFAULT 0,
    db_count            integer NOT NULL DEFAULT 0,
    discrepancy_count   integer NOT NULL DEFAULT 0,
    status              text NOT NULL DEFAULT 'success',
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recrun_created_idx ON reconciliation_runs (created_at DESC, id DESC);

CREATE TABLE reconciliation_discrepancies (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id        uuid NOT NULL REFERENCES reconciliation_runs(id),
    kind          text NOT NULL,
    stripe_id     text,
    db_id         text,
    stripe_amount bigint,
    db_amount     bigint,
    status        text NOT NULL DEFAULT 'open',
    resolved_by   text,
    resolved_at   timestamptz,
    note          text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recdisc_created_idx ON reconciliation_discrepancies (created_at DESC, id DESC);
CREATE INDEX recdisc_open_idx ON reconciliation_discrepancies (kind, created_at DESC) WHERE status = 'open';
CREATE INDEX recdisc_run_idx ON reconciliation_discrepancies (run_id);

CREATE TABLE people (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL,
    phone           text,
    email           text,
    primary_channel text,
    language        text NOT NULL DEFAULT 'en',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE event_attendees (
    event_id  uuid NOT NULL REFERENCES events(id),
    person_id uuid NOT NULL REFERENCES people(id),
    ticket_id uuid REFERENCES tickets(id),
    PRIMARY KEY (event_id, person_id)
);
CREATE TABLE event_models (
    event_id  uuid NOT NULL REFERENCES events(id),
    person_id uuid NOT NULL REFERENCES people(id),
    status    text NOT NULL DEFAULT 'confirmed',
    PRIMARY KEY (event_id, person_id)
);
CREATE TABLE event_staff (
    event_id  uuid NOT NULL REFERENCES events(id),
    person_id uuid NOT NULL REFERENCES people(id),
    role      text NOT NULL DEFAULT 'staff',
    PRIMARY KEY (event_id, person_id)
);

CREATE TABLE emergency_broadcasts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    idempotency_key text NOT NULL UNIQUE,
    level           text NOT NULL,
    scope           text NOT NULL,
    event_id        uuid REFERENCES events(id),
    venue_name      text,
    message         text NOT NULL,
    triggered_by    text NOT NULL,
    status          text NOT NULL DEFAULT 'queued',
    affected_count  integer NOT NULL DEFAULT 0,
    test            boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz
);
CREATE INDEX bcast_created_idx ON emergency_broadcasts (created_at DESC, id DESC);

CREATE TABLE broadcast_deliveries (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    broadcast_id uuid NOT NULL REFERENCES emergency_broadcasts(id),
    person_id    uuid REFERENCES people(id),
    channel      text NOT NULL,
    status       text NOT NULL DEFAULT 'queued',
    error        text,
    sent_at      timestamptz
);
CREATE INDEX bdel_broadcast_idx ON broadcast_deliveries (broadcast_id, channel, status);

CREATE TABLE system_metrics (
    id           bigserial PRIMARY KEY,
    measured_at  timestamptz NOT NULL DEFAULT now(),
    cpu_usage    double precision,
    memory_usage double precision,
    queue_depth  integer
);
CREATE INDEX sysmet_measured_idx ON system_metrics (measured_at DESC);

CREATE TABLE operator_actions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    at          timestamptz NOT NULL DEFAULT now(),
    operator    text NOT NULL,
    origin      text,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text,
    before      jsonb,
    after       jsonb,
    note        text,
    outcome     text NOT NULL
);
CREATE INDEX opact_at_idx ON operator_actions (at DESC, id DESC);

-- tickets_sold follows ticket status changes
CREATE FUNCTION opsdeck_tickets_sold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'sold' THEN
        UPDATE events SET tickets_sold = tickets_sold - 1, updated_at = now() WHERE id = OLD.event_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'sold' THEN
        UPDATE events SET tickets_sold = tickets_sold + 1, updated_at = now() WHERE id = NEW.event_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_sold_trg AFTER INSERT OR UPDATE OF status, event_id OR DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION opsdeck_tickets_sold();

-- live updates: pg_notify('opsdeck', {table, op, id})
CREATE FUNCTION opsdeck_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('opsdeck', json_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'id', NEW.id)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER notify_workflows AFTER INSERT OR UPDATE ON workflows FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_workflow_executions AFTER INSERT OR UPDATE ON workflow_executions FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_workflow_errors AFTER INSERT ON workflow_errors FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_job_queue AFTER INSERT OR UPDATE ON job_queue FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_events AFTER INSERT OR UPDATE ON events FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_capacity_alerts AFTER INSERT OR UPDATE ON capacity_alerts FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_approval_requests AFTER INSERT OR UPDATE ON approval_requests FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_reconciliation_runs AFTER INSERT OR UPDATE ON reconciliation_runs FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_reconciliation_discrepancies AFTER INSERT OR UPDATE ON reconciliation_discrepancies FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_emergency_broadcasts AFTER INSERT OR UPDATE ON emergency_broadcasts FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_system_metrics AFTER INSERT ON system_metrics FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_operator_actions AFTER INSERT ON operator_actions FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
