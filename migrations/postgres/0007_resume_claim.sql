-- Telling n8n a decision (issue 5 follow-up): when the current POST to resume_url started.
-- A request 'pending' for longer than the POST can take (its sender died between the commit and
-- the answer) is offered for a resend again, and a resend claims the request first, so two
-- operators pressing resend at once make one POST, not two.
ALTER TABLE approval_requests ADD COLUMN resume_attempt_at timestamptz;
UPDATE approval_requests SET resume_attempt_at = decided_at WHERE resume_status = 'pending';
CREATE INDEX appr_resume_pending_idx ON approval_requests (resume_attempt_at) WHERE resume_status = 'pending';
