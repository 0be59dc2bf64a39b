-- Per-minute rollup of runs, so the overview's last-hour numbers cost what changed in the last
-- hour's 60 buckets, not the number of runs in it (ARCHITECTURE.md: refresh cost follows the
-- rate of change). Kept exact by triggers: 'started' buckets count runs by the minute of
-- started_at and their current status; 'finished' buckets by the minute of completed_at.
-- Readers add the partial first minute of a window from the base table, so results are exact.
CREATE TABLE run_minutes (
    kind        text NOT NULL CHECK (kind IN ('started', 'finished')),
    minute      timestamptz NOT NULL,
    workflow_id uuid NOT NULL,
    status      text NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (kind, minute, workflow_id, status)
);

CREATE FUNCTION opsdeck_run_minutes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO run_minutes VALUES ('started', date_trunc('minute', OLD.started_at), OLD.workflow_id, OLD.status, -1)
            ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
        IF OLD.completed_at IS NOT NULL THEN
            INSERT INTO run_minutes VALUES ('finished', date_trunc('minute', OLD.completed_at), OLD.workflow_id, OLD.status, -1)
                ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO run_minutes VALUES ('started', date_trunc('minute', NEW.started_at), NEW.workflow_id, NEW.status, 1)
            ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
        IF NEW.completed_at IS NOT NULL THEN
            INSERT INTO run_minutes VALUES ('finished', date_trunc('minute', NEW.completed_at), NEW.workflow_id, NEW.status, 1)
                ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER run_minutes_ins_del AFTER INSERT OR DELETE ON workflow_executions
    FOR EACH ROW EXECUTE FUNCTION opsdeck_run_minutes();
CREATE TRIGGER run_minutes_upd AFTER UPDATE OF workflow_id, status, started_at, completed_at ON workflow_executions
    FOR EACH ROW
    WHEN (OLD.workflow_id IS DISTINCT FROM NEW.workflow_id OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.started_at IS DISTINCT FROM NEW.started_at OR OLD.completed_at IS DISTINCT FROM NEW.completed_at)
    EXECUTE FUNCTION opsdeck_run_minutes();

-- the history already there
INSERT INTO run_minutes
    SELECT 'started', date_trunc('minute', started_at), workflow_id, status, count(*)
    FROM workflow_executions GROUP BY 2, 3, 4;
INSERT INTO run_minutes
    SELECT 'finished', date_trunc('minute', completed_at), workflow_id, status, count(*)
    FROM workflow_executions WHERE completed_at IS NOT NULL GROUP BY 2, 3, 4;
