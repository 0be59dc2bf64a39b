-- Postgres only (operator actions as database functions, checked by role); SQLite is the
-- single-user demo: its actions stay in Rust. The audit trail's login columns are kept alike.
ALTER TABLE operator_actions ADD COLUMN login text;
ALTER TABLE operator_actions ADD COLUMN display_name text;
