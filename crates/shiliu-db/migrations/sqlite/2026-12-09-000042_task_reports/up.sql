-- Work ledgers (工作台账): each unit's report on each task it is handed, per period (a task
-- done once has one period, ''), sent to the lead unit — or, for a lead unit's own, to the
-- organiser — who confirms it or sends it back with an opinion (审核意见). One row per task,
-- unit and period holds where it stands; every sending and decision is kept in the events.
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE task_reports (
    id BIGINT PRIMARY KEY NOT NULL,
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    item_id BIGINT NOT NULL REFERENCES task_items (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    -- 2027-03, 2027-Q1, 2027-H1, 2027; '' for a task done once
    period TEXT NOT NULL,
    -- submitted, returned, confirmed
    status TEXT NOT NULL,
    progress TEXT NOT NULL,
    figure BIGINT,
    -- the reviewer's opinion on the latest decision
    opinion TEXT,
    submitted_by BIGINT REFERENCES users (id),
    submitted_at TIMESTAMP NOT NULL,
    reviewed_by BIGINT REFERENCES users (id),
    reviewed_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (item_id, unit_id, period)
);
CREATE INDEX task_reports_plan ON task_reports (plan_id, unit_id);
CREATE INDEX task_reports_unit ON task_reports (unit_id, status);

CREATE TABLE task_report_events (
    id BIGINT PRIMARY KEY NOT NULL,
    report_id BIGINT NOT NULL REFERENCES task_reports (id),
    -- submitted, returned, confirmed
    action TEXT NOT NULL,
    -- the progress sent, or the opinion given
    body TEXT NOT NULL,
    figure BIGINT,
    actor_id BIGINT REFERENCES users (id),
    actor_name TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX task_report_events_report ON task_report_events (report_id, at);
