-- What was said and what is done about it (“怎么说”的任务清单 · “怎么做”的工作台账): an
-- instruction — a leader's speech, a document with its 文号, a meeting — of a plan, linked to the
-- tasks that carry it out; their ledger reports are what was done about it.
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE task_instructions (
    id BIGINT PRIMARY KEY NOT NULL,
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    -- speech, document, meeting
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    -- 文号, for a document
    reference TEXT,
    -- who said or issued it
    issuer TEXT,
    said_on DATE NOT NULL,
    body TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX task_instructions_plan ON task_instructions (plan_id, said_on);

CREATE TABLE task_instruction_items (
    instruction_id BIGINT NOT NULL REFERENCES task_instructions (id),
    item_id BIGINT NOT NULL REFERENCES task_items (id),
    plan_id BIGINT NOT NULL REFERENCES task_plans (id),
    PRIMARY KEY (instruction_id, item_id)
);
CREATE INDEX task_instruction_items_item ON task_instruction_items (item_id);
