-- Reminders (催报) before a task's report falls due and escalation (督办) after, on the
-- working calendar: one row per task, unit, period and kind, written once by the server's sweep
-- (or again, `times` + 1, when the organiser presses for it by hand). A unit sees its own beside
-- the task; the organiser sees the escalated ones still not reported.
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE task_reminders (
    item_id BIGINT NOT NULL REFERENCES task_items (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    -- the report's period ('' for a task done once)
    period TEXT NOT NULL,
    -- remind, escalate
    kind TEXT NOT NULL,
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    due_on DATE NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    sender TEXT NOT NULL,
    times INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (item_id, unit_id, period, kind)
);
CREATE INDEX task_reminders_unit ON task_reminders (unit_id, kind);
CREATE INDEX task_reminders_plan ON task_reminders (plan_id, kind);
