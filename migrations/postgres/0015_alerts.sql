-- Alerts for the control room (issue 19): one row per crossing of a line (queue depth, a
-- critical error pattern, an event at 90 % or sold out, an approval waiting too long, n8n or the
-- database down). Consoles judge the lines from what they read; whichever sees a crossing first
-- raises it here, and every console reads it (NOTIFY 'opsdeck_alerts'). The unique index on the
-- open (rule, key) makes a second raise of the same crossing a no-op. Acknowledging and
-- silencing are operator actions: role-checked, with a comment, audited in operator_actions.
CREATE TABLE opsdeck_alerts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    rule            text NOT NULL,
    key             text NOT NULL,
    level           text NOT NULL,
    message         text NOT NULL,
    raised_at       timestamptz NOT NULL DEFAULT statement_timestamp(),
    raised_by       text,
    cleared_at      timestamptz,
    cleared_by      text,
    acked_at        timestamptz,
    acked_by        text,
    ack_comment     text,
    silenced_at     timestamptz,
    silenced_until  timestamptz,
    silenced_by     text,
    silence_comment text
);
CREATE UNIQUE INDEX opsdeck_alerts_open_idx ON opsdeck_alerts (rule, key) WHERE cleared_at IS NULL;
CREATE INDEX opsdeck_alerts_raised_idx ON opsdeck_alerts (raised_at DESC);

