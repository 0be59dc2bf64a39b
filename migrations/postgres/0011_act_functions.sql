-- Operator actions as database functions (issue 18: roles that say who may act).
--
-- Every database action of the console and the CLI is one call to opsdeck_act(action, display,
-- origin). The function runs as its owner (SECURITY DEFINER, fixed search_path, pg_temp last),
-- so the people who act need no UPDATE rights on the action tables at all. It
--   1. decides who acts: session_user, the database login (a SECURITY DEFINER function cannot
--      change it, SET ROLE cannot either);
--   2. checks that login may do this action (opsdeck_may): by its opsdeck roles when it holds
--      any (`opsdeck roles init` creates them), else by its table grants, as before roles;
--   3. makes the conditional change (`… WHERE id = $1 AND status = <expected>`);
--   4. writes exactly one operator_actions row, whatever the outcome: ok, conflict or denied.
-- A denied call changes nothing and still leaves its audit row (it returns, it does not raise).
--
-- The capability is read from the action itself (its "action" tag), never from a name the
-- caller passes, and the operator column is the login: a forged display name lands beside it
-- (display_name), never instead of it.
--
-- SQLite (the demo) keeps the same rules in Rust (api::store::actions), single-user.

-- the rows already there keep no login (who wrote them is not known); new rows get theirs
ALTER TABLE operator_actions ADD COLUMN login text;
ALTER TABLE operator_actions ALTER COLUMN login SET DEFAULT session_user;
ALTER TABLE operator_actions ADD COLUMN display_name text;

-- The opsdeck roles a login holds, through any chain of grants (explicit membership: a
-- superuser counts as a member of every role for pg_has_role, but holds none of these unless
-- granted one; a superuser cannot be bound by roles anyway).
CREATE FUNCTION opsdeck_roles_of(p_login text) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE m(oid) AS (
        SELECT a.roleid FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.member
        WHERE r.rolname = p_login
        UNION
        SELECT a.roleid FROM pg_auth_members a JOIN m ON a.member = m.oid
    )
    SELECT COALESCE(array_agg(r.rolname::text ORDER BY r.rolname), '{}')
    FROM m JOIN pg_roles r ON r.oid = m.oid
    WHERE r.rolname IN ('opsdeck_viewer', 'opsdeck_operator', 'opsdeck_approver',
                        'opsdeck_broadcaster', 'opsdeck_admin')
$$;

