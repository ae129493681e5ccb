-- The search index gains each request's facets (status, channel, category, site, regions) as
-- lexemes at weight A in the same tsvector, so filtered searches are narrowed inside the index.
-- Emptied; `Db::migrate` re-indexes every request when a migration named request_search is
-- applied. Engine-specific; see ../../sqlite/<same name>/up.sql.
DELETE FROM request_search;
