-- Test broadcasts go to test recipients the database holds (issue 18): 0012 capped a test at 10
-- people, but the people were the sender's own configuration, so an operator without
-- opsdeck_broadcaster could still message ten attendees by calling them "test recipients".
-- Now an admin keeps the list (`opsdeck broadcast test-recipients`), and a login whose opsdeck
-- roles stop short of opsdeck_broadcaster may send a test only to people on it (matched by
-- phone or e-mail). A broadcaster may send live anyway, and a login in no opsdeck role is
-- judged by its table grants as before: for both, a test stays capped at 10 people.

CREATE TABLE IF NOT EXISTS opsdeck_test_recipients (
    id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name     text NOT NULL,
    phone    text,
    email    text,
    added_by text,
    added_at timestamptz NOT NULL DEFAULT statement_timestamp(),
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);

-- Why a test broadcast `p` (opsdeck_broadcast_send's payload) may not be sent, or NULL.
CREATE FUNCTION opsdeck_test_denied(p jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_roles text[] := opsdeck_roles_of(session_user::text);
    v_people bigint;
    v_strangers text[];
BEGIN
    SELECT count(DISTINCT x->>0) INTO v_people
    FROM jsonb_array_elements(COALESCE(p->'deliveries', '[]')) x;
    IF v_people > 10 OR jsonb_array_length(COALESCE(p->'new_people', '[]')) > 10 THEN
        RETURN format('a test broadcast reaches at most 10 people (test recipients), not %s: a live broadcast needs opsdeck_broadcaster',
                      v_people);
    END IF;
    IF cardinality(v_roles) = 0 OR 'opsdeck_broadcaster' = ANY (v_roles) THEN
        RETURN NULL;
    END IF;
    -- each delivery, with the address it goes to: the phone for sms, WhatsApp and voice, the
    -- e-mail for e-mail (a new person's from the payload, an existing one's from people)
    WITH d AS (
        SELECT DISTINCT x->>0 AS id, x->>1 AS channel
        FROM jsonb_array_elements(COALESCE(p->'deliveries', '[]')) x
    ), c AS (
        SELECT d.id, d.channel, COALESCE(n->>'name', pe.name) AS name,
               CASE WHEN n IS NOT NULL THEN n->>'phone' ELSE pe.phone END AS phone,
               CASE WHEN n IS NOT NULL THEN n->>'email' ELSE pe.email END AS email
        FROM d
        LEFT JOIN LATERAL (SELECT y FROM jsonb_array_elements(COALESCE(p->'new_people', '[]')) y
                           WHERE y->>'id' = d.id LIMIT 1) nn(n) ON true
        LEFT JOIN people pe ON pe.id::text = d.id
    )
    SELECT array_agg(DISTINCT COALESCE(c.name, c.id)) INTO v_strangers
    FROM c
    WHERE NOT EXISTS (
        SELECT FROM opsdeck_test_recipients r
        WHERE CASE WHEN c.channel = 'email' THEN lower(r.email) = lower(c.email)
                   ELSE r.phone = c.phone END);
    IF v_strangers IS NOT NULL THEN
        RETURN format('a test broadcast goes only to the test recipients an admin set (opsdeck broadcast test-recipients); not on it: %s. A live broadcast needs opsdeck_broadcaster',
                      array_to_string(v_strangers, ', '));
    END IF;
    RETURN NULL;
END $$;

-- Sends (or stores for approval) a broadcast planned by opsdeck. `p`: {id, idempotency_key,
-- level, scope, event_id, venue_name, message, test, channels, follow_up_of, reached,
-- unreachable, duplicates, needs_approval, new_people: [{id, name, phone, email,
-- primary_channel}], deliveries: [[person_id, channel]], after}. Returns {outcome: ok |
-- replay | denied, message, audit_id, status}.
CREATE OR REPLACE FUNCTION opsdeck_broadcast_send(p jsonb, p_display text, p_origin text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_id uuid := (p->>'id')::uuid;
    v_test boolean := COALESCE((p->>'test')::boolean, false);
    v_held boolean := NOT v_test AND (COALESCE((p->>'needs_approval')::boolean, false)
        OR EXISTS (SELECT FROM opsdeck_broadcast_rules r
                   WHERE p->>'level' = ANY (r.second_operator_for)));
    v_status text := CASE WHEN v_held THEN 'awaiting_approval' ELSE 'queued' END;
    v_kind text := CASE WHEN v_test THEN 'broadcast.test'
                        WHEN p->>'follow_up_of' IS NOT NULL THEN 'broadcast.follow_up'
                        ELSE 'broadcast.live' END;
    v_op text := (opsdeck_actor(p_display)).operator;
    v_denied text;
    v_ids uuid[];
BEGIN
    v_denied := opsdeck_may(v_kind);
    IF v_denied IS NULL AND v_test THEN
        v_denied := opsdeck_test_denied(p);
    END IF;
    IF v_denied IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'denied', 'message', v_denied,
            'audit_id', opsdeck_broadcast_audit('broadcast.send', v_id, p->>'message', p_display,
                p_origin, 'denied', NULL, jsonb_build_object('denied', v_denied, 'kind', v_kind)));
    END IF;
    INSERT INTO emergency_broadcasts (id, idempotency_key, level, scope, event_id, venue_name,
        message, triggered_by, status, affected_count, test, created_at, channels, follow_up_of,
        unreachable_count, duplicate_count)
    VALUES (v_id, p->>'idempotency_key', p->>'level', p->>'scope', (p->>'event_id')::uuid,
        p->>'venue_name', p->>'message', v_op, v_status, (p->>'reached')::int, v_test, statement_timestamp(),
        p->>'channels', (p->>'follow_up_of')::uuid, (p->>'unreachable')::int,
        (p->>'duplicates')::int)
    ON CONFLICT (idempotency_key) DO NOTHING;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'replay');
    END IF;
    INSERT INTO people (id, name, phone, email, primary_channel, created_at)
    SELECT (x->>'id')::uuid, x->>'name', x->>'phone', x->>'email', x->>'primary_channel', statement_timestamp()
    FROM jsonb_array_elements(COALESCE(p->'new_people', '[]')) x;
    WITH d AS (
        INSERT INTO broadcast_deliveries (id, broadcast_id, person_id, channel, status)
        SELECT gen_random_uuid(), v_id, (x->>0)::uuid, x->>1,
               CASE WHEN v_held THEN 'held' ELSE 'queued' END
        FROM jsonb_array_elements(COALESCE(p->'deliveries', '[]')) x
        RETURNING id)
    SELECT COALESCE(array_agg(id), '{}') INTO v_ids FROM d;
    IF NOT v_held THEN
        PERFORM opsdeck_broadcast_jobs(v_id, v_ids);
    END IF;
    RETURN jsonb_build_object('outcome', 'ok', 'status', v_status, 'operator', v_op,
        'audit_id', opsdeck_broadcast_audit('broadcast.send', v_id, p->>'message', p_display,
            p_origin, 'ok', NULL,
            COALESCE(p->'after', '{}') || jsonb_build_object('status', v_status)));
END $$;

-- Changes the test recipients (admin, audited): empties the list when `p_clear`, removes the
-- entries whose phone or e-mail is in `p_remove`, then adds `p_add` ([{name, phone, email}]; a
-- contact already on the list gets the new name). Returns {outcome: ok | denied, message,
-- recipients: [{name, phone, email, added_by, added_at}]}.
CREATE FUNCTION opsdeck_set_test_recipients(p_add jsonb, p_remove text[], p_clear boolean,
                                            p_display text, p_origin text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_denied text := opsdeck_may('broadcast.rules');
    v_change jsonb := jsonb_build_object('add', COALESCE(p_add, '[]'),
                                         'remove', to_jsonb(COALESCE(p_remove, '{}')),
                                         'clear', COALESCE(p_clear, false));
    v_by text := (opsdeck_actor(p_display)).operator;
    v_list jsonb;
    x jsonb;
BEGIN
    IF v_denied IS NOT NULL THEN
        PERFORM opsdeck_broadcast_audit('broadcast.test_recipients', NULL, NULL, p_display,
            p_origin, 'denied', NULL, v_change || jsonb_build_object('denied', v_denied));
        RETURN jsonb_build_object('outcome', 'denied', 'message', v_denied);
    END IF;
    FOR x IN SELECT * FROM jsonb_array_elements(COALESCE(p_add, '[]')) LOOP
        IF COALESCE(x->>'name', '') = '' OR (COALESCE(x->>'phone', '') = ''
                                             AND COALESCE(x->>'email', '') = '') THEN
            RAISE EXCEPTION 'a test recipient needs a name and a phone or an e-mail: %', x
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    IF COALESCE(p_clear, false) THEN
        DELETE FROM opsdeck_test_recipients;
    END IF;
    DELETE FROM opsdeck_test_recipients r
    WHERE r.phone = ANY (COALESCE(p_remove, '{}'))
       OR lower(r.email) IN (SELECT lower(c) FROM unnest(COALESCE(p_remove, '{}')) c);
    FOR x IN SELECT * FROM jsonb_array_elements(COALESCE(p_add, '[]')) LOOP
        DELETE FROM opsdeck_test_recipients r
        WHERE (r.phone IS NOT NULL AND r.phone = NULLIF(x->>'phone', ''))
           OR (r.email IS NOT NULL AND lower(r.email) = lower(NULLIF(x->>'email', '')));
        INSERT INTO opsdeck_test_recipients (name, phone, email, added_by)
        VALUES (x->>'name', NULLIF(x->>'phone', ''), NULLIF(x->>'email', ''), v_by);
    END LOOP;
    SELECT COALESCE(jsonb_agg(jsonb_build_object('name', name, 'phone', phone, 'email', email,
                                                 'added_by', added_by, 'added_at', added_at)
                              ORDER BY added_at, name), '[]')
    INTO v_list FROM opsdeck_test_recipients;
    PERFORM opsdeck_broadcast_audit('broadcast.test_recipients', NULL, NULL, p_display, p_origin,
        'ok', NULL, v_change || jsonb_build_object('recipients', v_list));
    RETURN jsonb_build_object('outcome', 'ok', 'recipients', v_list);
END $$;

REVOKE EXECUTE ON FUNCTION opsdeck_test_denied(jsonb) FROM PUBLIC;
