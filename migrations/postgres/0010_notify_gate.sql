-- NOTIFY at most four times a second per table, whatever the writers' rate.
--
-- Every commit that notified wakes every listening backend, and each wake-up is a transaction
-- of its own on the primary (it reads the notification queue): under an event-day burst of
-- 500 jobs/s, 50 consoles cost the primary 0.6 cores for listening alone (`opsdeck bench
-- consoles`). The console only reads the table's name from a notification and refreshes at
-- most four times a second anyway, so one notification per table per quarter second carries
-- all it uses.
--
-- The gate: the first transaction of a quarter-second slot that changes a table notifies; the
-- rest skip. Nobody waits: a writer that cannot take the table's try-lock skips (another
-- writer holds it and notifies at its commit); the one that takes it moves the table's slot
-- forward in `opsdeck_notify_gate` and notifies only if the slot was not taken yet. A
-- transaction decides once per table and slot (a transaction-local setting remembers it), so
-- a statement changing 10,000 rows costs one decision, not 10,000. If the notifying
-- transaction rolls back, its slot update rolls back with it and the next writer notifies.
-- Changes that skipped are caught by the console's trailing refresh (app::TRAILING, 300 ms
-- after a notification) or, in a quiet moment, its heartbeat poll.
CREATE UNLOGGED TABLE opsdeck_notify_gate (
    tbl  text PRIMARY KEY,
    slot bigint NOT NULL
);

CREATE OR REPLACE FUNCTION opsdeck_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s bigint := floor(extract(epoch FROM clock_timestamp()) * 4);
    k text := 'opsdeck.gate_' || TG_TABLE_NAME;
BEGIN
    IF current_setting(k, true) = s::text THEN
        RETURN NULL;
    END IF;
    PERFORM set_config(k, s::text, true);
    -- 1869640548 = 0x6F707364 ('opsd'), the class of opsdeck's advisory locks
    IF pg_try_advisory_xact_lock(1869640548, hashtext(TG_TABLE_NAME)) THEN
        INSERT INTO opsdeck_notify_gate AS g (tbl, slot) VALUES (TG_TABLE_NAME, s)
            ON CONFLICT (tbl) DO UPDATE SET slot = EXCLUDED.slot WHERE g.slot < EXCLUDED.slot;
        IF FOUND THEN
            PERFORM pg_notify('opsdeck', json_build_object('table', TG_TABLE_NAME, 'op', TG_OP)::text);
        END IF;
    END IF;
    RETURN NULL;
END $$;
