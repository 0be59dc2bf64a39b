-- Seed 000 (shared/seeds/000_138c0ca3769692b1.txt, "Setup error handling workflow"): the
-- Global Error Handler's Postgres node writes `workflow_errors` with
--   columns: 'workflow_id,error_message,error_time,execution_id'
--   values:  '={{$json.workflow.id}},={{$json.error.message}},={{new Date()}},={{$json.execution.id}}'
-- The seed has no CREATE TABLE for it: this is the table that write needs, with n8n's ids as
-- text (workflow ids like 'wf_3kLm9' and execution ids like '1043' are strings in n8n), plus
-- the workflow_name DOMAIN.md names. Its Error Analysis reads error_type, which nothing writes.
CREATE TABLE workflow_errors (
  id BIGSERIAL PRIMARY KEY,
  workflow_id TEXT,
  workflow_name TEXT,
  error_message TEXT,
  error_time TIMESTAMP WITH TIME ZONE,
  execution_id TEXT
);