-- The one check of what a console may write: a known rule, a known level, bounded text.
CREATE FUNCTION opsdeck_alert_check(p_rule text, p_key text, p_level text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_rule NOT IN ('queue_depth', 'critical_errors', 'capacity_waitlist', 'sold_out',
                      'approval_age', 'n8n_down', 'database_down') THEN
        RAISE EXCEPTION 'unknown alert rule %', p_rule USING ERRCODE = '22023';
    END IF;
    IF p_level NOT IN ('WARNING', 'CRITICAL') THEN
        RAISE EXCEPTION 'unknown alert level %', p_level USING ERRCODE = '22023';
    END IF;
    IF COALESCE(length(p_key), 0) NOT BETWEEN 1 AND 300 THEN
        RAISE EXCEPTION 'an alert key is 1 to 300 characters' USING ERRCODE = '22023';
    END IF;
END $$;

-- Who may write alerts: a login that can see what they are about (an opsdeck role, or SELECT
-- on the job queue). The name recorded is the login's own unless it is trusted with the action
-- tables (as for the audit trail: opsdeck_actor).
CREATE FUNCTION opsdeck_alert_writer(p_by text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF cardinality(opsdeck_roles_of(session_user::text)) = 0
       AND NOT has_table_privilege(session_user, 'job_queue', 'SELECT') THEN
        RAISE EXCEPTION 'the login % may not write alerts (no opsdeck role, no SELECT on job_queue)',
            session_user USING ERRCODE = '42501';
    END IF;
    RETURN left((opsdeck_actor(p_by)).operator, 200);
END $$;

-- Raises an alert: its id, or NULL when this crossing is open already (another console was
-- first). A silence still running on the same rule and subject carries over to the new row.
-- A database outage is not raised open: it is recorded once over (opsdeck_alert_outage).
CREATE FUNCTION opsdeck_alert_raise(p_rule text, p_key text, p_level text, p_message text,
                                    p_by text) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_id uuid;
    v_by text := opsdeck_alert_writer(p_by);
    s record;
BEGIN
    PERFORM opsdeck_alert_check(p_rule, p_key, p_level);
    IF p_rule = 'database_down' THEN
        RAISE EXCEPTION 'a database outage is recorded once over, by opsdeck_alert_outage'
            USING ERRCODE = '22023';
    END IF;
    SELECT silenced_until, silenced_by, silence_comment INTO s
    FROM opsdeck_alerts
    WHERE rule = p_rule AND key = p_key AND silenced_until > statement_timestamp()
    ORDER BY raised_at DESC LIMIT 1;
    -- the silence carries over, not its moment (the timeline tells it once, where it was made)
    INSERT INTO opsdeck_alerts (rule, key, level, message, raised_by, silenced_until,
                                silenced_by, silence_comment)
    VALUES (p_rule, p_key, p_level, left(p_message, 500), v_by, s.silenced_until,
            s.silenced_by, s.silence_comment)
    ON CONFLICT (rule, key) WHERE cleared_at IS NULL DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NOT NULL THEN
        PERFORM pg_notify('opsdeck', json_build_object('table', 'opsdeck_alerts', 'op', 'INSERT')::text);
    END IF;
    RETURN v_id;
END $$;

-- Clears an open alert (its condition has stayed false): true when this call cleared it.
CREATE FUNCTION opsdeck_alert_clear(p_id uuid, p_by text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_by text := opsdeck_alert_writer(p_by);
BEGIN
    UPDATE opsdeck_alerts SET cleared_at = statement_timestamp(), cleared_by = v_by
    WHERE id = p_id AND cleared_at IS NULL AND rule <> 'database_down';
    IF FOUND THEN
        PERFORM pg_notify('opsdeck', json_build_object('table', 'opsdeck_alerts', 'op', 'UPDATE')::text);
    END IF;
    RETURN FOUND;
END $$;

-- The database was unreachable from p_from to p_to (a console writes it once it is back): one
-- row covering the outage; consoles that saw the same outage extend that row, not add to it.
CREATE FUNCTION opsdeck_alert_outage(p_key text, p_message text, p_by text, p_from timestamptz,
                                     p_to timestamptz) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_id uuid;
    v_by text := opsdeck_alert_writer(p_by);
    -- a console's clock may run ahead of the database's: the end is never later than now, and
    -- the outage keeps its length
    v_to timestamptz := least(p_to, statement_timestamp());
    v_from timestamptz := v_to - (p_to - p_from);
BEGIN
    PERFORM opsdeck_alert_check('database_down', p_key, 'CRITICAL');
    IF p_from IS NULL OR p_to IS NULL OR p_to <= p_from
       OR v_from < statement_timestamp() - interval '30 days' THEN
        RAISE EXCEPTION 'an outage runs from a time to a later one, within the last 30 days'
            USING ERRCODE = '22023';
    END IF;
    -- one writer at a time per subject, so two consoles coming back together make one row
    PERFORM pg_advisory_xact_lock(1869640548, hashtext('opsdeck_alerts:' || p_key));
    UPDATE opsdeck_alerts SET raised_at = least(raised_at, v_from),
                              cleared_at = greatest(cleared_at, v_to)
    WHERE id = (SELECT id FROM opsdeck_alerts
                WHERE rule = 'database_down' AND key = p_key
                  AND raised_at <= v_to + interval '30 seconds'
                  AND cleared_at >= v_from - interval '30 seconds'
                ORDER BY raised_at DESC LIMIT 1)
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        -- inserted cleared: it is history, never open
        INSERT INTO opsdeck_alerts (rule, key, level, message, raised_at, raised_by, cleared_at,
                                    cleared_by)
        VALUES ('database_down', p_key, 'CRITICAL', left(p_message, 500), v_from, v_by, v_to,
                v_by)
        RETURNING id INTO v_id;
    END IF;
    PERFORM pg_notify('opsdeck', json_build_object('table', 'opsdeck_alerts', 'op', 'UPDATE')::text);
    RETURN v_id;
END $$;

-- The audit row of an alert action (target: the alert).
CREATE FUNCTION opsdeck_alert_audit(p_action text, p_id uuid, p_note text, p_display text,
                                    p_origin text, p_outcome text, p_before jsonb,
                                    p_after jsonb) RETURNS uuid
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_id uuid := gen_random_uuid();
    a record := opsdeck_actor(p_display);
BEGIN
    INSERT INTO operator_actions (id, at, operator, origin, action, target_type, target_id,
                                  before, after, note, outcome, login, display_name)
    VALUES (v_id, statement_timestamp(), a.operator, p_origin, p_action, 'alert', p_id::text,
            p_before, p_after, p_note, p_outcome, session_user, a.display_name);
    RETURN v_id;
END $$;

-- Acknowledges (p_minutes NULL) or silences for p_minutes an open alert, with a comment (a
-- silence needs one). Returns {outcome: ok | conflict | denied, message, audit_id, operator}.
-- A conflict says who got there first.
CREATE FUNCTION opsdeck_alert_act(p_id uuid, p_minutes integer, p_comment text, p_display text,
                                  p_origin text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_action text := CASE WHEN p_minutes IS NULL THEN 'alert.ack' ELSE 'alert.silence' END;
    v_denied text := opsdeck_may(v_action);
    v_op text := (opsdeck_actor(p_display)).operator;
    v_comment text := NULLIF(btrim(left(p_comment, 500)), '');
    r opsdeck_alerts%ROWTYPE;
    v_why text;
    v_before jsonb;
    v_after jsonb;
BEGIN
    IF p_minutes IS NOT NULL AND (p_minutes NOT BETWEEN 1 AND 10080 OR v_comment IS NULL) THEN
        RAISE EXCEPTION 'a silence lasts 1 minute to 7 days and needs a comment'
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO r FROM opsdeck_alerts WHERE id = p_id FOR UPDATE;
    v_before := CASE WHEN FOUND THEN jsonb_build_object('rule', r.rule, 'key', r.key,
        'message', r.message, 'raised_at', r.raised_at) END;
    IF v_denied IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'denied', 'message', v_denied, 'operator', v_op,
            'audit_id', opsdeck_alert_audit(v_action, p_id, v_comment, p_display, p_origin,
                'denied', v_before, jsonb_build_object('denied', v_denied)));
    END IF;
    IF NOT FOUND THEN
        v_why := 'no such alert';
    ELSIF r.cleared_at IS NOT NULL THEN
        v_why := 'already cleared' || opsdeck_at(r.cleared_at);
    ELSIF p_minutes IS NULL AND r.acked_at IS NOT NULL THEN
        v_why := 'already acked' || opsdeck_by(r.acked_by, r.acked_at)
                 || COALESCE(': ' || r.ack_comment, '');
    ELSIF p_minutes IS NOT NULL AND r.silenced_until > statement_timestamp() THEN
        v_why := 'already silenced' || opsdeck_by(r.silenced_by, r.silenced_at)
                 || ' until ' || to_char(r.silenced_until AT TIME ZONE 'UTC', 'HH24:MI') || ' UTC'
                 || COALESCE(': ' || r.silence_comment, '');
    END IF;
    IF v_why IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'conflict', 'message', v_why, 'operator', v_op,
            'audit_id', opsdeck_alert_audit(v_action, p_id, v_comment, p_display, p_origin,
                'conflict', v_before, jsonb_build_object('conflict', v_why)));
    END IF;
    IF p_minutes IS NULL THEN
        UPDATE opsdeck_alerts SET acked_at = statement_timestamp(), acked_by = v_op,
                                  ack_comment = v_comment
        WHERE id = p_id;
        v_after := jsonb_build_object('acked_by', v_op, 'comment', v_comment);
    ELSE
        UPDATE opsdeck_alerts SET silenced_at = statement_timestamp(),
               silenced_until = statement_timestamp() + make_interval(mins => p_minutes),
               silenced_by = v_op, silence_comment = v_comment
        WHERE id = p_id;
        v_after := jsonb_build_object('silenced_by', v_op, 'minutes', p_minutes,
                                      'comment', v_comment);
    END IF;
    PERFORM pg_notify('opsdeck', json_build_object('table', 'opsdeck_alerts', 'op', 'UPDATE')::text);
    RETURN jsonb_build_object('outcome', 'ok', 'operator', v_op,
        'audit_id', opsdeck_alert_audit(v_action, p_id, v_comment, p_display, p_origin, 'ok',
            v_before, v_after));
END $$;

REVOKE EXECUTE ON FUNCTION opsdeck_alert_audit(text, uuid, text, text, text, text, jsonb, jsonb),
    opsdeck_alert_writer(text) FROM PUBLIC;
