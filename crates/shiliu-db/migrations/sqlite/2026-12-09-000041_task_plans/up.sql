-- Work plans (实施方案) and their task decomposition (任务分解表): a plan of a region, run by
-- the staff whose scope covers it; its tree of areas, tasks and measures; the units each is
-- handed to (lead units confirm what the others report).
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE task_plans (
    id BIGINT PRIMARY KEY NOT NULL,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    name TEXT NOT NULL,
    organiser TEXT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    -- JSON: [{name, starts_on, ends_on, goal}, …] in order
    phases TEXT NOT NULL,
    -- draft, active, closed
    status TEXT NOT NULL,
    copied_from BIGINT REFERENCES task_plans (id),
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX task_plans_scope ON task_plans (region_path, starts_on);

-- area → task → measure. What units report on is a leaf with units: a measure, or a task
-- without measures; it has a deadline (due_on) or a rhythm (recurrence).
CREATE TABLE task_items (
    id BIGINT PRIMARY KEY NOT NULL,
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    parent_id BIGINT REFERENCES task_items (id),
    -- area, task, measure
    level TEXT NOT NULL,
    -- 序号 as the sheet wrote it
    seq TEXT NOT NULL,
    title TEXT NOT NULL,
    deliverables TEXT,
    due_on DATE,
    -- once, monthly, quarterly, half_yearly, yearly, ongoing
    recurrence TEXT NOT NULL,
    -- at least target_value of target_unit (%, 场, 次…)
    target_value BIGINT,
    target_unit TEXT,
    notes TEXT,
    sort INTEGER NOT NULL
);
CREATE INDEX task_items_plan ON task_items (plan_id, sort);

CREATE TABLE task_assignments (
    item_id BIGINT NOT NULL REFERENCES task_items (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    -- a lead unit (牵头单位); else a co-operating unit (责任单位)
    lead BOOLEAN NOT NULL,
    sort INTEGER NOT NULL,
    PRIMARY KEY (item_id, unit_id)
);
CREATE INDEX task_assignments_unit ON task_assignments (unit_id, plan_id);
CREATE INDEX task_assignments_plan ON task_assignments (plan_id);
