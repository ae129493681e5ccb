-- Casework grown out of requests: disputes to mediate and legal-aid cases, each with its
-- records. A case carries its request's region (path) so it is scoped like the request.
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE disputes (
    id BIGINT PRIMARY KEY NOT NULL,
    request_id BIGINT NOT NULL UNIQUE REFERENCES requests (id),
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    -- family, neighbours, labour, tenancy, land, debt, other
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    -- open, mediating, closed
    status TEXT NOT NULL,
    -- success, failure (when closed)
    outcome TEXT,
    agreement TEXT,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX disputes_scope ON disputes (region_path, id);

CREATE TABLE dispute_parties (
    id BIGINT PRIMARY KEY NOT NULL,
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    -- applicant, respondent, third
    side TEXT NOT NULL,
    name TEXT NOT NULL,
    -- GB 3304 code
    people TEXT,
    phone TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dispute_parties_dispute ON dispute_parties (dispute_id, id);

CREATE TABLE dispute_mediators (
    id BIGINT PRIMARY KEY NOT NULL,
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    name TEXT NOT NULL,
    organisation TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dispute_mediators_dispute ON dispute_mediators (dispute_id, id);

CREATE TABLE dispute_sessions (
    id BIGINT PRIMARY KEY NOT NULL,
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    held_on DATE NOT NULL,
    place TEXT,
    notes TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dispute_sessions_dispute ON dispute_sessions (dispute_id, id);

CREATE TABLE legal_aid_cases (
    id BIGINT PRIMARY KEY NOT NULL,
    request_id BIGINT NOT NULL UNIQUE REFERENCES requests (id),
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    matter TEXT NOT NULL,
    -- A user with the legal_aid role (e.g. a 红石榴 studio lawyer).
    lawyer_id BIGINT NOT NULL REFERENCES users (id),
    -- open, closed
    status TEXT NOT NULL,
    result TEXT,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX legal_aid_cases_scope ON legal_aid_cases (region_path, id);
CREATE INDEX legal_aid_cases_lawyer ON legal_aid_cases (lawyer_id, status);

CREATE TABLE legal_consultations (
    id BIGINT PRIMARY KEY NOT NULL,
    case_id BIGINT NOT NULL REFERENCES legal_aid_cases (id),
    held_on DATE NOT NULL,
    -- in_person, phone, online
    mode TEXT NOT NULL,
    summary TEXT NOT NULL,
    advice TEXT NOT NULL,
    minutes INTEGER,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX legal_consultations_case ON legal_consultations (case_id, id);
