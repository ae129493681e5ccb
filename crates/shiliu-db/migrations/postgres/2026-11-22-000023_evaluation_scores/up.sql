-- Scoring an evaluation: who reviews which units (teams for the first, online, verification
-- and for the second, on-site one), the scores of every round, a unit's submission of its
-- self-assessment, and evidence files (台账资料, on-site photos) kept with the scores.
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE eval_teams (
    id BIGINT PRIMARY KEY NOT NULL,
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    -- first, field
    round TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (scheme_id, name)
);

CREATE TABLE eval_team_members (
    team_id BIGINT NOT NULL REFERENCES eval_teams (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX eval_team_members_user ON eval_team_members (user_id);

CREATE TABLE eval_team_units (
    team_id BIGINT NOT NULL REFERENCES eval_teams (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    PRIMARY KEY (team_id, unit_id)
);

-- One row per unit, criterion and round (self, first, field); a blank score is a draft.
CREATE TABLE eval_scores (
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    indicator_id BIGINT NOT NULL REFERENCES eval_indicators (id),
    round TEXT NOT NULL,
    points BIGINT,
    -- the unit's statement, or the reviewer's opinion
    note TEXT,
    scored_by BIGINT REFERENCES users (id),
    scorer TEXT NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scheme_id, unit_id, round, indicator_id)
);

CREATE TABLE eval_submissions (
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    round TEXT NOT NULL,
    submitted_by BIGINT REFERENCES users (id),
    submitter TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scheme_id, unit_id, round)
);

CREATE TABLE eval_evidence (
    id BIGINT PRIMARY KEY NOT NULL,
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    indicator_id BIGINT NOT NULL REFERENCES eval_indicators (id),
    round TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    uploaded_by BIGINT REFERENCES users (id),
    uploader TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX eval_evidence_unit ON eval_evidence (scheme_id, unit_id, indicator_id);
