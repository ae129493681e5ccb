-- Supervision and rectification (督查 · 整改): an inspection of a plan's work by a team on given
-- days, the units it visited, and its findings (问题清单). Each finding is one unit's
-- rectification item: it reports, the inspecting body closes it (销号) or sends it back; one
-- open past its deadline is escalated once (escalated_at). Every step is kept in the events.
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE task_inspections (
    id BIGINT PRIMARY KEY NOT NULL,
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    -- tour (巡回督导), special (专项督查)
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    team TEXT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    notes TEXT,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX task_inspections_plan ON task_inspections (plan_id, starts_on);

CREATE TABLE task_inspection_units (
    inspection_id BIGINT NOT NULL REFERENCES task_inspections (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    sort INTEGER NOT NULL,
    PRIMARY KEY (inspection_id, unit_id)
);
CREATE INDEX task_inspection_units_unit ON task_inspection_units (unit_id, plan_id);

CREATE TABLE task_findings (
    id BIGINT PRIMARY KEY NOT NULL,
    inspection_id BIGINT NOT NULL REFERENCES task_inspections (id),
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    -- its number in the inspection's list, from 1
    seq INTEGER NOT NULL,
    problem TEXT NOT NULL,
    -- what the inspectors require (整改要求)
    measures TEXT,
    due_on DATE NOT NULL,
    -- open, reported, returned, closed
    status TEXT NOT NULL,
    -- the unit's latest report, and the inspectors' latest opinion
    progress TEXT,
    opinion TEXT,
    reported_at TIMESTAMP,
    closed_at TIMESTAMP,
    escalated_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX task_findings_inspection ON task_findings (inspection_id, seq);
CREATE INDEX task_findings_plan ON task_findings (plan_id, status);
CREATE INDEX task_findings_unit ON task_findings (unit_id, status);
CREATE INDEX task_findings_due ON task_findings (status, due_on);

CREATE TABLE task_finding_events (
    id BIGINT PRIMARY KEY NOT NULL,
    finding_id BIGINT NOT NULL REFERENCES task_findings (id),
    -- raised, reported, returned, closed, escalated
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    actor_name TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX task_finding_events_finding ON task_finding_events (finding_id, at);
