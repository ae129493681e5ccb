-- The index by month, as 000026 made it (entries made again by `Db::migrate` after 000026's
-- version; its monthly partitions by the code of that version).
DROP TABLE request_search;
CREATE TABLE request_search (
    request_id BIGINT NOT NULL REFERENCES requests (id),
    terms TSVECTOR NOT NULL,
    PRIMARY KEY (request_id)
) PARTITION BY RANGE (request_id);
CREATE TABLE request_search_default PARTITION OF request_search DEFAULT;
CREATE INDEX request_search_terms ON request_search USING GIN (terms)
    WITH (gin_pending_list_limit = 256);
