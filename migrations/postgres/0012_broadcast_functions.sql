-- Emergency broadcasts as database functions (issue 18, after 0011's operator actions): send,
-- approve (four-eyes, compared by login), cancel, retry, and the webhook's claim and record run
-- as their owner (SECURITY DEFINER, fixed search_path), check the login's role and write the
-- audit row. The roles hold no write rights on the broadcast tables, job_queue or people.
--
-- What the database enforces beyond the role:
-- - a test broadcast reaches at most 10 people (the operator's own test recipients), so "test"
--   cannot be a way to message an audience without the broadcaster role;
-- - the four-eyes rule compares logins where roles decide: the login that triggered a waiting
--   broadcast cannot approve it, whatever name it gives.
-- The audience and its channels are planned by opsdeck (domain::broadcast::plan) from the same
-- tables; which levels wait for a second operator is opsdeck's configuration.

-- Which levels wait for a second operator, held by the database (an admin sets them with
-- `opsdeck broadcast rules`): a live broadcast of such a level waits whatever its sender says.
-- opsdeck's own `second_operator_for` configuration can only add levels to these.
CREATE TABLE IF NOT EXISTS opsdeck_broadcast_rules (
    one                 boolean PRIMARY KEY DEFAULT true CHECK (one),
    second_operator_for text[] NOT NULL DEFAULT '{}',
    set_by              text,
    set_at              timestamptz
);
INSERT INTO opsdeck_broadcast_rules DEFAULT VALUES ON CONFLICT DO NOTHING;

-- The audit row of a broadcast action (target: the broadcast).
CREATE FUNCTION opsdeck_broadcast_audit(p_action text, p_id uuid, p_note text, p_display text,
                                        p_origin text, p_outcome text, p_before jsonb,
                                        p_after jsonb) RETURNS uuid
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_id uuid := gen_random_uuid();
    a record := opsdeck_actor(p_display);
BEGIN
    INSERT INTO operator_actions (id, at, operator, origin, action, target_type, target_id,
                                  before, after, note, outcome, login, display_name)
    VALUES (v_id, statement_timestamp(), a.operator, p_origin, p_action, 'broadcast', p_id::text, p_before,
            p_after, p_note, p_outcome, session_user, a.display_name);
    RETURN v_id;
END $$;

-- One pending broadcast.<channel> job per delivery of broadcast `p_id` in status `p_status`.
CREATE FUNCTION opsdeck_broadcast_jobs(p_id uuid, p_ids uuid[]) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO job_queue (id, job_type, payload, status, priority, attempts, max_attempts,
                           scheduled_for, workflow_id, created_at, updated_at)
    SELECT gen_random_uuid(), 'broadcast.' || d.channel,
           jsonb_build_object('delivery_id', d.id::text, 'broadcast_id', p_id::text), 'pending',
           100, 0, CASE WHEN d.channel = 'voice' THEN 2 ELSE 3 END, statement_timestamp(),
           (SELECT id FROM workflows WHERE name = 'Emergency Broadcast System' LIMIT 1),
           statement_timestamp(), statement_timestamp()
    FROM broadcast_deliveries d
    WHERE d.broadcast_id = p_id AND d.id = ANY (p_ids)
      AND d.channel IN ('sms', 'whatsapp', 'email', 'voice');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Sends (or stores for approval) a broadcast planned by opsdeck. `p`: {id, idempotency_key,
-- level, scope, event_id, venue_name, message, test, channels, follow_up_of, reached,
-- unreachable, duplicates, needs_approval, new_people: [{id, name, phone, email,
-- primary_channel}], deliveries: [[person_id, channel]], after}. Returns {outcome: ok |
-- replay | denied, message, audit_id, status}.
CREATE FUNCTION opsdeck_broadcast_send(p jsonb, p_display text, p_origin text) RETURNS jsonb
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
    v_people bigint;
    v_ids uuid[];
BEGIN
    v_denied := opsdeck_may(v_kind);
    IF v_denied IS NULL AND v_test THEN
        -- a test reaches the operator's own few test recipients: never an audience
        SELECT count(DISTINCT x->>0) INTO v_people
        FROM jsonb_array_elements(COALESCE(p->'deliveries', '[]')) x;
        IF v_people > 10 OR jsonb_array_length(COALESCE(p->'new_people', '[]')) > 10 THEN
            v_denied := format('a test broadcast reaches at most 10 people (test recipients), not %s: a live broadcast needs opsdeck_broadcaster',
                               v_people);
        END IF;
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

-- Sets the levels that wait for a second operator (admin). Returns {outcome: ok | denied,
-- message, levels}.
CREATE FUNCTION opsdeck_set_broadcast_rules(p_levels text[], p_display text, p_origin text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_denied text := opsdeck_may('broadcast.rules');
    v_levels text[];
BEGIN
    SELECT COALESCE(array_agg(DISTINCT l ORDER BY l), '{}') INTO v_levels
    FROM unnest(p_levels) l;
    IF NOT v_levels <@ ARRAY['info', 'warning', 'urgent', 'critical'] THEN
        RAISE EXCEPTION 'unknown level in %: the levels are info, warning, urgent, critical',
            p_levels USING ERRCODE = '22023';
    END IF;
    IF v_denied IS NOT NULL THEN
        PERFORM opsdeck_broadcast_audit('broadcast.rules', NULL, array_to_string(v_levels, ','),
            p_display, p_origin, 'denied', NULL, jsonb_build_object('denied', v_denied));
        RETURN jsonb_build_object('outcome', 'denied', 'message', v_denied);
    END IF;
    UPDATE opsdeck_broadcast_rules SET second_operator_for = v_levels,
           set_by = (opsdeck_actor(p_display)).operator, set_at = statement_timestamp();
    PERFORM opsdeck_broadcast_audit('broadcast.rules', NULL, array_to_string(v_levels, ','),
        p_display, p_origin, 'ok', NULL, jsonb_build_object('second_operator_for', v_levels));
    RETURN jsonb_build_object('outcome', 'ok', 'levels', to_jsonb(v_levels));
END $$;

-- Why a conditional update on a broadcast matched nothing (as api::store::broadcast says it).
CREATE FUNCTION opsdeck_broadcast_explain(p_id uuid, p_me text, p_approving boolean)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r record;
BEGIN
    SELECT status, triggered_by, approved_by, approved_at, cancelled_by, cancelled_at INTO r
    FROM emergency_broadcasts WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN 'no broadcast ' || p_id;
    END IF;
    RETURN CASE
        WHEN r.status = 'awaiting_approval' AND p_approving AND r.triggered_by = p_me
            THEN 'the four-eyes rule: you triggered this broadcast, a different operator must approve it'
        WHEN r.status = 'cancelled'
            THEN format('already cancelled by %s at %s', COALESCE(r.cancelled_by, ''),
                        COALESCE(to_char(r.cancelled_at AT TIME ZONE 'UTC', 'HH24:MI'), ''))
        WHEN p_approving AND r.approved_by IS NOT NULL
            THEN format('already approved by %s at %s (%s)', r.approved_by,
                        COALESCE(to_char(r.approved_at AT TIME ZONE 'UTC', 'HH24:MI'), ''), r.status)
        WHEN p_approving THEN format('the broadcast is %s, not awaiting approval', r.status)
        ELSE format('the broadcast already finished (%s): nothing left to stop', r.status)
    END;
END $$;

-- approve | cancel | cancel_waiting a broadcast. Returns {outcome: ok | conflict | error |
-- denied, message, deliveries, stopped, already_out, in_flight, webhook_status, audit_id}.
CREATE FUNCTION opsdeck_broadcast_decide(p_id uuid, p_verb text, p_display text, p_origin text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_action text := CASE WHEN p_verb = 'approve' THEN 'broadcast.approve' ELSE 'broadcast.cancel' END;
    v_me text := (opsdeck_actor(p_display)).operator;
    v_denied text := opsdeck_may(v_action);
    v_now timestamptz := statement_timestamp();
    v_n bigint;
    v_ids uuid[];
    v_why text;
    v_old text;
    v_webhook text;
    v_jobs uuid[];
    v_stopped bigint := 0;
    v_out bigint := 0;
    v_flight bigint := 0;
    v_msg text;
BEGIN
    IF p_verb NOT IN ('approve', 'cancel', 'cancel_waiting') THEN
        RAISE EXCEPTION 'opsdeck_broadcast_decide: unknown verb %', p_verb USING ERRCODE = '22023';
    END IF;
    IF v_denied IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'denied', 'message', v_denied,
            'audit_id', opsdeck_broadcast_audit(v_action, p_id, NULL, p_display, p_origin,
                'denied', NULL, jsonb_build_object('denied', v_denied)));
    END IF;
    IF p_verb = 'approve' THEN
        UPDATE emergency_broadcasts SET status = 'queued', approved_by = v_me, approved_at = v_now
        WHERE id = p_id AND status = 'awaiting_approval' AND triggered_by <> v_me;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        IF v_n = 1 THEN
            WITH u AS (UPDATE broadcast_deliveries SET status = 'queued'
                       WHERE broadcast_id = p_id AND status = 'held' RETURNING id)
            SELECT COALESCE(array_agg(id), '{}') INTO v_ids FROM u;
            PERFORM opsdeck_broadcast_jobs(p_id, v_ids);
            RETURN jsonb_build_object('outcome', 'ok', 'deliveries', cardinality(v_ids),
                'message', format('broadcast %s approved by %s: %s deliveries queued', p_id, v_me,
                                  cardinality(v_ids)),
                'audit_id', opsdeck_broadcast_audit(v_action, p_id, NULL, p_display, p_origin, 'ok',
                    jsonb_build_object('status', 'awaiting_approval'),
                    jsonb_build_object('status', 'queued', 'deliveries', cardinality(v_ids))));
        END IF;
    ELSE
        -- the broadcast row first (the engine locks it before its deliveries too)
        UPDATE emergency_broadcasts SET status = 'cancelled', cancelled_by = v_me,
               cancelled_at = v_now, completed_at = v_now
        WHERE id = p_id AND status = 'awaiting_approval';
        GET DIAGNOSTICS v_n = ROW_COUNT;
        IF v_n = 1 THEN
            UPDATE broadcast_deliveries SET status = 'cancelled'
            WHERE broadcast_id = p_id AND status = 'held';
            GET DIAGNOSTICS v_n = ROW_COUNT;
            RETURN jsonb_build_object('outcome', 'ok', 'deliveries', v_n, 'stopped', v_n,
                'message', format('broadcast %s cancelled by %s: nothing sent', p_id, v_me),
                'audit_id', opsdeck_broadcast_audit(v_action, p_id, NULL, p_display, p_origin, 'ok',
                    jsonb_build_object('status', 'awaiting_approval'),
                    jsonb_build_object('status', 'cancelled', 'deliveries', v_n, 'stopped', v_n,
                                       'already_out', 0)));
        END IF;
        IF p_verb = 'cancel' THEN
            SELECT status, webhook_status INTO v_old, v_webhook FROM emergency_broadcasts
            WHERE id = p_id AND status IN ('queued', 'sending');
            UPDATE emergency_broadcasts SET status = 'cancelled', cancelled_by = v_me,
                   cancelled_at = v_now, completed_at = v_now
            WHERE id = p_id AND status IN ('queued', 'sending');
            GET DIAGNOSTICS v_n = ROW_COUNT;
            IF v_n = 1 THEN
                WITH j AS (
                    UPDATE job_queue SET status = 'cancelled', completed_at = v_now,
                           updated_at = v_now, locked_by = NULL,
                           error_message = 'broadcast cancelled by ' || v_me
                    WHERE status IN ('pending', 'retrying') AND job_type LIKE 'broadcast.%'
                      AND payload->>'broadcast_id' = p_id::text
                    RETURNING (payload->>'delivery_id')::uuid AS d)
                SELECT COALESCE(array_agg(d), '{}') INTO v_jobs FROM j;
                IF cardinality(v_jobs) > 0 THEN
                    UPDATE broadcast_deliveries SET status = 'cancelled',
                           error = 'broadcast cancelled by ' || v_me
                    WHERE broadcast_id = p_id AND status = 'queued' AND id = ANY (v_jobs);
                    GET DIAGNOSTICS v_stopped = ROW_COUNT;
                END IF;
                SELECT COALESCE(sum(CASE WHEN status IN ('sent', 'delivered', 'failed') THEN 1 ELSE 0 END), 0),
                       COALESCE(sum(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0)
                  INTO v_out, v_flight
                FROM broadcast_deliveries WHERE broadcast_id = p_id;
                v_msg := format('broadcast %s cancelled by %s: %s deliveries stopped, %s already out',
                                p_id, v_me, v_stopped, v_out);
                IF v_flight > 0 THEN
                    v_msg := v_msg || format(', %s in flight (a worker had them: they may still go out)',
                                             v_flight);
                END IF;
                IF v_webhook IN ('ok', 'calling') THEN
                    v_msg := v_msg || '; n8n''s own broadcast was already triggered: stop it in n8n too';
                END IF;
                RETURN jsonb_build_object('outcome', 'ok', 'deliveries', v_stopped,
                    'stopped', v_stopped, 'already_out', v_out, 'in_flight', v_flight,
                    'message', v_msg,
                    'audit_id', opsdeck_broadcast_audit(v_action, p_id, NULL, p_display, p_origin,
                        'ok', jsonb_build_object('status', COALESCE(v_old, 'queued')),
                        jsonb_build_object('status', 'cancelled', 'stopped', v_stopped,
                            'already_out', v_out, 'in_flight', v_flight,
                            'jobs_cancelled', cardinality(v_jobs))));
            END IF;
        END IF;
    END IF;
    -- nothing matched: say why, on record when the broadcast exists
    v_why := opsdeck_broadcast_explain(p_id, v_me, p_verb <> 'cancel');
    IF v_why LIKE 'no broadcast %' THEN
        RETURN jsonb_build_object('outcome', 'error', 'message', v_why);
    END IF;
    RETURN jsonb_build_object('outcome', 'conflict', 'message', v_why,
        'audit_id', opsdeck_broadcast_audit(v_action, p_id, NULL, p_display, p_origin, 'conflict',
            NULL, jsonb_build_object('conflict', v_why)));
END $$;

-- Puts the failed deliveries of a broadcast back to queued with new jobs. Returns {outcome: ok
-- (n > 0) | none | denied, n, message, audit_id}.
CREATE FUNCTION opsdeck_broadcast_retry(p_id uuid, p_display text, p_origin text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_test boolean;
    v_kind text;
    v_denied text;
    v_ids uuid[];
BEGIN
    SELECT test INTO v_test FROM emergency_broadcasts WHERE id = p_id;
    v_kind := CASE WHEN v_test THEN 'broadcast.test' ELSE 'broadcast.retry' END;
    v_denied := opsdeck_may(v_kind);
    IF v_denied IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'denied', 'message', v_denied,
            'audit_id', opsdeck_broadcast_audit('broadcast.retry', p_id, NULL, p_display, p_origin,
                'denied', NULL, jsonb_build_object('denied', v_denied)));
    END IF;
    -- lock the broadcast first (the engine's order), reopen it if it had closed
    UPDATE emergency_broadcasts
       SET status = CASE WHEN status = 'queued' THEN 'queued' ELSE 'sending' END, completed_at = NULL
     WHERE id = p_id AND status IN ('queued', 'sending', 'sent', 'partially_failed', 'failed')
       AND EXISTS (SELECT FROM broadcast_deliveries WHERE broadcast_id = p_id AND status = 'failed');
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'none', 'n', 0);
    END IF;
    WITH u AS (UPDATE broadcast_deliveries SET status = 'queued', error = NULL, sent_at = NULL
               WHERE broadcast_id = p_id AND status = 'failed' RETURNING id)
    SELECT COALESCE(array_agg(id), '{}') INTO v_ids FROM u;
    RETURN jsonb_build_object('outcome', 'ok', 'n', opsdeck_broadcast_jobs(p_id, v_ids),
        'audit_id', opsdeck_broadcast_audit('broadcast.retry', p_id, NULL, p_display, p_origin,
            'ok', jsonb_build_object('failed', cardinality(v_ids)),
            jsonb_build_object('queued', cardinality(v_ids))));
END $$;

-- n8n's webhook call: the claim before it (never for a cancelled or waiting broadcast, never
-- twice) and the record after it.
CREATE FUNCTION opsdeck_broadcast_claim_webhook(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r record;
BEGIN
    -- n8n's own broadcast is a live broadcast's: only a login that may send one claims it
    IF opsdeck_may('broadcast.live') IS NOT NULL THEN
        RETURN jsonb_build_object('skip', 'n8n not called: ' || opsdeck_may('broadcast.live'));
    END IF;
    UPDATE emergency_broadcasts SET webhook_status = 'calling'
    WHERE id = p_id AND webhook_status IS NULL AND NOT test
      AND status NOT IN ('cancelled', 'awaiting_approval')
    RETURNING level, scope, event_id, venue_name, message, triggered_by, idempotency_key INTO r;
    IF FOUND THEN
        RETURN jsonb_build_object('body', jsonb_build_object('level', r.level, 'scope', r.scope,
            'event_id', r.event_id::text, 'venue_name', r.venue_name, 'message', r.message,
            'triggered_by', r.triggered_by, 'idempotency_key', r.idempotency_key,
            'broadcast_id', p_id::text));
    END IF;
    SELECT status, webhook_status INTO r FROM emergency_broadcasts WHERE id = p_id;
    RETURN jsonb_build_object('skip', CASE
        WHEN NOT FOUND THEN format('broadcast %s not found', p_id)
        WHEN r.webhook_status IS NOT NULL THEN 'n8n not called again: its call is ' || r.webhook_status
        ELSE 'n8n not called: the broadcast is ' || r.status END);
END $$;

CREATE FUNCTION opsdeck_broadcast_record_webhook(p_id uuid, p_ok boolean, p_error text,
                                                 p_after jsonb, p_display text, p_origin text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF opsdeck_may('broadcast.live') IS NOT NULL THEN
        RETURN false;
    END IF;
    -- only a call that was claimed and is not recorded yet
    UPDATE emergency_broadcasts SET webhook_status = CASE WHEN p_ok THEN 'ok' ELSE 'failed' END,
           webhook_error = CASE WHEN p_ok THEN NULL ELSE p_error END
    WHERE id = p_id AND webhook_status = 'calling';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM opsdeck_broadcast_audit('broadcast.webhook', p_id, NULL, p_display, p_origin,
        CASE WHEN p_ok THEN 'ok' ELSE 'error' END, NULL, p_after);
    RETURN true;
END $$;

REVOKE EXECUTE ON FUNCTION opsdeck_broadcast_audit(text, uuid, text, text, text, text, jsonb, jsonb),
    opsdeck_broadcast_jobs(uuid, uuid[]) FROM PUBLIC;
