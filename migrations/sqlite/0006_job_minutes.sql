-- Per-minute rollup of completed jobs (see the Postgres flavour for the why). SQLite has one
-- writer at a time, so every minute has one row (slot 0). Minutes are the fixed-width
-- timestamp text cut after the minute: 'YYYY-MM-DDTHH:MM' || ':00.000000Z'.
CREATE TABLE job_minutes (
    minute TEXT NOT NULL,
    slot   INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (minute, slot)
) WITHOUT ROWID;

CREATE TRIGGER job_minutes_ins AFTER INSERT ON job_queue
    WHEN NEW.status = 'completed' AND NEW.completed_at IS NOT NULL
BEGIN
    INSERT INTO job_minutes (minute, slot, n)
        VALUES (substr(NEW.completed_at, 1, 16) || ':00.000000Z', 0, 1)
        ON CONFLICT (minute, slot) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER job_minutes_del AFTER DELETE ON job_queue
    WHEN OLD.status = 'completed' AND OLD.completed_at IS NOT NULL
BEGIN
    INSERT INTO job_minutes (minute, slot, n)
        VALUES (substr(OLD.completed_at, 1, 16) || ':00.000000Z', 0, -1)
        ON CONFLICT (minute, slot) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER job_minutes_upd AFTER UPDATE OF status, completed_at ON job_queue
    WHEN (OLD.status = 'completed' OR NEW.status = 'completed')
      AND (OLD.status IS NOT NEW.status OR OLD.completed_at IS NOT NEW.completed_at)
BEGIN
    INSERT INTO job_minutes (minute, slot, n)
        SELECT substr(OLD.completed_at, 1, 16) || ':00.000000Z', 0, -1
        WHERE OLD.status = 'completed' AND OLD.completed_at IS NOT NULL
        ON CONFLICT (minute, slot) DO UPDATE SET n = n + excluded.n;
    INSERT INTO job_minutes (minute, slot, n)
        SELECT substr(NEW.completed_at, 1, 16) || ':00.000000Z', 0, 1
        WHERE NEW.status = 'completed' AND NEW.completed_at IS NOT NULL
        ON CONFLICT (minute, slot) DO UPDATE SET n = n + excluded.n;
END;

INSERT INTO job_minutes (minute, slot, n)
    SELECT substr(completed_at, 1, 16) || ':00.000000Z', 0, count(*) FROM job_queue
    WHERE status = 'completed' AND completed_at IS NOT NULL GROUP BY 1;
