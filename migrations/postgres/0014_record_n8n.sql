-- Pausing or resuming a database workflow that lives in n8n (`n8n_workflow_id`) also deactivates
-- or activates it in n8n (issue 17). The REST call is made by opsdeck after the database change
-- commits (n8n is not part of the transaction); what n8n answered, for each such workflow, is
-- then written into the same audit row under `after.n8n`, once, and only into the calling
-- login's own successful pause or resume (the login has no UPDATE rights on the audit table).
CREATE FUNCTION opsdeck_record_n8n(p_audit uuid, p_n8n jsonb) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE operator_actions
       SET after = COALESCE(after, '{}'::jsonb) || jsonb_build_object('n8n', p_n8n)
     WHERE id = p_audit AND login = session_user AND outcome = 'ok'
       AND action IN ('workflow.pause', 'workflow.resume')
       AND NOT (COALESCE(after, '{}'::jsonb) ? 'n8n');
    RETURN FOUND;
END $$;
