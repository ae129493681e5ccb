-- The running totals gain the request's status, so the list's count of a status, of the
-- open or the done, alone or with a category, channel or site, is summed from the totals
-- (requests::listing::count) instead of counted row by row: at 1,000,000 requests half of
-- them are closed, and counting them read half a million index entries per page shown.
-- A request's row moves from one status to the next as it is handled (a step journals the
-- old status's row -1 and the new one's +1). The totals are recounted from the requests once
-- this is applied (shiliu_db's RECOUNT_TALLIES_AFTER), so both tables start empty.
-- Keep in step with ../../sqlite/<same name>/up.sql.
DROP TABLE request_tally_journal;
DROP TABLE request_tallies;

CREATE TABLE request_tallies (
    region_path TEXT NOT NULL,
    -- How many regions the path names (the top region: 1): for the breakdown one level down,
    -- and for the whole tree (the rows at depth 1).
    depth INTEGER NOT NULL,
    -- YYYY-MM in China's time.
    month TEXT NOT NULL,
    -- category, channel or site
    dim TEXT NOT NULL,
    -- The category's id, the channel's code, the site's id ('': no site).
    key TEXT NOT NULL,
    -- The requests' status now (received, dispatched, … closed).
    status TEXT NOT NULL,
    received BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_with_deadline BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    handling_seconds BIGINT NOT NULL,
    PRIMARY KEY (region_path, dim, month, key, status)
);

CREATE INDEX request_tallies_level ON request_tallies (depth, dim, region_path, month);

-- Changes not yet added to the totals: one row per change to a request (two when its status
-- changes), written in the change's transaction, folded into request_tallies every few
-- seconds by the server, and read with them.
CREATE TABLE request_tally_journal (
    id BIGINT PRIMARY KEY NOT NULL,
    region_path TEXT NOT NULL,
    month TEXT NOT NULL,
    category_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    -- The site's id ('': no site).
    site TEXT NOT NULL,
    status TEXT NOT NULL,
    received BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_with_deadline BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    handling_seconds BIGINT NOT NULL
);
