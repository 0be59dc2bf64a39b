-- Per-minute rollup of runs (see the Postgres flavour for the why). Minutes are the fixed-width
-- timestamp text cut after the minute: 'YYYY-MM-DDTHH:MM' || ':00.000000Z'.
CREATE TABLE run_minutes (
    kind        TEXT NOT NULL CHECK (kind IN ('started', 'finished')),
    minute      TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (kind, minute, workflow_id, status)
) WITHOUT ROWID;

CREATE TRIGGER run_minutes_ins AFTER INSERT ON workflow_executions BEGIN
    INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
        VALUES ('started', substr(NEW.started_at, 1, 16) || ':00.000000Z', NEW.workflow_id, NEW.status, 1)
        ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
        SELECT 'finished', substr(NEW.completed_at, 1, 16) || ':00.000000Z', NEW.workflow_id, NEW.status, 1
        WHERE NEW.completed_at IS NOT NULL
        ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER run_minutes_del AFTER DELETE ON workflow_executions BEGIN
    INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
        VALUES ('started', substr(OLD.started_at, 1, 16) || ':00.000000Z', OLD.workflow_id, OLD.status, -1)
        ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
        SELECT 'finished', substr(OLD.completed_at, 1, 16) || ':00.000000Z', OLD.workflow_id, OLD.status, -1
        WHERE OLD.completed_at IS NOT NULL
        ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER run_minutes_upd AFTER UPDATE OF workflow_id, status, started_at, completed_at ON workflow_executions
    WHEN OLD.workflow_id IS NOT NEW.workflow_id OR OLD.status IS NOT NEW.status
      OR OLD.started_at IS NOT NEW.started_at OR OLD.completed_at IS NOT NEW.completed_at
BEGIN
    INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
        VALUES ('started', substr(OLD.started_at, 1, 16) || ':00.000000Z', OLD.workflow_id, OLD.status, -1)
        ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
        SELECT 'finished', substr(OLD.completed_at, 1, 16) || ':00.000000Z', OLD.workflow_id, OLD.status, -1
        WHERE OLD.completed_at IS NOT NULL
        ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
        VALUES ('started', substr(NEW.started_at, 1, 16) || ':00.000000Z', NEW.workflow_id, NEW.status, 1)
        ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
        SELECT 'finished', substr(NEW.completed_at, 1, 16) || ':00.000000Z', NEW.workflow_id, NEW.status, 1
        WHERE NEW.completed_at IS NOT NULL
        ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
    SELECT 'started', substr(started_at, 1, 16) || ':00.000000Z', workflow_id, status, count(*)
    FROM workflow_executions WHERE true GROUP BY 2, 3, 4;
INSERT INTO run_minutes (kind, minute, workflow_id, status, n)
    SELECT 'finished', substr(completed_at, 1, 16) || ':00.000000Z', workflow_id, status, count(*)
    FROM workflow_executions WHERE completed_at IS NOT NULL GROUP BY 2, 3, 4;
