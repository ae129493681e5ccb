-- 流出地与流入地联动: requests for assistance (协查 / 协助) between the side where a person's
-- 户籍地 is and the side where they live, each with a reply due by a day.
-- from_path / to_path are the two sides' region paths: each side sees the rows whose path lies
-- in its scope. Asked by the home side: from its region to the person's grid; asked by the
-- side where they live: from the person's grid to the home county.
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE assists (
    id BIGINT PRIMARY KEY NOT NULL,
    -- verify (协查), assist (协助)
    kind TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    from_region_id BIGINT NOT NULL REFERENCES regions (id),
    from_path TEXT NOT NULL,
    to_region_id BIGINT NOT NULL REFERENCES regions (id),
    to_path TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    due_on DATE NOT NULL,
    -- open, answered, closed
    status TEXT NOT NULL,
    reply TEXT,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    replied_by BIGINT REFERENCES users (id),
    replied_at TIMESTAMP,
    closed_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX assists_to ON assists (to_path, status, id);
CREATE INDEX assists_from ON assists (from_path, status, id);
CREATE INDEX assists_person ON assists (person_id, id);
