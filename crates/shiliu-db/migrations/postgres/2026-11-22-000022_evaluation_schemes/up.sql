-- Performance evaluation (绩效考评): schemes, the categories their units are ranked in, the
-- units taking part, the indicator tree, and per-category weights. Points are hundredths
-- (2.5 points = 250), so sums are exact.
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE eval_schemes (
    id BIGINT PRIMARY KEY NOT NULL,
    -- the organiser's region: its staff run the scheme; its units may take part
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    organiser TEXT NOT NULL,
    year INTEGER NOT NULL,
    name TEXT NOT NULL,
    -- draft, self_assessment, first_review, field_review, feedback, final, published
    stage TEXT NOT NULL,
    -- field_first, mean, lower
    merge_rule TEXT NOT NULL,
    bonus_cap BIGINT,
    deduction_cap BIGINT,
    -- JSON: [[name, threshold], …] best first
    grades TEXT NOT NULL,
    self_due TIMESTAMP,
    first_due TIMESTAMP,
    field_due TIMESTAMP,
    feedback_due TIMESTAMP,
    copied_from BIGINT REFERENCES eval_schemes (id),
    published_at TIMESTAMP,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX eval_schemes_scope ON eval_schemes (region_path, year);

-- Units are ranked within their category (counties, departments, townships, schools…).
CREATE TABLE eval_categories (
    id BIGINT PRIMARY KEY NOT NULL,
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    name TEXT NOT NULL,
    sort INTEGER NOT NULL,
    UNIQUE (scheme_id, name)
);

CREATE TABLE eval_participants (
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    category_id BIGINT NOT NULL REFERENCES eval_categories (id),
    -- a key unit (重点单位) is visited by a field team in the second verification
    key_unit BOOLEAN NOT NULL,
    PRIMARY KEY (scheme_id, unit_id)
);
CREATE INDEX eval_participants_unit ON eval_participants (unit_id);

-- area (一级指标) → item (二级指标) → criterion (评分细则); only criteria carry points.
CREATE TABLE eval_indicators (
    id BIGINT PRIMARY KEY NOT NULL,
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    parent_id BIGINT REFERENCES eval_indicators (id),
    level TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    max_points BIGINT NOT NULL,
    -- standard, bonus, deduction
    kind TEXT NOT NULL,
    guidance TEXT,
    evidence TEXT,
    sort INTEGER NOT NULL,
    UNIQUE (scheme_id, code)
);
CREATE INDEX eval_indicators_parent ON eval_indicators (parent_id);

-- What an area counts for in one category (its own maximum where no row says otherwise).
CREATE TABLE eval_weights (
    category_id BIGINT NOT NULL REFERENCES eval_categories (id),
    area_id BIGINT NOT NULL REFERENCES eval_indicators (id),
    points BIGINT NOT NULL,
    PRIMARY KEY (category_id, area_id)
);
