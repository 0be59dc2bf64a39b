-- Emergency broadcast from the console (issue 6).
-- emergency_broadcasts.status gains 'awaiting_approval' (four-eyes rule: stored, not fanned out,
-- until a second operator approves) and 'cancelled'. broadcast_deliveries.status gains 'held'
-- (planned, waiting for that approval: no job yet) and 'cancelled'.
ALTER TABLE emergency_broadcasts ADD COLUMN approved_by TEXT;
ALTER TABLE emergency_broadcasts ADD COLUMN approved_at timestamptz;
ALTER TABLE emergency_broadcasts ADD COLUMN cancelled_by TEXT;
ALTER TABLE emergency_broadcasts ADD COLUMN cancelled_at timestamptz;
-- the operator's --channels (comma list); null = preferences / the critical override
ALTER TABLE emergency_broadcasts ADD COLUMN channels TEXT;
-- an all-clear or correction points at the broadcast whose audience it reuses
ALTER TABLE emergency_broadcasts ADD COLUMN follow_up_of uuid REFERENCES emergency_broadcasts(id);
-- the n8n webhook call: null = not configured / not called; 'ok'; 'failed' (webhook_error says why)
ALTER TABLE emergency_broadcasts ADD COLUMN webhook_status TEXT;
ALTER TABLE emergency_broadcasts ADD COLUMN webhook_error TEXT;
-- planned counts, for the progress view and an idempotent replay
ALTER TABLE emergency_broadcasts ADD COLUMN unreachable_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE emergency_broadcasts ADD COLUMN duplicate_count INTEGER NOT NULL DEFAULT 0;

CREATE INDEX bcast_awaiting_idx ON emergency_broadcasts (created_at) WHERE status = 'awaiting_approval';

-- A broadcast writes one delivery job per person × channel (20,000 for a critical alert to the
-- largest event) in one statement: a pg_notify per row cost a third of the fan-out. The console
-- only reads the table name from a notification, so inserted broadcast jobs notify once per
-- statement; every other insert and every update still notifies per row.
DROP TRIGGER notify_job_queue ON job_queue;
CREATE TRIGGER notify_job_queue AFTER UPDATE ON job_queue FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
CREATE TRIGGER notify_job_queue_ins AFTER INSERT ON job_queue FOR EACH ROW
    WHEN (NEW.job_type NOT LIKE 'broadcast.%') EXECUTE FUNCTION opsdeck_notify();
CREATE FUNCTION opsdeck_notify_broadcast_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE job_type LIKE 'broadcast.%') THEN
        PERFORM pg_notify('opsdeck', json_build_object('table', TG_TABLE_NAME, 'op', TG_OP)::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER notify_job_queue_bcast AFTER INSERT ON job_queue REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION opsdeck_notify_broadcast_jobs();
