-- The search index gains each request's facets (status, channel, category, site, regions) in
-- a column of their own, so filtered searches are narrowed inside the index. Rebuilt empty;
-- `Db::migrate` re-indexes every request when a migration named request_search is applied.
-- Engine-specific; see ../../postgres/<same name>/up.sql.
DROP TABLE request_search;
CREATE VIRTUAL TABLE request_search USING fts5 (
    terms,
    facets,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61'
);
