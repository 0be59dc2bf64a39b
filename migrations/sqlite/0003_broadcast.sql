-- Emergency broadcast from the console (issue 6).
-- emergency_broadcasts.status gains 'awaiting_approval' (four-eyes rule: stored, not fanned out,
-- until a second operator approves) and 'cancelled'. broadcast_deliveries.status gains 'held'
-- (planned, waiting for that approval: no job yet) and 'cancelled'.
ALTER TABLE emergency_broadcasts ADD COLUMN approved_by TEXT;
ALTER TABLE emergency_broadcasts ADD COLUMN approved_at TEXT;
ALTER TABLE emergency_broadcasts ADD COLUMN cancelled_by TEXT;
ALTER TABLE emergency_broadcasts ADD COLUMN cancelled_at TEXT;
-- the operator's --channels (comma list); null = preferences / the critical override
ALTER TABLE emergency_broadcasts ADD COLUMN channels TEXT;
-- an all-clear or correction points at the broadcast whose audience it reuses
ALTER TABLE emergency_broadcasts ADD COLUMN follow_up_of TEXT REFERENCES emergency_broadcasts(id);
-- the n8n webhook call: null = not configured / not called; 'ok'; 'failed' (webhook_error says why)
ALTER TABLE emergency_broadcasts ADD COLUMN webhook_status TEXT;
ALTER TABLE emergency_broadcasts ADD COLUMN webhook_error TEXT;
-- planned counts, for the progress view and an idempotent replay
ALTER TABLE emergency_broadcasts ADD COLUMN unreachable_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE emergency_broadcasts ADD COLUMN duplicate_count INTEGER NOT NULL DEFAULT 0;

CREATE INDEX bcast_awaiting_idx ON emergency_broadcasts (created_at) WHERE status = 'awaiting_approval';
