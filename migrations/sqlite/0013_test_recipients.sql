-- Postgres only (test recipients held by the database and checked by role); SQLite is the
-- single-user demo: its test broadcasts go to the config's test recipients. Kept so both
-- backends number their migrations alike.
SELECT 1;
