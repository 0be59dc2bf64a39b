-- Alerts for the control room (issue 19): see the Postgres migration. SQLite is the
-- single-user demo: opsdeck writes these rows itself (no functions), with the same rules.
CREATE TABLE opsdeck_alerts (
    id              TEXT PRIMARY KEY NOT NULL,
    rule            TEXT NOT NULL,
    key             TEXT NOT NULL,
    level           TEXT NOT NULL,
    message         TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    raised_by       TEXT,
    cleared_at      TEXT,
    cleared_by      TEXT,
    acked_at        TEXT,
    acked_by        TEXT,
    ack_comment     TEXT,
    silenced_at     TEXT,
    silenced_until  TEXT,
    silenced_by     TEXT,
    silence_comment TEXT
);
CREATE UNIQUE INDEX opsdeck_alerts_open_idx ON opsdeck_alerts (rule, key) WHERE cleared_at IS NULL;
CREATE INDEX opsdeck_alerts_raised_idx ON opsdeck_alerts (raised_at DESC);
