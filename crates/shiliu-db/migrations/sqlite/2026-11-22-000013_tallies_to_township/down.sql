-- Nothing to restore here: the previous release would show communities' and grids' figures
-- only from the requests counted after the downgrade. Rebuilding every total (stats::rebuild)
-- restores them.
SELECT 1;
