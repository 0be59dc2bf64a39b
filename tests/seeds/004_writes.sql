-- The writers' own statements, in the shapes seed 004 writes them; one statement per
-- paragraph. The adoption tests run them before and after `opsdeck migrate --plan` and
-- `opsdeck migrate`.

-- seed 004: a workflow definition and a run (workflowEngine)
INSERT INTO workflows (name, trigger_type, trigger_config, steps) VALUES ('Ticket Sales Funnel', 'event', '{"event": "ticket.purchased"}', '[{"name": "send_receipt"}]');

INSERT INTO workflow_executions (workflow_id, status, context) SELECT id, 'running', '{}' FROM workflows WHERE name = 'Ticket Sales Funnel';

UPDATE workflow_executions SET status = 'completed', completed_at = NOW() WHERE status = 'running';

-- seed 004: the job queue's loop (createJob, getNextPendingJob, markJobAsProcessing,
-- markJobAsCompleted / retryJob / markJobAsFailed)
INSERT INTO job_queue (job_type, payload, priority) VALUES ('email.send', '{"to": "ana@example.com", "template": "receipt"}', 5);

UPDATE job_queue SET status = 'processing', started_at = NOW(), attempts = attempts + 1 WHERE id = (SELECT id FROM job_queue WHERE status IN ('pending', 'retrying') AND scheduled_for <= NOW() ORDER BY priority DESC, created_at LIMIT 1 FOR UPDATE SKIP LOCKED);

UPDATE job_queue SET status = 'completed', completed_at = NOW() WHERE status = 'processing';
