-- Postgres only (a function that reads the open job states as an index-only scan); SQLite has
-- one writer and no dead index entries to skip, so its open counts read jq_open_idx directly.
SELECT 1;
