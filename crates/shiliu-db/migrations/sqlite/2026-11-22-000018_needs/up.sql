-- Needs surveys (就业需求摸排), the needs they find, and services delivered (就业安置, 培训,
-- 补贴, 入学…). Needs and services carry the path of the region their person lived in, so
-- they are scoped like the register. Amounts are in fen (分).
-- Keep in step with ../../postgres/<same name>/up.sql.
CREATE TABLE surveys (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    -- only households with a member of this tag (PersonTag), or all of them
    tag TEXT,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    -- JSON: [{code, label, kind, required, choices}]
    questions TEXT NOT NULL,
    -- open, closed
    status TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX surveys_scope ON surveys (region_path, id);

-- One answer per household and campaign; answering again replaces it.
CREATE TABLE survey_responses (
    id BIGINT PRIMARY KEY NOT NULL,
    survey_id BIGINT NOT NULL REFERENCES surveys (id),
    household_id BIGINT NOT NULL REFERENCES households (id),
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    -- JSON: {question code: canonical answer}
    answers TEXT NOT NULL,
    surveyed_by BIGINT REFERENCES users (id),
    surveyed_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (survey_id, household_id)
);
CREATE INDEX survey_responses_scope ON survey_responses (survey_id, region_path);

CREATE TABLE needs (
    id BIGINT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    response_id BIGINT REFERENCES survey_responses (id),
    -- job, training, school, housing, legal, relief, health, other
    kind TEXT NOT NULL,
    note TEXT,
    -- open, planned, requested, met
    status TEXT NOT NULL,
    region_path TEXT NOT NULL,
    request_id BIGINT REFERENCES requests (id),
    provider TEXT,
    planned_on DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX needs_scope ON needs (region_path, status, id);
CREATE INDEX needs_person ON needs (person_id);
CREATE INDEX needs_response ON needs (response_id);

CREATE TABLE services (
    id BIGINT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    -- job_placement, training, subsidy, school_place, housing, legal, other
    kind TEXT NOT NULL,
    delivered_on DATE NOT NULL,
    provider TEXT NOT NULL,
    amount_fen BIGINT,
    note TEXT,
    need_id BIGINT REFERENCES needs (id),
    region_path TEXT NOT NULL,
    recorded_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX services_scope ON services (region_path, delivered_on);
CREATE INDEX services_person ON services (person_id, delivered_on);
