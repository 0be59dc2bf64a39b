-- Per-minute rollup of completed jobs, so "jobs completed in the last hour" costs at most 60
-- minutes' buckets (plus the partial first minute from jq_completed_idx), not one index entry
-- per completed job: on an event day that hour holds tens of thousands of jobs.
-- Kept exact by triggers: +1 in the minute of completed_at when a row becomes (or is inserted)
-- completed, -1 when it stops being completed, moves, or is deleted.
-- `slot` spreads one minute over 8 rows by the writer's backend, so workers on different
-- slots completing jobs in the same minute do not queue on one row lock until they commit.
CREATE TABLE job_minutes (
    minute timestamptz NOT NULL,
    slot   smallint NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (minute, slot)
);

-- A row that leaves one minute for another (completed_at moved) locks the earlier minute
-- first, so two such moves in opposite directions cannot deadlock.
CREATE FUNCTION opsdeck_job_minutes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s smallint := pg_backend_pid() % 8;
    was timestamptz;
    now_in timestamptz;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'completed' AND OLD.completed_at IS NOT NULL THEN
        was := date_trunc('minute', OLD.completed_at);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'completed' AND NEW.completed_at IS NOT NULL THEN
        now_in := date_trunc('minute', NEW.completed_at);
    END IF;
    IF was IS NOT NULL AND now_in IS NOT NULL AND was = now_in THEN
        RETURN NULL;
    END IF;
    IF was IS NOT NULL AND (now_in IS NULL OR was < now_in) THEN
        INSERT INTO job_minutes VALUES (was, s, -1)
            ON CONFLICT (minute, slot) DO UPDATE SET n = job_minutes.n + EXCLUDED.n;
        was := NULL;
    END IF;
    IF now_in IS NOT NULL THEN
        INSERT INTO job_minutes VALUES (now_in, s, 1)
            ON CONFLICT (minute, slot) DO UPDATE SET n = job_minutes.n + EXCLUDED.n;
    END IF;
    IF was IS NOT NULL THEN
        INSERT INTO job_minutes VALUES (was, s, -1)
            ON CONFLICT (minute, slot) DO UPDATE SET n = job_minutes.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER job_minutes_ins AFTER INSERT ON job_queue
    FOR EACH ROW WHEN (NEW.status = 'completed' AND NEW.completed_at IS NOT NULL)
    EXECUTE FUNCTION opsdeck_job_minutes();
CREATE TRIGGER job_minutes_del AFTER DELETE ON job_queue
    FOR EACH ROW WHEN (OLD.status = 'completed' AND OLD.completed_at IS NOT NULL)
    EXECUTE FUNCTION opsdeck_job_minutes();
CREATE TRIGGER job_minutes_upd AFTER UPDATE OF status, completed_at ON job_queue
    FOR EACH ROW
    WHEN ((OLD.status = 'completed' OR NEW.status = 'completed')
          AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.completed_at IS DISTINCT FROM NEW.completed_at))
    EXECUTE FUNCTION opsdeck_job_minutes();

-- the history already there
INSERT INTO job_minutes
    SELECT date_trunc('minute', completed_at), 0, count(*) FROM job_queue
    WHERE status = 'completed' AND completed_at IS NOT NULL GROUP BY 1;
