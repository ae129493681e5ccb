-- Requests (诉求): categories, the requests themselves, their event history, and the working
-- calendar's exceptions. Keep in step with ../../postgres/<same name>/up.sql.

CREATE TABLE request_categories (
    id INTEGER PRIMARY KEY NOT NULL,
    parent_id BIGINT REFERENCES request_categories (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    -- Service level in working minutes; NULL: no deadline.
    service_minutes INTEGER,
    sort_order INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE requests (
    id INTEGER PRIMARY KEY NOT NULL,
    -- The resident's tracking code.
    code TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    category_id BIGINT NOT NULL REFERENCES request_categories (id),
    region_id BIGINT NOT NULL REFERENCES regions (id),
    -- The region's path, on the row so scoped lists and counts are one index range.
    region_path TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    place TEXT,
    contact_name TEXT,
    contact_phone TEXT,
    consent BOOLEAN NOT NULL,
    -- Who is responsible now, and why (the routing rule, in words).
    site_id BIGINT REFERENCES sites (id),
    unit_id BIGINT REFERENCES units (id),
    routed_by TEXT NOT NULL,
    -- A transfer offered and not yet accepted or declined.
    transfer_site_id BIGINT REFERENCES sites (id),
    transfer_unit_id BIGINT REFERENCES units (id),
    intake_site_id BIGINT REFERENCES sites (id),
    created_by BIGINT REFERENCES users (id),
    received_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP,
    -- While waiting for the resident: since when (the deadline moves on by the pause).
    paused_at TIMESTAMP,
    reminded_at TIMESTAMP,
    escalated_at TIMESTAMP,
    resolved_at TIMESTAMP,
    outcome TEXT,
    reply TEXT,
    rating TEXT,
    rated_at TIMESTAMP,
    closed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX requests_scope ON requests (region_path, id);
CREATE INDEX requests_site ON requests (site_id, status);
CREATE INDEX requests_due ON requests (status, due_at);

CREATE TABLE request_events (
    id INTEGER PRIMARY KEY NOT NULL,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    at TIMESTAMP NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX request_events_request ON request_events (request_id, id);

-- Exceptions to Monday–Friday: holidays on weekdays, worked weekend days (调休).
CREATE TABLE calendar_days (
    day DATE PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    note TEXT NOT NULL
);
