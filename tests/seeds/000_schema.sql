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

-- The reconciliation workflow's Postgres node ("Log Reconciliation") inserts into
-- `reconciliation_logs`
--   columns: 'reconciliation_date,stripe_count,db_count,discrepancy_count,status,details'
-- with status 'failed' when there are discrepancies, else 'success', and details the JSON list
-- of {type, stripe_id, db_id}. The seed has no CREATE TABLE for it either: the table that write
-- needs, with the usual id and created_at.
CREATE TABLE reconciliation_logs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  reconciliation_date DATE,
  stripe_count INTEGER,
  db_count INTEGER,
  discrepancy_count INTEGER,
  status TEXT,
  details JSONB,
  created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);
