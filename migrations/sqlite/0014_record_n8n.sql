-- Postgres only (the n8n half of a pause, recorded by a function for logins without UPDATE
-- rights); SQLite is the single-user demo: opsdeck updates the audit row itself. Kept so both
-- backends number their migrations alike.
SELECT 1;
