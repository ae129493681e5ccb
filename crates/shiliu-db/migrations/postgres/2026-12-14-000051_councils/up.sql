-- Consultation councils (逢四说事 · 老友议事会): the council of a community or village, its
-- members, its meetings with their attendance and notes, and the items residents raise, each
-- decided with someone responsible and a deadline and followed up (or handed to a request).
-- Keep in step with the other engine's <same name>/up.sql.

CREATE TABLE councils (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    -- shiliu_domain::councils::Rhythm, with its weekday (1–7) or day of the month (1–31)
    rhythm TEXT NOT NULL,
    day INTEGER,
    place TEXT NOT NULL,
    -- HH:MM, local time
    starts_at TEXT,
    -- The public page's address (/c/{code}) and the poster's QR code.
    public_code TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX councils_region ON councils (region_path, id);

CREATE TABLE council_members (
    id BIGINT PRIMARY KEY NOT NULL,
    council_id BIGINT NOT NULL REFERENCES councils (id),
    name TEXT NOT NULL,
    -- shiliu_domain::councils::MemberRole
    role TEXT NOT NULL,
    note TEXT,
    phone TEXT,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX council_members_council ON council_members (council_id, id);

-- A meeting held (with its minutes) or a day of the rhythm called off. Days to come are the
-- rhythm's, not rows.
CREATE TABLE council_meetings (
    id BIGINT PRIMARY KEY NOT NULL,
    council_id BIGINT NOT NULL REFERENCES councils (id),
    region_path TEXT NOT NULL,
    held_on DATE NOT NULL,
    -- shiliu_domain::councils::MeetingStatus: held, cancelled
    status TEXT NOT NULL,
    guests INTEGER NOT NULL,
    notes TEXT,
    recorded_by BIGINT REFERENCES users (id),
    recorder TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (council_id, held_on)
);
CREATE INDEX council_meetings_region ON council_meetings (region_path, held_on);

CREATE TABLE council_attendance (
    meeting_id BIGINT NOT NULL REFERENCES council_meetings (id),
    member_id BIGINT NOT NULL REFERENCES council_members (id),
    PRIMARY KEY (meeting_id, member_id)
);

-- An agenda item: raised (in person, by a grid worker, on the public page), discussed at a
-- meeting and decided, declined or handed to a request; followed up until done.
CREATE TABLE council_items (
    id BIGINT PRIMARY KEY NOT NULL,
    council_id BIGINT NOT NULL REFERENCES councils (id),
    region_path TEXT NOT NULL,
    meeting_id BIGINT REFERENCES council_meetings (id),
    -- shiliu_domain::councils::Channel
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    raised_by TEXT,
    phone TEXT,
    -- The one who raised it agreed to their name on the public notice.
    publish_name BOOLEAN NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    -- The day (China's) it was raised, for the figures by day and month.
    raised_on DATE NOT NULL,
    brought_by BIGINT REFERENCES users (id),
    -- shiliu_domain::councils::ItemStatus
    status TEXT NOT NULL,
    decision TEXT,
    responsible TEXT,
    due_on DATE,
    decided_on DATE,
    done_on DATE,
    outcome TEXT,
    request_id BIGINT REFERENCES requests (id),
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX council_items_council ON council_items (council_id, status, id);
CREATE INDEX council_items_meeting ON council_items (meeting_id, id);
CREATE INDEX council_items_region ON council_items (region_path, decided_on);
CREATE INDEX council_items_raised ON council_items (region_path, raised_on);
CREATE INDEX council_items_request ON council_items (request_id);
