-- A request's photos and documents, kept in the database with the request (one backup, one
-- transaction, one scope), and the units asked to help handle it (协办).
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE request_attachments (
    id BIGINT PRIMARY KEY NOT NULL,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    name TEXT NOT NULL,
    -- the type sniffed from the content (shiliu_domain::files::FileKind)
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    uploaded_by BIGINT REFERENCES users (id),
    uploader TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX request_attachments_request ON request_attachments (request_id, id);

CREATE TABLE request_cohandlers (
    id BIGINT PRIMARY KEY NOT NULL,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    site_id BIGINT REFERENCES sites (id),
    unit_id BIGINT REFERENCES units (id),
    -- what the handler asks of them
    asked TEXT NOT NULL,
    -- asked, answered
    status TEXT NOT NULL,
    answer TEXT,
    asked_by TEXT NOT NULL,
    asked_at TIMESTAMP NOT NULL,
    answered_by TEXT,
    answered_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX request_cohandlers_request ON request_cohandlers (request_id);
CREATE INDEX request_cohandlers_site ON request_cohandlers (site_id, status);
CREATE INDEX request_cohandlers_unit ON request_cohandlers (unit_id, status);
