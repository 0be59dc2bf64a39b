-- Runs per minute and status over all workflows, so the overview's last-hour run numbers
-- read at most 61 minutes of a few statuses, however many workflows run each minute
-- (run_minutes, migration 0005, keeps the per-workflow buckets the Workflows view and the
-- top failing list need). Kept exact by the same trigger as run_minutes; `slot` spreads one
-- minute over 8 rows by the writer's backend, so concurrent writers do not queue on one row.
CREATE TABLE run_totals (
    kind   text NOT NULL CHECK (kind IN ('started', 'finished')),
    minute timestamptz NOT NULL,
    status text NOT NULL,
    slot   smallint NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (kind, minute, status, slot)
);

-- the top failing list reads only the failed buckets
CREATE INDEX run_minutes_failed_idx ON run_minutes (minute) INCLUDE (workflow_id, n)
    WHERE kind = 'finished' AND status = 'failed';

CREATE OR REPLACE FUNCTION opsdeck_run_minutes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s smallint := pg_backend_pid() % 8;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO run_minutes VALUES ('started', date_trunc('minute', OLD.started_at), OLD.workflow_id, OLD.status, -1)
            ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
        INSERT INTO run_totals VALUES ('started', date_trunc('minute', OLD.started_at), OLD.status, s, -1)
            ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = run_totals.n + EXCLUDED.n;
        IF OLD.completed_at IS NOT NULL THEN
            INSERT INTO run_minutes VALUES ('finished', date_trunc('minute', OLD.completed_at), OLD.workflow_id, OLD.status, -1)
                ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
            INSERT INTO run_totals VALUES ('finished', date_trunc('minute', OLD.completed_at), OLD.status, s, -1)
                ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = run_totals.n + EXCLUDED.n;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO run_minutes VALUES ('started', date_trunc('minute', NEW.started_at), NEW.workflow_id, NEW.status, 1)
            ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
        INSERT INTO run_totals VALUES ('started', date_trunc('minute', NEW.started_at), NEW.status, s, 1)
            ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = run_totals.n + EXCLUDED.n;
        IF NEW.completed_at IS NOT NULL THEN
            INSERT INTO run_minutes VALUES ('finished', date_trunc('minute', NEW.completed_at), NEW.workflow_id, NEW.status, 1)
                ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
            INSERT INTO run_totals VALUES ('finished', date_trunc('minute', NEW.completed_at), NEW.status, s, 1)
                ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = run_totals.n + EXCLUDED.n;
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- the history already there
INSERT INTO run_totals
    SELECT kind, minute, status, 0, sum(n) FROM run_minutes GROUP BY kind, minute, status;
