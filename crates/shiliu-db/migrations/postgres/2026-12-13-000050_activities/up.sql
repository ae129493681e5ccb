-- Activities (宣传教育活动) and trainings (培训班), their photos and materials handed out, the
-- lists the commission edits, and the units' yearly targets.
-- Keep in step with the other engine's <same name>/up.sql.

-- The editable lists: kinds of activity, materials (counted in a unit word), audiences.
CREATE TABLE activity_terms (
    id BIGINT PRIMARY KEY NOT NULL,
    list TEXT NOT NULL,
    name TEXT NOT NULL,
    unit_word TEXT,
    sort INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (list, name)
);
INSERT INTO activity_terms (id, list, name, unit_word, sort, active, version) VALUES
    (1, 'kind', '宣讲', NULL, 1, TRUE, 1),
    (2, 'kind', '文艺演出', NULL, 2, TRUE, 1),
    (3, 'kind', '民族节庆', NULL, 3, TRUE, 1),
    (4, 'kind', '体育竞技', NULL, 4, TRUE, 1),
    (5, 'kind', '知识竞赛', NULL, 5, TRUE, 1),
    (6, 'kind', '文化下乡', NULL, 6, TRUE, 1),
    (7, 'kind', '展览', NULL, 7, TRUE, 1),
    (8, 'kind', '其他', NULL, 99, TRUE, 1),
    (21, 'material', '宣传单', '份', 1, TRUE, 1),
    (22, 'material', '横幅', '条', 2, TRUE, 1),
    (23, 'material', '展板', '块', 3, TRUE, 1),
    (24, 'material', '宣传册', '本', 4, TRUE, 1),
    (41, 'audience', '干部', NULL, 1, TRUE, 1),
    (42, 'audience', '教师', NULL, 2, TRUE, 1),
    (43, 'audience', '网格员', NULL, 3, TRUE, 1),
    (44, 'audience', '宗教界人士', NULL, 4, TRUE, 1),
    (45, 'audience', '少数民族流动人口', NULL, 5, TRUE, 1),
    (46, 'audience', '其他', NULL, 99, TRUE, 1);

-- One activity held or training run, at a region (where it was held, or the organiser's).
CREATE TABLE activities (
    id BIGINT PRIMARY KEY NOT NULL,
    -- shiliu_domain::activities::Form: activity, training
    form TEXT NOT NULL,
    title TEXT NOT NULL,
    kind_id BIGINT REFERENCES activity_terms (id),
    -- shiliu_domain::activities::Venue (十进), if it went into one
    venue TEXT,
    organiser_unit_id BIGINT NOT NULL REFERENCES units (id),
    co_organisers TEXT,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    site_id BIGINT REFERENCES sites (id),
    held_on DATE NOT NULL,
    -- HH:MM, local time
    starts_at TEXT,
    ends_on DATE,
    participants INTEGER NOT NULL,
    audience_id BIGINT REFERENCES activity_terms (id),
    hours_tenths INTEGER,
    summary TEXT,
    photos INTEGER NOT NULL,
    recorded_by BIGINT REFERENCES users (id),
    recorder TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX activities_region_held ON activities (region_path, held_on, id);
CREATE INDEX activities_held ON activities (held_on, id);
CREATE INDEX activities_unit_held ON activities (organiser_unit_id, held_on);

CREATE TABLE activity_materials (
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    term_id BIGINT NOT NULL REFERENCES activity_terms (id),
    quantity INTEGER NOT NULL,
    PRIMARY KEY (activity_id, term_id)
);

-- Photos, kept in the database beside their activity (as a request's files are), stripped of
-- location metadata on the way in.
CREATE TABLE activity_photos (
    id BIGINT PRIMARY KEY NOT NULL,
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    uploaded_by BIGINT REFERENCES users (id),
    uploader TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX activity_photos_activity ON activity_photos (activity_id, id);

-- A unit's target for a year (年度目标).
CREATE TABLE activity_targets (
    unit_id BIGINT NOT NULL REFERENCES units (id),
    year INTEGER NOT NULL,
    activities INTEGER NOT NULL,
    trainings INTEGER NOT NULL,
    every_venue BOOLEAN NOT NULL,
    set_by BIGINT REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (unit_id, year)
);
