-- Running totals behind the register's statistics (see shiliu_db::registry::tallies): per
-- region down to the township (depth 4), one row per dimension and key — people counted by
-- status (down to the community, depth 5, for the breakdown by region); residents by 民族,
-- 户籍地, employment and tag; everyone by month of arrival and of moving out; households. A
-- township's, county's or city's figures are a few hundred rows to sum however many people it
-- registers; a community's or a grid's are counted from its people.
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE registry_tallies (
    region_path TEXT NOT NULL,
    -- How many regions the path names (the top region: 1).
    depth INTEGER NOT NULL,
    -- status, people, hukou, employment, tag, arrived, departed or households
    dim TEXT NOT NULL,
    -- The status, GB 3304 code, division code, employment status ('': not recorded), tag,
    -- month YYYY-MM, or '' (households).
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (region_path, dim, key)
);

CREATE INDEX registry_tallies_level ON registry_tallies (depth, dim, region_path);

-- Changes not yet added to the totals, written in the change's transaction (an append, where
-- the totals would be several dozen row updates that concurrent writers would wait on), at
-- the township the person lives in or above; folded into registry_tallies every few seconds
-- by the server, and read with them.
CREATE TABLE registry_tally_journal (
    id BIGINT PRIMARY KEY NOT NULL,
    region_path TEXT NOT NULL,
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL
);

CREATE INDEX registry_tally_journal_scope ON registry_tally_journal (region_path);
