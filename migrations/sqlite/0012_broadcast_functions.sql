-- Postgres only (emergency broadcasts as database functions, checked by role); SQLite is the
-- single-user demo: its broadcasts stay in Rust. Kept so both backends number their migrations alike.
SELECT 1;
