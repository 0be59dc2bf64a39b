-- Seed 001 (shared/seeds/001_8e1bff6293c27a2c.txt), the per-event workflow engine's tables,
-- copied verbatim as data (lines 315-401). The seed's events and Supabase's auth.users are
-- defined elsewhere; the prelude gives them the least the references need.

CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.users (id UUID PRIMARY KEY DEFAULT gen_random_uuid());
CREATE TABLE IF NOT EXISTS events (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), name TEXT NOT NULL);

CREATE TABLE automation_workflows (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Event relationship
    event_id UUID NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    created_by UUID REFERENCES auth.users(id),

    -- Workflow details
    name TEXT NOT NULL,
    workflow_type TEXT NOT NULL CHECK (workflow_type IN (
        'event_launch', 'sponsor_outreach', 'attendee_nurture',
        'post_event_followup', 'deliverable_tracking', 'custom'
    )),

    -- Workflow definition (JSONB)
    definition JSONB NOT NULL,
    -- {
    --   "steps": [
    --     {
    --       "id": "step_1",
    --       "name": "Send announcement",
    --       "type": "email",
    --       "delay_hours": 0,
    --       "config": {...}
    --     }
    --   ]
    -- }

    -- Status tracking
    status TEXT DEFAULT 'pending' CHECK (status IN (
        'pending', 'active', 'paused', 'completed', 'failed', 'cancelled'
    )),

    -- Execution tracking
    current_step TEXT,
    steps_completed INTEGER DEFAULT 0,
    steps_total INTEGER,

    -- Performance metrics
    tasks_executed INTEGER DEFAULT 0,
    tasks_successful INTEGER DEFAULT 0,
    tasks_failed INTEGER DEFAULT 0,

    -- Error handling
    last_error TEXT,
    retry_count INTEGER DEFAULT 0,
    max_retries INTEGER DEFAULT 3,

    -- Timestamps
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    next_execution_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE INDEX idx_workflows_event ON automation_workflows(event_id);
CREATE INDEX idx_workflows_status ON automation_workflows(status);
CREATE INDEX idx_workflows_next_execution ON automation_workflows(next_execution_at)
    WHERE status = 'active';

-- Workflow execution history
CREATE TABLE workflow_execution_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id UUID NOT NULL REFERENCES automation_workflows(id) ON DELETE CASCADE,

    -- Execution details
    step_id TEXT NOT NULL,
    step_name TEXT NOT NULL,
    action_type TEXT NOT NULL,

    -- Status
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'skipped')),

    -- Results
    result JSONB,
    error_message TEXT,

    -- Timing
    started_at TIMESTAMPTZ DEFAULT NOW(),
    completed_at TIMESTAMPTZ,
    duration_ms INTEGER,

    created_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE INDEX idx_execution_logs_workflow ON workflow_execution_logs(workflow_id, created_at DESC);
