-- PostgreSQL's statistics on the expressions the request list tests per row when it walks
-- (see ../../postgres/<same name>/up.sql); SQLite has no such statistics and its planner does
-- not weigh those tests, so nothing changes here.
SELECT 1;
