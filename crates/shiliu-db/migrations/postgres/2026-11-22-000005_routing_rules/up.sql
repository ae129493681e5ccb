-- Ordered routing rules: the first active rule whose conditions all hold decides who handles a
-- new request. Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE routing_rules (
    id BIGINT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL,
    category_id BIGINT REFERENCES request_categories (id),
    -- The rule holds for requests in this region's subtree (its path, copied for the match).
    region_id BIGINT REFERENCES regions (id),
    region_path TEXT COLLATE "C",
    -- Space-separated, lower-cased; any one found in the description is enough.
    keywords TEXT NOT NULL,
    site_id BIGINT REFERENCES sites (id),
    unit_id BIGINT REFERENCES units (id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX routing_rules_position ON routing_rules (active, position);
