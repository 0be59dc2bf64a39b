-- Pausing or resuming a database workflow that lives in n8n (`n8n_workflow_id`) also deactivates
-- or activates it in n8n, and cancelling a run parked at an n8n Wait node tells that node
-- "cancelled" (issue 17). The HTTP calls are made by opsdeck after the database change commits
-- (n8n is not part of the transaction); what n8n answered is then written into the same audit
-- row under `after.n8n`, once, and only into the calling login's own successful pause, resume
-- or cancel, within minutes of it (the login has no UPDATE rights on the audit table).
CREATE FUNCTION opsdeck_record_n8n(p_audit uuid, p_n8n jsonb) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE operator_actions
       SET after = COALESCE(after, '{}'::jsonb) || jsonb_build_object('n8n', p_n8n)
     WHERE id = p_audit AND login = session_user AND outcome = 'ok'
       AND action IN ('workflow.pause', 'workflow.resume', 'run.cancel')
       AND NOT (COALESCE(after, '{}'::jsonb) ? 'n8n')
       -- right after the action (its HTTP calls time out in seconds), not into old history
       AND at > statement_timestamp() - interval '10 minutes';
    RETURN FOUND;
END $$;
