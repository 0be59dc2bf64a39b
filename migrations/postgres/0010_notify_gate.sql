-- NOTIFY at most four times a second per table, whatever the writers' rate.
--
-- Every commit that notified woke every listening backend, and each wake-up is a transaction
-- of its own on the primary (it reads the notification queue): under an event-day burst of
-- 500 jobs/s, 50 consoles cost the primary 0.6 cores for listening alone (`opsdeck bench
-- consoles`). The console only reads the table's name from a notification and refreshes at
-- most five times a second anyway, so one notification per table per quarter second carries
-- all it uses.
--
-- The gate decides at COMMIT (the triggers become deferred constraint triggers), per table and
-- quarter-second slot:
-- * the first committing transaction of a slot notifies; the others skip;
-- * the slot last notified is kept in a sequence per table (`opsdeck_notify_slot_<table>`):
--   `setval` is not transactional, so it never waits, never fails a REPEATABLE READ or
--   SERIALIZABLE writer with a serialization error, and holds no row lock; a clock that steps
--   back only changes the slot (compared with IS DISTINCT FROM);
-- * two transactions committing at the same instant: a try-lock, held only from the moment
--   the gate runs to the commit, lets one decide (the other skips: the first's notification
--   arrives as both commit); nobody waits on it;
-- * a transaction decides once per table and slot (a transaction-local setting), so a statement
--   changing 10,000 rows costs one decision;
-- * a long or idle-in-transaction writer silences nobody: it takes nothing until it commits.
-- Changes whose commit skipped were committed within the slot whose notification the console
-- heard; its trailing refresh (app::TRAILING, 300 ms after, longer than a slot) reads them.
-- The function runs as its owner (SECURITY DEFINER, fixed search_path): a writer role granted
-- only its tables needs no right on the sequences.
CREATE SEQUENCE opsdeck_notify_slot_workflows;
CREATE SEQUENCE opsdeck_notify_slot_workflow_executions;
CREATE SEQUENCE opsdeck_notify_slot_workflow_errors;
CREATE SEQUENCE opsdeck_notify_slot_events;
CREATE SEQUENCE opsdeck_notify_slot_capacity_alerts;
CREATE SEQUENCE opsdeck_notify_slot_approval_requests;
CREATE SEQUENCE opsdeck_notify_slot_reconciliation_runs;
CREATE SEQUENCE opsdeck_notify_slot_reconciliation_discrepancies;
CREATE SEQUENCE opsdeck_notify_slot_emergency_broadcasts;
CREATE SEQUENCE opsdeck_notify_slot_system_metrics;
CREATE SEQUENCE opsdeck_notify_slot_operator_actions;
CREATE SEQUENCE opsdeck_notify_slot_job_queue;

CREATE OR REPLACE FUNCTION opsdeck_notify() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    s bigint := floor(extract(epoch FROM clock_timestamp()) * 4);
    k text := 'opsdeck.gate_' || TG_TABLE_NAME;
    seq regclass;
BEGIN
    IF current_setting(k, true) = s::text THEN
        RETURN NULL;
    END IF;
    PERFORM set_config(k, s::text, true);
    seq := to_regclass('opsdeck_notify_slot_' || TG_TABLE_NAME);
    IF seq IS NULL THEN
        -- a table without a slot of its own: every commit notifies
        PERFORM pg_notify('opsdeck', json_build_object('table', TG_TABLE_NAME, 'op', TG_OP)::text);
        RETURN NULL;
    END IF;
    -- 1869640548 = 0x6F707364 ('opsd'), the class of opsdeck's advisory locks
    IF pg_try_advisory_xact_lock(1869640548, hashtext(TG_TABLE_NAME))
       AND pg_sequence_last_value(seq) IS DISTINCT FROM s THEN
        PERFORM setval(seq, s);
        PERFORM pg_notify('opsdeck', json_build_object('table', TG_TABLE_NAME, 'op', TG_OP)::text);
    END IF;
    RETURN NULL;
END $$;

-- the triggers fire at COMMIT
DROP TRIGGER notify_workflows ON workflows;
CREATE CONSTRAINT TRIGGER notify_workflows AFTER INSERT OR UPDATE ON workflows DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_workflow_executions ON workflow_executions;
CREATE CONSTRAINT TRIGGER notify_workflow_executions AFTER INSERT OR UPDATE ON workflow_executions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_workflow_errors ON workflow_errors;
CREATE CONSTRAINT TRIGGER notify_workflow_errors AFTER INSERT ON workflow_errors DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_events ON events;
CREATE CONSTRAINT TRIGGER notify_events AFTER INSERT OR UPDATE ON events DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_capacity_alerts ON capacity_alerts;
CREATE CONSTRAINT TRIGGER notify_capacity_alerts AFTER INSERT OR UPDATE ON capacity_alerts DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_approval_requests ON approval_requests;
CREATE CONSTRAINT TRIGGER notify_approval_requests AFTER INSERT OR UPDATE ON approval_requests DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_reconciliation_runs ON reconciliation_runs;
CREATE CONSTRAINT TRIGGER notify_reconciliation_runs AFTER INSERT OR UPDATE ON reconciliation_runs DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_reconciliation_discrepancies ON reconciliation_discrepancies;
CREATE CONSTRAINT TRIGGER notify_reconciliation_discrepancies AFTER INSERT OR UPDATE ON reconciliation_discrepancies DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_emergency_broadcasts ON emergency_broadcasts;
CREATE CONSTRAINT TRIGGER notify_emergency_broadcasts AFTER INSERT OR UPDATE ON emergency_broadcasts DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_system_metrics ON system_metrics;
CREATE CONSTRAINT TRIGGER notify_system_metrics AFTER INSERT ON system_metrics DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_operator_actions ON operator_actions;
CREATE CONSTRAINT TRIGGER notify_operator_actions AFTER INSERT ON operator_actions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_job_queue ON job_queue;
CREATE CONSTRAINT TRIGGER notify_job_queue AFTER UPDATE ON job_queue DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION opsdeck_notify();
DROP TRIGGER notify_job_queue_ins ON job_queue;
CREATE CONSTRAINT TRIGGER notify_job_queue_ins AFTER INSERT ON job_queue DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.job_type NOT LIKE 'broadcast.%') EXECUTE FUNCTION opsdeck_notify();
