DROP TABLE request_tally_journal;
DROP TABLE request_tallies;

CREATE TABLE request_tallies (
    region_path TEXT NOT NULL,
    depth INTEGER NOT NULL,
    month TEXT NOT NULL,
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    received BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_with_deadline BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    handling_seconds BIGINT NOT NULL,
    PRIMARY KEY (region_path, dim, month, key)
);

CREATE INDEX request_tallies_level ON request_tallies (depth, dim, region_path, month);

CREATE TABLE request_tally_journal (
    id BIGINT PRIMARY KEY NOT NULL,
    region_path TEXT NOT NULL,
    month TEXT NOT NULL,
    category_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    site TEXT NOT NULL,
    received BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_with_deadline BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    handling_seconds BIGINT NOT NULL
);
