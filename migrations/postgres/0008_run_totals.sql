-- Runs per minute and status over all workflows, so the overview's last-hour run numbers
-- read at most 61 minutes of a few statuses, however many workflows run each minute
-- (run_minutes, migration 0005, keeps the per-workflow buckets the Workflows view and the
-- top failing list need). Kept exact by the same trigger as run_minutes; `slot` spreads one
-- minute over 8 rows by the writer's backend, so writers on different slots never wait for
-- each other's bucket rows.

-- no run may change while the trigger function is swapped and the totals are backfilled: a
-- writer already inside the old function would otherwise update run_minutes after the backfill
-- read it and never reach run_totals (writers wait for this migration's commit)
LOCK TABLE workflow_executions IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE run_totals (
    kind   text NOT NULL CHECK (kind IN ('started', 'finished')),
    minute timestamptz NOT NULL,
    status text NOT NULL,
    slot   smallint NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (kind, minute, status, slot)
);

-- the top failing list reads only the failed buckets. `n` stays out of the index, so the
-- trigger's `n = n + 1` remains a HOT update that adds no index entry
CREATE INDEX run_minutes_failed_idx ON run_minutes (minute, workflow_id)
    WHERE kind = 'finished' AND status = 'failed';

-- One run's change: -1 in its old buckets, +1 in its new ones. Bucket rows are locked in one
-- order whatever the change: every run_minutes bucket before any run_totals bucket, each table
-- by ('started' before 'finished', minute, status, workflow). Two writers moving runs in
-- opposite directions (running → waiting and waiting → running) therefore cannot deadlock on
-- the rollups.
CREATE OR REPLACE FUNCTION opsdeck_run_minutes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s smallint := pg_backend_pid() % 8;
    b record;
BEGIN
    FOR b IN
        WITH c AS (
            SELECT 'started' AS k, date_trunc('minute', OLD.started_at) AS m, OLD.workflow_id AS wf,
                   OLD.status AS st, -1 AS d WHERE TG_OP IN ('UPDATE', 'DELETE')
            UNION ALL
            SELECT 'finished', date_trunc('minute', OLD.completed_at), OLD.workflow_id, OLD.status, -1
                WHERE TG_OP IN ('UPDATE', 'DELETE') AND OLD.completed_at IS NOT NULL
            UNION ALL
            SELECT 'started', date_trunc('minute', NEW.started_at), NEW.workflow_id, NEW.status, 1
                WHERE TG_OP IN ('INSERT', 'UPDATE')
            UNION ALL
            SELECT 'finished', date_trunc('minute', NEW.completed_at), NEW.workflow_id, NEW.status, 1
                WHERE TG_OP IN ('INSERT', 'UPDATE') AND NEW.completed_at IS NOT NULL
        )
        SELECT 1 AS t, k, m, wf, st, sum(d) AS d FROM c GROUP BY k, m, wf, st HAVING sum(d) <> 0
        UNION ALL
        SELECT 2, k, m, NULL, st, sum(d) FROM c GROUP BY k, m, st HAVING sum(d) <> 0
        ORDER BY t, k DESC, m, st, wf
    LOOP
        IF b.t = 1 THEN
            INSERT INTO run_minutes VALUES (b.k, b.m, b.wf, b.st, b.d)
                ON CONFLICT (kind, minute, workflow_id, status) DO UPDATE SET n = run_minutes.n + EXCLUDED.n;
        ELSE
            INSERT INTO run_totals VALUES (b.k, b.m, b.st, s, b.d)
                ON CONFLICT (kind, minute, status, slot) DO UPDATE SET n = run_totals.n + EXCLUDED.n;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- the history already there
INSERT INTO run_totals
    SELECT kind, minute, status, 0, sum(n) FROM run_minutes GROUP BY kind, minute, status;
