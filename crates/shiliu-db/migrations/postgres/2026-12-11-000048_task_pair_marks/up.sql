-- Each (task, unit)'s reports as its standing reads them, in one row: period, status and
-- figure of each, written again from task_reports in the same transaction as every report
-- written. A plan's board and tree read one row per task and unit (5,000 for a province's
-- plan) instead of every report (60,000 a year). Encoded as 'period,status,figure;…', the
-- latest period first (period '' for a task done once; status by its first letter: s, r, c;
-- figure empty when none). The rows loaded below may be in any order; the reader sorts those.
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE task_pair_marks (
    item_id BIGINT NOT NULL REFERENCES task_items (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    marks TEXT NOT NULL,
    PRIMARY KEY (item_id, unit_id)
);
CREATE INDEX task_pair_marks_plan ON task_pair_marks (plan_id);

INSERT INTO task_pair_marks (item_id, unit_id, plan_id, marks)
SELECT item_id, unit_id, MIN(plan_id), string_agg(period || ',' || substr(status, 1, 1) || ',' || COALESCE(CAST(figure AS TEXT), ''), ';')
FROM task_reports
GROUP BY item_id, unit_id;
