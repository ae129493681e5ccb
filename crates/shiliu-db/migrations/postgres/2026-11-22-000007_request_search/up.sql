-- The full-text index of requests: jieba-segmented words as a tsvector ('simple': no stemming,
-- the words are already cut). Engine-specific, so it is not in schema.rs; see
-- ../../sqlite/<same name>/up.sql.
CREATE TABLE request_search (
    request_id BIGINT PRIMARY KEY NOT NULL REFERENCES requests (id),
    terms TSVECTOR NOT NULL
);
CREATE INDEX request_search_terms ON request_search USING GIN (terms);
