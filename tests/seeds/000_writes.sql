-- The writers' own statements, in the shapes seed 000 writes them; one statement per
-- paragraph. The adoption tests run them before and after `opsdeck migrate --plan` and
-- `opsdeck migrate`.

-- seed 000: the Global Error Handler
INSERT INTO workflow_errors (workflow_id, error_message, error_time, execution_id) VALUES ('wf_3kLm9', 'Request failed with status code 429', NOW(), '1043');
