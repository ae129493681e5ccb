-- The follow-up across councils (shiliu_db::councils::items::open_in): the open items in
-- deadline order, with the place to test per row, so a province's or a city's page reads
-- about its fifty rows' worth of index instead of sorting every open item. Its condition is
-- written the same in the query (an engine uses a partial index only when it can see that).
-- Keep in step with the other engine's <same name>/up.sql.
CREATE INDEX council_items_open ON council_items (due_on, id, region_path)
    WHERE status IN ('decided', 'referred');
