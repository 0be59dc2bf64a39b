-- The writers' own statements, in the shapes seed 001 writes them; one statement per
-- paragraph. The adoption tests run them before and after `opsdeck migrate --plan` and
-- `opsdeck migrate`.

-- the event the instances belong to (created by the app before its workflows)
INSERT INTO events (name) SELECT 'Paris Fashion Week' WHERE NOT EXISTS (SELECT 1 FROM events);

-- seed 001: an event's workflow instance and a step log (createWorkflow, executeStep)
INSERT INTO automation_workflows (event_id, name, workflow_type, definition, status, steps_total) SELECT id, 'Launch: Paris FW', 'event_launch', '{"steps": [{"id": "step_1", "name": "Send announcement"}]}', 'active', 1 FROM events LIMIT 1;

INSERT INTO workflow_execution_logs (workflow_id, step_id, step_name, action_type, status) SELECT id, 'step_1', 'Send announcement', 'email', 'success' FROM automation_workflows LIMIT 1;

-- manageWorkflows: pause an event's workflows of a type
UPDATE automation_workflows SET status = 'paused' WHERE workflow_type = 'event_launch';
