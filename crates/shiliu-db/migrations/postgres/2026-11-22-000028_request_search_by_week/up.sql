-- The search index partitioned by the week of its request instead of the month (see
-- search::ensure_weeks and docs/adr/0002): GIN knows no ids, so a window's lookup fetches the
-- row of every match in the partitions it spans before testing the window's bounds, and a
-- window of a few days inside a month read the whole month's matches (拖欠工资 among closed
-- requests: 1,778 rows fetched for the 60 of its eight days, 2.7 ms). The index is made empty
-- here; `Db::migrate` makes the weeks' partitions and indexes every request again after this
-- version (REINDEX_SEARCH_AFTER).
DROP TABLE request_search;
CREATE TABLE request_search (
    request_id BIGINT NOT NULL REFERENCES requests (id),
    terms TSVECTOR NOT NULL,
    PRIMARY KEY (request_id)
) PARTITION BY RANGE (request_id);
CREATE TABLE request_search_default PARTITION OF request_search DEFAULT;
-- GIN's pending list is read whole by every search until it is merged (see 000026).
CREATE INDEX request_search_terms ON request_search USING GIN (terms)
    WITH (gin_pending_list_limit = 256);
