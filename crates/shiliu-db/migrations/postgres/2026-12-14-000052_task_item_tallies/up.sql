-- A task whose figure is counted from its unit's activity records (宣传教育 · "十进"): what it
-- counts (shiliu_domain::activities::Tally). Keep in step with the other engine's.
CREATE TABLE task_item_tallies (
    item_id BIGINT PRIMARY KEY NOT NULL REFERENCES task_items (id),
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    tally TEXT NOT NULL
);
CREATE INDEX task_item_tallies_plan ON task_item_tallies (plan_id);
