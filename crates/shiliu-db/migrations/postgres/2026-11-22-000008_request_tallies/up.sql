-- Running totals behind the statistics page (see shiliu_db::stats). A request counts in one
-- row per region on its path (from the top region down to its own), local month of receipt
-- and dimension: its category, its channel and its site. A scope reads the rows of its own
-- regions, so no figure needs the requests.
-- Keep in step with ../../sqlite/<same name>/up.sql.
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
    received BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_with_deadline BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    handling_seconds BIGINT NOT NULL,
    PRIMARY KEY (region_path, dim, month, key)
);

CREATE INDEX request_tallies_level ON request_tallies (depth, dim, region_path, month);

-- Changes not yet added to the totals: one row per change to a request, written in the
-- change's transaction (a small append, where the totals would be a dozen scattered row
-- updates), folded into request_tallies every few seconds by the server, and read with them.
CREATE TABLE request_tally_journal (
    id BIGINT PRIMARY KEY NOT NULL,
    region_path TEXT NOT NULL,
    month TEXT NOT NULL,
    category_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    -- The site's id ('': no site).
    site TEXT NOT NULL,
    received BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_with_deadline BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    handling_seconds BIGINT NOT NULL
);
