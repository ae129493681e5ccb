-- The search index partitioned by the month of its request (ids are time-ordered; see
-- search::ensure_months, which makes each month's partition, and docs/adr/0002): a search
-- reads newest first in windows of time, and a window's GIN lookups then read the posting
-- lists of the months it spans, not of the whole history, which grows without end. Facets
-- become verbatim lexemes ('@sclosed') instead of words at weight A, and positions are
-- stripped: a query without weights needs no recheck of each match's tsvector. The index is
-- made empty here; `Db::migrate` makes the months' partitions and indexes every request
-- again after this version (REINDEX_SEARCH_AFTER). A row of a month without its partition
-- waits in the default one, where searches find it too.
DROP TABLE request_search;
CREATE TABLE request_search (
    request_id BIGINT NOT NULL REFERENCES requests (id),
    terms TSVECTOR NOT NULL,
    PRIMARY KEY (request_id)
) PARTITION BY RANGE (request_id);
CREATE TABLE request_search_default PARTITION OF request_search DEFAULT;
-- GIN keeps new entries in a pending list that every search reads whole until it is merged
-- into the index (by the insert that fills it, or vacuum): 4 MB by default, read at each of
-- a busy month's searches (1.8 ms of a 3.4 ms search, measured). Partitions take the limit
-- from this index.
CREATE INDEX request_search_terms ON request_search USING GIN (terms)
    WITH (gin_pending_list_limit = 256);
