-- The migrant registry (流动人口服务管理): households, people, where they lived when, what they
-- consented to, and self-declarations (自主申报) waiting for a grid worker.
-- An ID number is never stored readable: id_sealed is the number encrypted (AES-256-GCM with
-- the configured registry key), id_key a keyed hash of it (HMAC-SHA-256) for look-up and for
-- finding a second registration of the same person, id_masked what lists show.
-- Keep in step with ../../postgres/<same name>/up.sql.
CREATE TABLE households (
    id BIGINT PRIMARY KEY NOT NULL,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX households_scope ON households (region_path, id);

CREATE TABLE persons (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    id_sealed BLOB,
    id_key BLOB UNIQUE,
    id_masked TEXT,
    -- male, female
    sex TEXT NOT NULL,
    birth_date DATE NOT NULL,
    -- GB 3304 code
    people TEXT NOT NULL REFERENCES peoples (code),
    mobile TEXT,
    -- 户籍地: a division code
    hukou TEXT NOT NULL,
    -- where they live now: a grid (or a larger region when no grid is known)
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    address TEXT NOT NULL,
    household_id BIGINT REFERENCES households (id),
    -- head, spouse, child, parent, grandchild, grandparent, sibling, other
    relation TEXT,
    arrived_on DATE,
    occupation TEXT,
    employer TEXT,
    -- employed, self_employed, flexible, unemployed, student, not_working
    employment TEXT,
    -- resident, moved_out
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX persons_scope ON persons (region_path, id);
CREATE INDEX persons_hukou ON persons (hukou, id);
CREATE INDEX persons_household ON persons (household_id);

CREATE TABLE person_tags (
    person_id BIGINT NOT NULL REFERENCES persons (id),
    -- shiliu_domain::registry::PersonTag
    tag TEXT NOT NULL,
    PRIMARY KEY (person_id, tag)
);
CREATE INDEX person_tags_tag ON person_tags (tag, person_id);

-- One row per period at one address; to_date (exclusive) is NULL while it lasts.
CREATE TABLE residences (
    id BIGINT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    address TEXT NOT NULL,
    from_date DATE NOT NULL,
    to_date DATE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX residences_person ON residences (person_id, from_date);
CREATE INDEX residences_scope ON residences (region_path, from_date);

CREATE TABLE consents (
    id BIGINT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    -- registration, linkage, contact
    purpose TEXT NOT NULL,
    -- self_service, staff, import
    channel TEXT NOT NULL,
    given_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    recorded_by BIGINT REFERENCES users (id)
);
CREATE INDEX consents_person ON consents (person_id, purpose);

-- A household as declared on the public page, ID numbers sealed inside the JSON.
CREATE TABLE declarations (
    id BIGINT PRIMARY KEY NOT NULL,
    -- the tracking code the declarant keeps
    code TEXT NOT NULL UNIQUE,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    -- pending, confirmed, rejected
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT,
    -- the declarant's record once confirmed
    person_id BIGINT REFERENCES persons (id),
    created_at TIMESTAMP NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX declarations_queue ON declarations (region_path, status, id);
