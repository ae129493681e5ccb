-- Categories' extra questions with the answers requests give them, and reply templates.
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE category_questions (
    id BIGINT PRIMARY KEY NOT NULL,
    category_id BIGINT NOT NULL REFERENCES request_categories (id),
    -- Stable: Open311 clients send answers as attribute[code].
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    label_en TEXT NOT NULL,
    -- text, number, date, single, multi
    kind TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    -- JSON array of {"key", "name"} for single and multiple choice; [] otherwise.
    choices TEXT NOT NULL,
    sort_order INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (category_id, code)
);

CREATE TABLE request_answers (
    request_id BIGINT NOT NULL REFERENCES requests (id),
    question_id BIGINT NOT NULL REFERENCES category_questions (id),
    -- Canonical: a number as digits, a date as YYYY-MM-DD, choices as keys joined by commas.
    value TEXT NOT NULL,
    PRIMARY KEY (request_id, question_id)
);

-- Replies handlers start from when resolving; category NULL: offered for every category.
CREATE TABLE reply_templates (
    id BIGINT PRIMARY KEY NOT NULL,
    category_id BIGINT REFERENCES request_categories (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    sort_order INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX reply_templates_category ON reply_templates (category_id);
