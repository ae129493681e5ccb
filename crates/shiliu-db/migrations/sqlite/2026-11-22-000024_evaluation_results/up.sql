-- Settling an evaluation: the commission's decision on each objection (a unit's objection is
-- its score row of round 'objection', the reason its note), the published scores and results,
-- and corrections made after publication, which keep the value they replaced.
-- Keep in step with ../../postgres/<same name>/up.sql.
CREATE TABLE eval_decisions (
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    indicator_id BIGINT NOT NULL REFERENCES eval_indicators (id),
    accepted BOOLEAN NOT NULL,
    -- the score that stands when accepted
    points BIGINT,
    reason TEXT NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    decider TEXT NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scheme_id, unit_id, indicator_id)
);

-- Written when the scheme is published: every unit's score on every criterion.
CREATE TABLE eval_final_scores (
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    indicator_id BIGINT NOT NULL REFERENCES eval_indicators (id),
    points BIGINT NOT NULL,
    PRIMARY KEY (scheme_id, unit_id, indicator_id)
);

CREATE TABLE eval_results (
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    category_id BIGINT NOT NULL REFERENCES eval_categories (id),
    total BIGINT NOT NULL,
    bonus BIGINT NOT NULL,
    deduction BIGINT NOT NULL,
    rank INTEGER NOT NULL,
    grade TEXT NOT NULL,
    commended BOOLEAN NOT NULL,
    PRIMARY KEY (scheme_id, unit_id)
);

CREATE TABLE eval_corrections (
    id BIGINT PRIMARY KEY NOT NULL,
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    indicator_id BIGINT NOT NULL REFERENCES eval_indicators (id),
    before_points BIGINT NOT NULL,
    after_points BIGINT NOT NULL,
    reason TEXT NOT NULL,
    corrected_by BIGINT REFERENCES users (id),
    corrector TEXT NOT NULL,
    corrected_at TIMESTAMP NOT NULL
);
CREATE INDEX eval_corrections_scheme ON eval_corrections (scheme_id, unit_id);
