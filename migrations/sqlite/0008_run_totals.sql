-- Runs per minute and status over all workflows (see the Postgres flavour for the why).
-- SQLite has one writer at a time, so every minute has one row per status (slot 0).
CREATE TABLE run_totals (
    kind   TEXT NOT NULL CHECK (kind IN ('started', 'finished')),
    minute TEXT NOT NULL,
    status TEXT NOT NULL,
    slot   INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, minute, status, slot)
) WITHOUT ROWID;

-- the top failing list reads only the failed buckets
CREATE INDEX run_minutes_failed_idx ON run_minutes (minute, workflow_id)
    WHERE kind = 'finished' AND status = 'failed';

CREATE TRIGGER run_totals_ins AFTER INSERT ON workflow_executions BEGIN
    INSERT INTO run_totals (kind, minute, status, slot, n)
        SELECT 'started', substr(NEW.started_at, 1, 16) || ':00.000000Z', NEW.status, 0, 1
        WHERE true
        ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_totals (kind, minute, status, slot, n)
        SELECT 'finished', substr(NEW.completed_at, 1, 16) || ':00.000000Z', NEW.status, 0, 1
        WHERE NEW.completed_at IS NOT NULL
        ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER run_totals_del AFTER DELETE ON workflow_executions BEGIN
    INSERT INTO run_totals (kind, minute, status, slot, n)
        SELECT 'started', substr(OLD.started_at, 1, 16) || ':00.000000Z', OLD.status, 0, -1
        WHERE true
        ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_totals (kind, minute, status, slot, n)
        SELECT 'finished', substr(OLD.completed_at, 1, 16) || ':00.000000Z', OLD.status, 0, -1
        WHERE OLD.completed_at IS NOT NULL
        ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER run_totals_upd AFTER UPDATE OF workflow_id, status, started_at, completed_at ON workflow_executions
    WHEN OLD.workflow_id IS NOT NEW.workflow_id OR OLD.status IS NOT NEW.status
      OR OLD.started_at IS NOT NEW.started_at OR OLD.completed_at IS NOT NEW.completed_at
BEGIN
    INSERT INTO run_totals (kind, minute, status, slot, n)
        SELECT 'started', substr(OLD.started_at, 1, 16) || ':00.000000Z', OLD.status, 0, -1
        WHERE true
        ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_totals (kind, minute, status, slot, n)
        SELECT 'finished', substr(OLD.completed_at, 1, 16) || ':00.000000Z', OLD.status, 0, -1
        WHERE OLD.completed_at IS NOT NULL
        ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_totals (kind, minute, status, slot, n)
        SELECT 'started', substr(NEW.started_at, 1, 16) || ':00.000000Z', NEW.status, 0, 1
        WHERE true
        ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = n + excluded.n;
    INSERT INTO run_totals (kind, minute, status, slot, n)
        SELECT 'finished', substr(NEW.completed_at, 1, 16) || ':00.000000Z', NEW.status, 0, 1
        WHERE NEW.completed_at IS NOT NULL
        ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO run_totals (kind, minute, status, slot, n)
    SELECT kind, minute, status, 0, sum(n) FROM run_minutes WHERE true GROUP BY kind, minute, status;
