-- Statistics on the expressions the request list tests on each row when it walks an order's
-- index (requests::Plan::Walk, Plan::Count: the place, status, channel as `x || ''`, the
-- category and site as `x + 0`). Without them the planner guesses such a test keeps a handful
-- of rows and, expecting to walk the whole index for them, scans the table and sorts it: a
-- city's requests of one category newest first took 226 ms at a million (0.14 ms with them).
-- SQLite has nothing like them and needs none (its planner does not weigh such tests).
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE STATISTICS requests_walk_place ON (region_path || '') FROM requests;
CREATE STATISTICS requests_walk_status ON (status || '') FROM requests;
CREATE STATISTICS requests_walk_channel ON (channel || '') FROM requests;
CREATE STATISTICS requests_walk_category ON (category_id + 0) FROM requests;
CREATE STATISTICS requests_walk_site ON (site_id + 0) FROM requests;
ANALYZE requests;
