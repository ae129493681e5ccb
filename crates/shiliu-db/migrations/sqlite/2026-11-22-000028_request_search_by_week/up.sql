-- PostgreSQL's search index is partitioned by week here (see ../../postgres/<same name>).
-- SQLite's FTS5 index reads a window of rowids in order already and stays as it is; the
-- re-index `Db::migrate` runs after this version finds every request indexed.
SELECT 1;
