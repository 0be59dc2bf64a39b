-- Postgres only (the NOTIFY gate: at most one notification per table per quarter second);
-- SQLite has no LISTEN/NOTIFY: the console polls it. Kept so both backends number their
-- migrations alike.
SELECT 1;
