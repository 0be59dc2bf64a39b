-- Operator actions (issue 5): where a decision's resume_url call stands, and fast lookups of
-- "who acted on this last" for conflict messages.

-- null: no resume_url, or not called yet; 'told': n8n answered 2xx (or 409: already resumed);
-- 'failed': the call failed (resume_error says why) and the console offers a resend.
ALTER TABLE approval_requests ADD COLUMN resume_status TEXT;
ALTER TABLE approval_requests ADD COLUMN resume_error TEXT;
ALTER TABLE approval_requests ADD COLUMN resumed_at TEXT;

CREATE INDEX opact_target_idx ON operator_actions (target_id, at DESC);

-- an operator retry of a run: the old run points at its new one (and a second retry of the same
-- run is a conflict, not a second run)
ALTER TABLE workflow_executions ADD COLUMN retried_as TEXT;
ALTER TABLE workflow_executions ADD COLUMN retry_of TEXT;

-- the Approvals view lists what needs an operator: pending, or decided with n8n not told
CREATE INDEX appr_resume_failed_idx ON approval_requests (created_at DESC) WHERE resume_status = 'failed';
