-- Running totals behind the councils' statistics (shiliu_db::councils::tallies): meetings held
-- and who came, items raised, settled, done and done by their deadline, in the row of each
-- region on the council's path down to the township and of the month of the day each counts
-- on (a meeting's, an item's raising, the meeting that settled it). Writes append the
-- difference to `council_tally_journal`; the server folds it in every few seconds and the
-- figures read both. Counted from the rows when this arrives.
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE council_tallies (
    region_path TEXT NOT NULL,
    month TEXT NOT NULL,
    meetings BIGINT NOT NULL,
    attendance BIGINT NOT NULL,
    items_raised BIGINT NOT NULL,
    items_decided BIGINT NOT NULL,
    items_declined BIGINT NOT NULL,
    items_done BIGINT NOT NULL,
    items_on_time BIGINT NOT NULL,
    PRIMARY KEY (region_path, month)
);

CREATE TABLE council_tally_journal (
    id BIGINT PRIMARY KEY NOT NULL,
    region_path TEXT NOT NULL,
    month TEXT NOT NULL,
    meetings BIGINT NOT NULL,
    attendance BIGINT NOT NULL,
    items_raised BIGINT NOT NULL,
    items_decided BIGINT NOT NULL,
    items_declined BIGINT NOT NULL,
    items_done BIGINT NOT NULL,
    items_on_time BIGINT NOT NULL
);
