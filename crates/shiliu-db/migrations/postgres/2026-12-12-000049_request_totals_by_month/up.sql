-- The running totals gain a dimension 'total' (key ''): one row per region, month and status,
-- the sum of that region's and month's rows of every channel. The figures by month and by
-- region (the statistics, the dashboard, the request list's counts without a category,
-- channel or site) read these instead of the channel's rows: a fifth as many (five channels). Filled
-- here from the channel's rows; the journal's rows not yet folded are folded into it as into
-- the others (shiliu_db::requests::stats).
-- Keep in step with ../../sqlite/<same name>/up.sql.
INSERT INTO request_tallies (region_path, depth, month, dim, key, status, received, resolved,
    resolved_with_deadline, on_time, rated, satisfied, handling_seconds)
SELECT region_path, depth, month, 'total', '', status, SUM(received), SUM(resolved),
    SUM(resolved_with_deadline), SUM(on_time), SUM(rated), SUM(satisfied), SUM(handling_seconds)
FROM request_tallies
WHERE dim = 'channel'
GROUP BY region_path, depth, month, status;
