-- Files of people imported into the register, by their SHA-256: the same file imported again
-- changes nothing.
-- Keep in step with ../../postgres/<same name>/up.sql.
CREATE TABLE registry_imports (
    id BIGINT PRIMARY KEY NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    people INTEGER NOT NULL,
    households INTEGER NOT NULL,
    -- households left as they were: their head was already registered
    skipped INTEGER NOT NULL,
    imported_by BIGINT REFERENCES users (id),
    imported_at TIMESTAMP NOT NULL
);
