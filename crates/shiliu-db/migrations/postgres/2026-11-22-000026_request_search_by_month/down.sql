-- The index as it was before (entries made again by `Db::migrate` after 000014's version).
DROP TABLE request_search;
CREATE TABLE request_search (
    request_id BIGINT PRIMARY KEY NOT NULL REFERENCES requests (id),
    terms TSVECTOR NOT NULL
);
CREATE INDEX request_search_terms ON request_search USING GIN (terms);