-- The role an action needs (the README's table; domain::role::Role::needed_for says the same).
CREATE FUNCTION opsdeck_needs(p_action text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_action IN ('workflow.pause', 'workflow.resume', 'job.retry_failed',
                          'n8n.workflow.pause', 'n8n.workflow.resume') THEN 'opsdeck_admin'
        WHEN p_action IN ('approval.approve', 'approval.reject', 'approval.resend')
            THEN 'opsdeck_approver'
        WHEN p_action IN ('broadcast.live', 'broadcast.follow_up', 'broadcast.cancel',
                          'broadcast.retry')
            THEN 'opsdeck_broadcaster'
        WHEN p_action IN ('broadcast.approve', 'broadcast.rules') THEN 'opsdeck_admin'
        ELSE 'opsdeck_operator'
    END
$$;

-- Whether the session's login holds every (table, privilege) pair on its own.
CREATE FUNCTION opsdeck_holds(p_rights text[]) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r text[];
BEGIN
    FOREACH r SLICE 1 IN ARRAY p_rights LOOP
        IF NOT has_table_privilege(session_user, 'public.' || r[1], r[2]) THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END $$;

-- NULL when the session's login may do the action, else why not ("needs opsdeck_approver").
CREATE FUNCTION opsdeck_may(p_action text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_roles text[] := opsdeck_roles_of(session_user::text);
    v_need  text   := opsdeck_needs(p_action);
    v_bc    boolean := p_action LIKE 'broadcast.%';
BEGIN
    IF cardinality(v_roles) = 0 THEN
        -- no opsdeck role: as before roles, the login's own rights on the tables the action
        -- writes decide (a broadcast's, or the other actions')
        IF (v_bc AND opsdeck_holds(ARRAY[
                ['emergency_broadcasts', 'INSERT'], ['emergency_broadcasts', 'UPDATE'],
                ['broadcast_deliveries', 'INSERT'], ['broadcast_deliveries', 'UPDATE'],
                ['people', 'INSERT'], ['job_queue', 'INSERT'], ['job_queue', 'UPDATE'],
                ['operator_actions', 'INSERT']]))
           OR (NOT v_bc AND opsdeck_holds(ARRAY[
                ['operator_actions', 'INSERT'], ['workflow_executions', 'INSERT'],
                ['workflows', 'UPDATE'], ['job_queue', 'UPDATE'],
                ['workflow_executions', 'UPDATE'], ['approval_requests', 'UPDATE'],
                ['rate_negotiations', 'UPDATE'], ['reconciliation_discrepancies', 'UPDATE'],
                ['capacity_alerts', 'UPDATE']])) THEN
            RETURN NULL;
        END IF;
        RETURN format('read-only: the login %s holds no opsdeck role and may not change the %s tables',
                      session_user, CASE WHEN v_bc THEN 'broadcast' ELSE 'action' END);
    END IF;
    IF v_need = ANY (v_roles) THEN
        RETURN NULL;
    END IF;
    RETURN format('needs %s (%s has %s)', v_need, session_user, array_to_string(v_roles, ', '));
END $$;

-- " at HH:MM UTC" (or ""), " by WHO at HH:MM UTC": how conflicts name who got there first.
CREATE FUNCTION opsdeck_at(p_t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_t IS NULL THEN ''
                ELSE ' at ' || to_char(p_t AT TIME ZONE 'UTC', 'HH24:MI') || ' UTC' END
$$;

CREATE FUNCTION opsdeck_by(p_who text, p_t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_who IS NULL THEN opsdeck_at(p_t)
                ELSE ' by ' || p_who || opsdeck_at(p_t) END
$$;

-- The last successful operator action on a target since `p_since` (the row's updated_at): an
-- older one did not make the row what it is now.
CREATE FUNCTION opsdeck_last_actor(p_target uuid, p_actions text[], p_since timestamptz)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT COALESCE((
        SELECT opsdeck_by(operator, at) FROM operator_actions
        WHERE target_id = p_target::text AND outcome = 'ok'
          AND (p_since IS NULL OR at >= p_since) AND action = ANY (p_actions)
        ORDER BY at DESC LIMIT 1), '')
$$;

-- The audit trail's action, target_type, target_id and note, read from the action itself.
CREATE FUNCTION opsdeck_action_name(p jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p->>'action'
        WHEN 'pause_workflows' THEN 'workflow.pause'
        WHEN 'resume_workflows' THEN 'workflow.resume'
        WHEN 'retry_jobs' THEN 'job.retry'
        WHEN 'retry_failed' THEN 'job.retry_failed'
        WHEN 'cancel_jobs' THEN 'job.cancel'
        WHEN 'retry_run' THEN 'run.retry'
        WHEN 'cancel_run' THEN 'run.cancel'
        WHEN 'decide' THEN CASE WHEN (p->>'approve')::boolean THEN 'approval.approve'
                                ELSE 'approval.reject' END
        WHEN 'resend_decision' THEN 'approval.resend'
        WHEN 'resolve' THEN CASE WHEN (p->>'ignore')::boolean THEN 'discrepancy.ignore'
                                 ELSE 'discrepancy.resolve' END
        WHEN 'ack_capacity' THEN 'capacity.ack'
        WHEN 'n8n_set_active' THEN CASE WHEN (p->>'active')::boolean THEN 'n8n.workflow.resume'
                                        ELSE 'n8n.workflow.pause' END
        WHEN 'n8n_retry' THEN 'n8n.execution.retry'
    END
$$;

CREATE FUNCTION opsdeck_action_target(p jsonb, OUT target_type text, OUT target_id text,
                                      OUT note text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT
        CASE p->>'action'
            WHEN 'pause_workflows' THEN 'workflow' WHEN 'resume_workflows' THEN 'workflow'
            WHEN 'retry_jobs' THEN 'job' WHEN 'retry_failed' THEN 'job' WHEN 'cancel_jobs' THEN 'job'
            WHEN 'retry_run' THEN 'run' WHEN 'cancel_run' THEN 'run'
            WHEN 'decide' THEN 'approval_request' WHEN 'resend_decision' THEN 'approval_request'
            WHEN 'resolve' THEN 'discrepancy' WHEN 'ack_capacity' THEN 'event'
            WHEN 'n8n_set_active' THEN 'n8n_workflow' WHEN 'n8n_retry' THEN 'n8n_execution'
        END,
        CASE p->>'action'
            WHEN 'pause_workflows' THEN CASE WHEN jsonb_array_length(p->'workflows') = 1
                                             THEN p->'workflows'->0->>'id' END
            WHEN 'resume_workflows' THEN CASE WHEN jsonb_array_length(p->'workflows') = 1
                                              THEN p->'workflows'->0->>'id' END
            WHEN 'retry_jobs' THEN CASE WHEN jsonb_array_length(p->'jobs') = 1
                                        THEN p->'jobs'->0->>'id' END
            WHEN 'cancel_jobs' THEN CASE WHEN jsonb_array_length(p->'jobs') = 1
                                         THEN p->'jobs'->0->>'id' END
            WHEN 'retry_failed' THEN NULL
            WHEN 'retry_run' THEN p->>'run' WHEN 'cancel_run' THEN p->>'run'
            WHEN 'decide' THEN p->>'request' WHEN 'resend_decision' THEN p->>'request'
            WHEN 'resolve' THEN p->>'discrepancy' WHEN 'ack_capacity' THEN p->>'event'
            WHEN 'n8n_set_active' THEN p->>'workflow' WHEN 'n8n_retry' THEN p->>'execution'
        END,
        CASE p->>'action'
            WHEN 'pause_workflows' THEN p->>'reason' WHEN 'decide' THEN p->>'note'
            WHEN 'resolve' THEN p->>'note' WHEN 'n8n_set_active' THEN p->>'reason'
        END
$$;

-- Who the audit row names: the login when it acts by role (the display name beside it), the
-- display name when it acts by grants (as before roles; the login column still says who).
-- A login without roles and without write rights is named by its login too (the name it gives
-- beside it): only a login trusted with the tables may still record a name of its choosing.
CREATE FUNCTION opsdeck_actor(p_display text, OUT operator text, OUT display_name text)
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    WITH w AS (
        SELECT cardinality(opsdeck_roles_of(session_user::text)) = 0
               AND opsdeck_may('job.retry') IS NULL AS trusted,
               NULLIF(btrim(p_display), '') AS given)
    SELECT CASE WHEN w.trusted THEN COALESCE(w.given, session_user::text)
                ELSE session_user::text END,
           CASE WHEN NOT w.trusted AND w.given IS DISTINCT FROM session_user::text
                THEN w.given END
    FROM w
$$;

CREATE FUNCTION opsdeck_write_audit(p jsonb, p_display text, p_origin text, p_outcome text,
                                    p_before jsonb, p_after jsonb) RETURNS uuid
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_id uuid := gen_random_uuid();
    t record := opsdeck_action_target(p);
    a record := opsdeck_actor(p_display);
BEGIN
    INSERT INTO operator_actions (id, at, operator, origin, action, target_type, target_id,
                                  before, after, note, outcome, login, display_name)
    VALUES (v_id, statement_timestamp(), a.operator, p_origin, opsdeck_action_name(p), t.target_type,
            t.target_id, p_before, p_after, t.note, p_outcome, session_user, a.display_name);
    RETURN v_id;
END $$;

-- ---- the actions ------------------------------------------------------------------------

CREATE FUNCTION opsdeck_act_workflows(p jsonb, p_op text, OUT changed jsonb,
                                      OUT conflicts jsonb, OUT before jsonb, OUT after jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_pausing boolean := p->>'action' = 'pause_workflows';
    v_now timestamptz := statement_timestamp();
    w record;
    cur record;
    n bigint;
BEGIN
    changed := '[]'; conflicts := '[]';
    FOR w IN SELECT * FROM jsonb_to_recordset(p->'workflows') AS x(id uuid, label text) LOOP
        IF v_pausing THEN
            UPDATE workflows SET status = 'paused', paused_by = p_op, paused_at = v_now,
                   pause_reason = p->>'reason', updated_at = v_now
            WHERE id = w.id AND status = 'active';
        ELSE
            UPDATE workflows SET status = 'active', paused_by = NULL, paused_at = NULL,
                   pause_reason = NULL, updated_at = v_now
            WHERE id = w.id AND status = 'paused';
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 1 THEN
            changed := changed || to_jsonb(w.id::text);
            CONTINUE;
        END IF;
        SELECT status, paused_by, paused_at, updated_at INTO cur FROM workflows WHERE id = w.id;
        conflicts := conflicts || to_jsonb(CASE
            WHEN NOT FOUND THEN w.label || ': no such workflow'
            WHEN v_pausing AND cur.status = 'paused'
                THEN w.label || ' already paused' || opsdeck_by(cur.paused_by, cur.paused_at)
            WHEN NOT v_pausing AND cur.status = 'active'
                THEN w.label || ' already active (resumed'
                     || opsdeck_last_actor(w.id, '{workflow.resume}', cur.updated_at) || ')'
            ELSE w.label || ' is ' || cur.status END);
    END LOOP;
    before := jsonb_build_object('status', CASE WHEN v_pausing THEN 'active' ELSE 'paused' END,
                                 'workflows', p->'workflows');
    after := jsonb_build_object('status', CASE WHEN v_pausing THEN 'paused' ELSE 'active' END,
                                'changed', changed, 'conflicts', conflicts);
END $$;

CREATE FUNCTION opsdeck_act_jobs(p jsonb, OUT changed jsonb, OUT conflicts jsonb,
                                 OUT before jsonb, OUT after jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_retry boolean := p->>'action' = 'retry_jobs';
    v_from text[] := CASE WHEN v_retry THEN '{failed}'::text[] ELSE '{pending,retrying}' END;
    v_to text := CASE WHEN v_retry THEN 'pending' ELSE 'cancelled' END;
    v_now timestamptz := statement_timestamp();
    v_ids uuid[];
    v_done uuid[];
    j uuid;
    cur record;
    v_how text;
BEGIN
    SELECT COALESCE(array_agg(DISTINCT (x->>'id')::uuid ORDER BY (x->>'id')::uuid), '{}')
      INTO v_ids FROM jsonb_array_elements(p->'jobs') x;
    IF v_retry THEN
        WITH u AS (
            UPDATE job_queue SET status = 'pending', attempts = 0, scheduled_for = v_now,
                   started_at = NULL, completed_at = NULL, locked_by = NULL, updated_at = v_now
            WHERE id = ANY (v_ids) AND status = ANY (v_from) RETURNING id)
        SELECT COALESCE(array_agg(id), '{}') INTO v_done FROM u;
    ELSE
        WITH u AS (
            UPDATE job_queue SET status = 'cancelled', completed_at = v_now, locked_by = NULL,
                   updated_at = v_now
            WHERE id = ANY (v_ids) AND status = ANY (v_from) RETURNING id)
        SELECT COALESCE(array_agg(id), '{}') INTO v_done FROM u;
    END IF;
    conflicts := '[]';
    FOREACH j IN ARRAY v_ids LOOP
        CONTINUE WHEN j = ANY (v_done);
        SELECT status, locked_by, updated_at INTO cur FROM job_queue WHERE id = j;
        IF NOT FOUND THEN
            conflicts := conflicts || to_jsonb('job ' || left(j::text, 8) || ': no such job');
            CONTINUE;
        END IF;
        v_how := CASE
            WHEN cur.status = 'processing' THEN COALESCE(' on ' || cur.locked_by, '')
            WHEN cur.status = v_to THEN opsdeck_last_actor(
                j, '{job.retry,job.retry_failed,job.cancel}', cur.updated_at)
            ELSE '' END;
        conflicts := conflicts || to_jsonb('job ' || left(j::text, 8) || ' '
            || CASE WHEN cur.status = v_to THEN 'already ' ELSE '' END || cur.status || v_how);
    END LOOP;
    changed := to_jsonb(v_done);
    before := jsonb_build_object('status', to_jsonb(v_from), 'jobs', to_jsonb(v_ids));
    after := jsonb_build_object('status', v_to, 'changed', changed, 'conflicts', conflicts);
END $$;

CREATE FUNCTION opsdeck_act_retry_failed(p jsonb, OUT n bigint, OUT rolled_back boolean,
                                         OUT conflicts jsonb, OUT before jsonb, OUT after jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    s jsonb := p->'select';
    v_type text := s->>'job_type';
    v_wf uuid := (s->>'workflow_id')::uuid;
    v_by timestamptz := (s->>'failed_by')::timestamptz;
    v_text text := NULLIF(btrim(s->>'text'), '');
    v_like text;
    v_expected bigint := (p->>'expected')::bigint;
    v_now timestamptz := statement_timestamp();
    v_why text;
BEGIN
    IF v_text IS NOT NULL THEN
        v_like := '%' || replace(replace(replace(lower(v_text), '\', '\\'), '%', '\%'), '_', '\_')
                  || '%';
    END IF;
    rolled_back := false;
    BEGIN
        UPDATE job_queue SET status = 'pending', attempts = 0, scheduled_for = v_now,
               started_at = NULL, completed_at = NULL, locked_by = NULL, updated_at = v_now
        WHERE id IN (
            SELECT j.id FROM job_queue j
            WHERE j.status = 'failed'
              AND (v_type IS NULL OR j.job_type = v_type)
              AND (v_wf IS NULL OR j.workflow_id = v_wf)
              AND (v_by IS NULL OR j.updated_at <= v_by)
              AND (v_like IS NULL
                   OR lower(j.job_type || ' ' || COALESCE(j.error_message, '')) LIKE v_like ESCAPE '\'))
          AND status = 'failed'
          -- re-checked on the row as updated: a job retried and failed again while this waited
          -- for its lock failed after the operator asked
          AND (v_by IS NULL OR updated_at <= v_by);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF v_expected IS NOT NULL AND n > v_expected THEN
            -- more failed jobs match now than the operator confirmed: a bulk change must not
            -- grow behind their back; undo it (this block only) and say so
            RAISE EXCEPTION USING ERRCODE = 'OPSD1';
        END IF;
    EXCEPTION WHEN SQLSTATE 'OPSD1' THEN
        rolled_back := true;
    END;
    IF rolled_back THEN
        v_why := format('%s failed jobs match %s now, %s when you confirmed: nothing retried — count again',
                        n, p->>'describe', v_expected);
        conflicts := jsonb_build_array(v_why);
        before := jsonb_build_object('status', 'failed', 'filter', s, 'expected', v_expected);
        after := jsonb_build_object('conflict', v_why, 'matching', n);
        RETURN;
    END IF;
    conflicts := CASE WHEN n = 0
                      THEN jsonb_build_array('no failed job matches ' || (p->>'describe'))
                      ELSE '[]' END;
    before := jsonb_build_object('status', 'failed', 'filter', s, 'expected', v_expected);
    after := jsonb_build_object('status', 'pending', 'count', n);
END $$;

CREATE FUNCTION opsdeck_act_run(p jsonb, p_op text, OUT n bigint, OUT conflicts jsonb,
                                OUT before jsonb, OUT after jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_run uuid := (p->>'run')::uuid;
    v_short text := left(v_run::text, 8);
    v_now timestamptz := statement_timestamp();
    v_new uuid := gen_random_uuid();
    v_expired bigint;
    cur record;
BEGIN
    conflicts := '[]';
    before := jsonb_build_object('run', v_run);
    IF p->>'action' = 'retry_run' THEN
        UPDATE workflow_executions SET retried_as = v_new, updated_at = v_now
        WHERE id = v_run AND status IN ('failed', 'cancelled') AND retried_as IS NULL;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            SELECT status, retried_as, updated_at INTO cur FROM workflow_executions WHERE id = v_run;
            conflicts := jsonb_build_array(CASE
                WHEN NOT FOUND THEN 'run ' || v_short || ': no such run'
                WHEN cur.retried_as IS NOT NULL THEN 'run ' || v_short || ' already retried'
                     || opsdeck_last_actor(v_run, '{run.retry}', cur.updated_at)
                     || ' (new run ' || left(cur.retried_as::text, 8) || ')'
                ELSE 'run ' || v_short || ' is ' || cur.status
                     || ': only failed or cancelled runs can be retried' END);
            after := jsonb_build_object('conflict', conflicts->>0);
            RETURN;
        END IF;
        INSERT INTO workflow_executions (id, workflow_id, status, started_at, event_id,
                                         steps_total, steps_completed, context, retry_of,
                                         updated_at)
        SELECT v_new, workflow_id, 'pending', v_now, event_id, steps_total, 0,
               CASE WHEN jsonb_typeof(context) = 'object' THEN context ELSE '{}' END
                   || jsonb_build_object('retry_of', v_run),
               v_run, v_now
        FROM workflow_executions WHERE id = v_run;
        after := jsonb_build_object('new_run', v_new, 'status', 'pending');
        RETURN;
    END IF;
    UPDATE workflow_executions SET status = 'cancelled', completed_at = v_now,
           error_message = 'cancelled by ' || p_op, updated_at = v_now
    WHERE id = v_run AND status IN ('pending', 'running', 'waiting');
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        SELECT status, updated_at INTO cur FROM workflow_executions WHERE id = v_run;
        conflicts := jsonb_build_array(CASE
            WHEN NOT FOUND THEN 'run ' || v_short || ': no such run'
            WHEN cur.status = 'cancelled' THEN 'run ' || v_short || ' already cancelled'
                 || opsdeck_last_actor(v_run, '{run.cancel}', cur.updated_at)
            ELSE 'run ' || v_short || ' already ' || cur.status END);
        after := jsonb_build_object('conflict', conflicts->>0);
        RETURN;
    END IF;
    -- a cancelled run will never resume: its open approval requests expire with it
    UPDATE approval_requests SET status = 'expired', decided_by = p_op, decided_at = v_now,
           decision_note = 'run ' || v_short || ' cancelled'
    WHERE execution_id = v_run AND status = 'pending';
    GET DIAGNOSTICS v_expired = ROW_COUNT;
    after := jsonb_build_object('status', 'cancelled', 'approvals_expired', v_expired);
END $$;

-- Approve / reject, and resend: `resume` holds what the caller must POST to the resume_url
-- after the commit (the claim is made here, so two operators make one POST).
CREATE FUNCTION opsdeck_act_approval(p jsonb, p_op text, OUT n bigint, OUT conflicts jsonb,
                                     OUT before jsonb, OUT after jsonb, OUT resume jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_req uuid := (p->>'request')::uuid;
    v_short text := left(v_req::text, 8);
    v_now timestamptz := statement_timestamp();
    v_status text := CASE WHEN (p->>'approve')::boolean THEN 'approved' ELSE 'rejected' END;
    v_note text := NULLIF(btrim(p->>'note', E' \t\r\n'), '');
    cur record;
BEGIN
    conflicts := '[]';
    IF p->>'action' = 'decide' THEN
        UPDATE approval_requests SET status = v_status, decided_by = p_op, decided_at = v_now,
               decision_note = v_note,
               resume_status = CASE WHEN resume_url IS NULL THEN NULL ELSE 'pending' END,
               resume_attempt_at = CASE WHEN resume_url IS NULL THEN NULL ELSE v_now END
        WHERE id = v_req AND status = 'pending' AND (expires_at IS NULL OR expires_at > v_now);
        GET DIAGNOSTICS n = ROW_COUNT;
        SELECT status, decided_by, decided_at, resume_url, expires_at, execution_id INTO cur
        FROM approval_requests WHERE id = v_req;
        IF NOT FOUND THEN
            conflicts := jsonb_build_array('approval request ' || v_short || ': no such request');
            before := jsonb_build_object('request', v_req);
            after := jsonb_build_object('conflict', conflicts->>0);
            RETURN;
        END IF;
        IF n = 0 THEN
            conflicts := jsonb_build_array(CASE
                WHEN cur.status = 'pending' THEN 'request ' || v_short || ' expired'
                     || opsdeck_at(cur.expires_at)
                WHEN cur.status IN ('approved', 'rejected') THEN 'already ' || cur.status
                     || opsdeck_by(cur.decided_by, cur.decided_at)
                ELSE 'request ' || v_short || ' is ' || cur.status END);
            before := jsonb_build_object('status', cur.status);
            after := jsonb_build_object('conflict', conflicts->>0);
            RETURN;
        END IF;
        UPDATE rate_negotiations SET status = v_status
        WHERE approval_request_id = v_req AND status = 'pending';
        IF cur.resume_url IS NOT NULL THEN
            resume := jsonb_build_object('url', cur.resume_url, 'status', v_status,
                'decided_by', p_op, 'note', v_note, 'execution_id', cur.execution_id,
                'claimed_at', v_now);
        END IF;
        before := jsonb_build_object('status', 'pending');
        after := jsonb_build_object('status', v_status, 'n8n',
            CASE WHEN resume IS NULL THEN 'no resume_url' ELSE 'pending' END);
        RETURN;
    END IF;
    -- resend: claim the request; a POST already under way (pending, not stale) is not repeated
    UPDATE approval_requests SET resume_status = 'pending', resume_error = NULL,
           resume_attempt_at = v_now
    WHERE id = v_req AND status IN ('approved', 'rejected') AND resume_url IS NOT NULL
      AND (resume_status IS NULL OR resume_status = 'failed'
           -- domain::action::RESUME_STALE
           OR (resume_status = 'pending'
               AND COALESCE(resume_attempt_at, decided_at) < v_now - interval '2 minutes'));
    GET DIAGNOSTICS n = ROW_COUNT;
    SELECT status, decided_by, decision_note, resume_url, resume_status, resumed_at,
           resume_attempt_at, execution_id INTO cur
    FROM approval_requests WHERE id = v_req;
    IF NOT FOUND THEN
        conflicts := jsonb_build_array('approval request ' || v_short || ': no such request');
        before := jsonb_build_object('request', v_req);
        after := jsonb_build_object('conflict', conflicts->>0);
        RETURN;
    END IF;
    IF n = 0 THEN
        conflicts := jsonb_build_array(CASE
            WHEN cur.resume_url IS NULL THEN 'request ' || v_short
                 || ' has no resume_url: nothing to tell'
            WHEN cur.resume_status = 'told' THEN 'n8n was already told' || opsdeck_at(cur.resumed_at)
            WHEN cur.resume_status = 'pending' AND cur.status IN ('approved', 'rejected')
                THEN 'n8n is being told right now (started' || opsdeck_at(cur.resume_attempt_at)
                     || '); wait for its answer'
            ELSE 'request ' || v_short || ' is ' || cur.status || ': decide it first' END);
        before := jsonb_build_object('resume_status', cur.resume_status);
        after := jsonb_build_object('conflict', conflicts->>0);
        RETURN;
    END IF;
    resume := jsonb_build_object('url', cur.resume_url, 'status', cur.status,
        'decided_by', cur.decided_by, 'note', cur.decision_note,
        'execution_id', cur.execution_id, 'claimed_at', v_now);
    before := jsonb_build_object('resume_status', 'failed');
    after := jsonb_build_object('n8n', 'pending');
END $$;

CREATE FUNCTION opsdeck_act_recon(p jsonb, p_op text, OUT n bigint, OUT conflicts jsonb,
                                  OUT before jsonb, OUT after jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_now timestamptz := statement_timestamp();
    v_id uuid;
    v_to text;
    v_th jsonb;
    cur record;
BEGIN
    conflicts := '[]';
    IF p->>'action' = 'resolve' THEN
        v_id := (p->>'discrepancy')::uuid;
        v_to := CASE WHEN (p->>'ignore')::boolean THEN 'ignored' ELSE 'resolved' END;
        UPDATE reconciliation_discrepancies SET status = v_to, resolved_by = p_op,
               resolved_at = v_now, note = btrim(p->>'note', E' \t\r\n')
        WHERE id = v_id AND status = 'open';
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 1 THEN
            before := jsonb_build_object('status', 'open');
            after := jsonb_build_object('status', v_to);
            RETURN;
        END IF;
        SELECT status, resolved_by, resolved_at INTO cur
        FROM reconciliation_discrepancies WHERE id = v_id;
        conflicts := jsonb_build_array(CASE
            WHEN NOT FOUND THEN 'discrepancy ' || left(v_id::text, 8) || ': no such discrepancy'
            ELSE 'already ' || cur.status || opsdeck_by(cur.resolved_by, cur.resolved_at) END);
        before := jsonb_build_object('discrepancy', v_id);
        after := jsonb_build_object('conflict', conflicts->>0);
        RETURN;
    END IF;
    -- acknowledge an event's open capacity alerts
    v_id := (p->>'event')::uuid;
    WITH u AS (
        UPDATE capacity_alerts SET acknowledged_by = p_op, acknowledged_at = v_now
        WHERE event_id = v_id AND acknowledged_at IS NULL RETURNING threshold)
    SELECT jsonb_agg(threshold), count(*) INTO v_th, n FROM u;
    IF n > 0 THEN
        before := jsonb_build_object('open_thresholds', v_th);
        after := jsonb_build_object('acknowledged', v_th);
        RETURN;
    END IF;
    SELECT acknowledged_by, acknowledged_at INTO cur FROM capacity_alerts
    WHERE event_id = v_id AND acknowledged_at IS NOT NULL
    ORDER BY acknowledged_at DESC LIMIT 1;
    conflicts := jsonb_build_array(CASE
        WHEN FOUND THEN 'already acknowledged' || opsdeck_by(cur.acknowledged_by, cur.acknowledged_at)
        ELSE 'no capacity alert is open for this event' END);
    before := jsonb_build_object('event', v_id);
    after := jsonb_build_object('conflict', conflicts->>0);
END $$;

-- One operator action: the check, the change and its audit row, in the caller's transaction.
-- Returns {outcome: ok|conflict|denied, changed, conflicts, before, after, audit_id, resume,
-- message (denied), operator}.
CREATE FUNCTION opsdeck_act(p jsonb, p_display text, p_origin text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_name text := opsdeck_action_name(p);
    v_op text := (opsdeck_actor(p_display)).operator;
    v_denied text;
    v_n bigint;
    v_conflicts jsonb;
    v_before jsonb;
    v_after jsonb;
    v_resume jsonb;
    v_rolled boolean := false;
    v_outcome text;
    r record;
BEGIN
    IF v_name IS NULL OR v_name LIKE 'n8n.%' THEN
        RAISE EXCEPTION 'opsdeck_act: not a database action: %', p->>'action'
            USING ERRCODE = '22023';
    END IF;
    -- the input rules the binary checks first (domain::action::Action::validate), for callers
    -- that are not opsdeck
    IF (p->>'action' = 'pause_workflows' AND COALESCE(btrim(p->>'reason'), '') = '')
       OR (p->>'action' = 'decide' AND NOT (p->>'approve')::boolean
           AND COALESCE(btrim(p->>'note'), '') = '')
       OR (p->>'action' = 'resolve' AND COALESCE(btrim(p->>'note'), '') = '') THEN
        RAISE EXCEPTION 'opsdeck_act: % needs a reason or note', v_name USING ERRCODE = '22023';
    END IF;
    v_denied := opsdeck_may(v_name);
    -- a broadcast's delivery jobs are the broadcast's: retrying or cancelling them one by one
    -- needs what retrying or cancelling the broadcast needs
    IF v_denied IS NULL AND p->>'action' IN ('retry_jobs', 'cancel_jobs') AND EXISTS (
        SELECT FROM job_queue j
        WHERE j.id IN (SELECT (x->>'id')::uuid FROM jsonb_array_elements(p->'jobs') x)
          AND j.job_type LIKE 'broadcast.%') THEN
        v_denied := opsdeck_may(CASE WHEN p->>'action' = 'retry_jobs' THEN 'broadcast.retry'
                                     ELSE 'broadcast.cancel' END);
        IF v_denied IS NOT NULL THEN
            v_denied := v_denied || ' (broadcast delivery jobs)';
        END IF;
    END IF;
    IF v_denied IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'denied', 'message', v_denied, 'changed', 0,
            'conflicts', '[]'::jsonb, 'operator', v_op,
            'audit_id', opsdeck_write_audit(p, p_display, p_origin, 'denied', NULL,
                                            jsonb_build_object('denied', v_denied)));
    END IF;
    CASE p->>'action'
    WHEN 'pause_workflows', 'resume_workflows' THEN
        SELECT * INTO r FROM opsdeck_act_workflows(p, v_op);
        v_n := jsonb_array_length(r.changed);
        v_conflicts := r.conflicts; v_before := r.before; v_after := r.after;
    WHEN 'retry_jobs', 'cancel_jobs' THEN
        SELECT * INTO r FROM opsdeck_act_jobs(p);
        v_n := jsonb_array_length(r.changed);
        v_conflicts := r.conflicts; v_before := r.before; v_after := r.after;
    WHEN 'retry_failed' THEN
        SELECT * INTO r FROM opsdeck_act_retry_failed(p);
        v_n := CASE WHEN r.rolled_back THEN 0 ELSE r.n END;
        v_rolled := r.rolled_back;
        v_conflicts := r.conflicts; v_before := r.before; v_after := r.after;
    WHEN 'retry_run', 'cancel_run' THEN
        SELECT * INTO r FROM opsdeck_act_run(p, v_op);
        v_n := r.n; v_conflicts := r.conflicts; v_before := r.before; v_after := r.after;
    WHEN 'decide', 'resend_decision' THEN
        SELECT * INTO r FROM opsdeck_act_approval(p, v_op);
        v_n := r.n; v_conflicts := r.conflicts; v_before := r.before; v_after := r.after;
        v_resume := r.resume;
    WHEN 'resolve', 'ack_capacity' THEN
        SELECT * INTO r FROM opsdeck_act_recon(p, v_op);
        v_n := r.n; v_conflicts := r.conflicts; v_before := r.before; v_after := r.after;
    END CASE;
    v_outcome := CASE WHEN v_n > 0 THEN 'ok' ELSE 'conflict' END;
    RETURN jsonb_build_object('outcome', v_outcome, 'changed', v_n, 'conflicts', v_conflicts,
        'before', v_before, 'after', v_after, 'resume', v_resume, 'rolled_back', v_rolled,
        'operator', v_op,
        'audit_id', opsdeck_write_audit(p, p_display, p_origin, v_outcome, v_before, v_after));
END $$;

-- The audit row of what is not a database change: an n8n action (a REST call, any outcome) or
-- a database action that failed before it could commit (outcome 'error'). It names the login
-- as opsdeck_act does; a row for an n8n action the login may not do is written as denied.
CREATE FUNCTION opsdeck_audit(p jsonb, p_display text, p_origin text, p_outcome text,
                              p_before jsonb, p_after jsonb) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_name text := opsdeck_action_name(p);
    v_denied text;
BEGIN
    IF v_name IS NULL THEN
        RAISE EXCEPTION 'opsdeck_audit: unknown action %', p->>'action' USING ERRCODE = '22023';
    END IF;
    IF v_name NOT LIKE 'n8n.%' AND p_outcome NOT IN ('error', 'denied') THEN
        RAISE EXCEPTION 'opsdeck_audit: a database action is audited by opsdeck_act'
            USING ERRCODE = '22023';
    END IF;
    IF p_outcome NOT IN ('ok', 'conflict', 'error', 'denied') THEN
        RAISE EXCEPTION 'opsdeck_audit: unknown outcome %', p_outcome USING ERRCODE = '22023';
    END IF;
    v_denied := opsdeck_may(v_name);
    IF v_denied IS NOT NULL AND p_outcome <> 'denied' THEN
        RETURN opsdeck_write_audit(p, p_display, p_origin, 'denied', p_before,
                                   jsonb_build_object('denied', v_denied, 'claimed', p_after));
    END IF;
    RETURN opsdeck_write_audit(p, p_display, p_origin, p_outcome, p_before, p_after);
END $$;

-- After the POST to a decision's resume_url: how it went, on the request (told is told; a
-- failure only while the claim is still this call's) and in the action's own audit row. Only
-- the login that made the decision (or the resend) may record it, on that request.
CREATE FUNCTION opsdeck_record_resume(p_audit uuid, p_claimed_at timestamptz, p_failure text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_req uuid;
BEGIN
    SELECT target_id::uuid INTO v_req FROM operator_actions
    WHERE id = p_audit AND login = session_user AND outcome = 'ok'
      AND action IN ('approval.approve', 'approval.reject', 'approval.resend');
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE approval_requests
       SET resume_status = CASE WHEN p_failure IS NULL THEN 'told' ELSE 'failed' END,
           resume_error = p_failure,
           resumed_at = CASE WHEN p_failure IS NULL THEN statement_timestamp() END
     WHERE id = v_req AND COALESCE(resume_status, '') <> 'told'
       AND (p_failure IS NULL OR resume_attempt_at = p_claimed_at);
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE operator_actions
       SET after = COALESCE(after, '{}'::jsonb) || jsonb_build_object('n8n',
               CASE WHEN p_failure IS NULL THEN 'told' ELSE 'not told: ' || p_failure END)
     WHERE id = p_audit AND after->>'n8n' = 'pending';
    RETURN true;
END $$;

-- the helpers run as the caller outside opsdeck_act: nobody needs them directly
REVOKE EXECUTE ON FUNCTION opsdeck_write_audit(jsonb, text, text, text, jsonb, jsonb),
    opsdeck_act_workflows(jsonb, text), opsdeck_act_jobs(jsonb), opsdeck_act_retry_failed(jsonb),
    opsdeck_act_run(jsonb, text), opsdeck_act_approval(jsonb, text), opsdeck_act_recon(jsonb, text)
    FROM PUBLIC;
