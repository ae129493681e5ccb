-- Each search entry gains its month as a facet (search::month_facet): the index is emptied
-- here and `Db::migrate` indexes every request again after this version (REINDEX_SEARCH_AFTER).
TRUNCATE request_search;
