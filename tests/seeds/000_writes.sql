-- The writers' own statements, in the shapes seed 000 writes them; one statement per
-- paragraph. The adoption tests run them before and after `opsdeck migrate --plan` and
-- `opsdeck migrate`.

-- seed 000: the Global Error Handler
INSERT INTO workflow_errors (workflow_id, error_message, error_time, execution_id) VALUES ('wf_3kLm9', 'Request failed with status code 429', NOW(), '1043');

-- seed 000: the daily reconciliation's log row
INSERT INTO reconciliation_logs (reconciliation_date, stripe_count, db_count, discrepancy_count, status, details) VALUES (CURRENT_DATE, 120, 118, 2, 'failed', '[{"type": "missing_in_db", "stripe_id": "ch_1"}, {"type": "amount_mismatch", "stripe_id": "ch_2", "db_id": "pay_9"}]');
