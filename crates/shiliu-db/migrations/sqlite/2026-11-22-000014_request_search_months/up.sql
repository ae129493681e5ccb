-- Each search entry gains its month as a facet (search::month_facet): the index is rebuilt
-- empty here and `Db::migrate` indexes every request again after this version
-- (REINDEX_SEARCH_AFTER). Engine-specific; see ../../postgres/<same name>/up.sql.
DROP TABLE request_search;
CREATE VIRTUAL TABLE request_search USING fts5 (
    terms,
    facets,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61'
);
