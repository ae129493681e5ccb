-- Running totals behind the activities' statistics and the units' progress board
-- (shiliu_db::activities::tallies): a record counts in the `activity_tallies` row of each
-- region on its path down to the township, by month, form, kind, venue and each material
-- handed out; and in `activity_unit_tallies` by its organiser, year, form and venue. Writes
-- append the difference to `activity_tally_journal`; the server folds it into the totals every
-- few seconds, and the figures read both. The rows are counted from the records when this
-- arrives (shiliu_db::activities::tallies::rebuild).
-- Keep in step with the other engine's <same name>/up.sql.

-- kind_id 0: no kind (a training); venue '': none of the ten; material_id 0: the records
-- themselves (n records, people reached), else that material (n handed out, people 0).
CREATE TABLE activity_tallies (
    region_path TEXT NOT NULL,
    month TEXT NOT NULL,
    form TEXT NOT NULL,
    kind_id BIGINT NOT NULL,
    venue TEXT NOT NULL,
    material_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    people BIGINT NOT NULL,
    PRIMARY KEY (region_path, month, form, kind_id, venue, material_id)
);

CREATE TABLE activity_unit_tallies (
    unit_id BIGINT NOT NULL,
    year INTEGER NOT NULL,
    form TEXT NOT NULL,
    venue TEXT NOT NULL,
    n BIGINT NOT NULL,
    people BIGINT NOT NULL,
    PRIMARY KEY (unit_id, year, form, venue)
);

-- One change not yet folded: region_path at the township or above (where the record is, cut
-- to the deepest tallied level).
CREATE TABLE activity_tally_journal (
    id BIGINT PRIMARY KEY NOT NULL,
    region_path TEXT NOT NULL,
    unit_id BIGINT NOT NULL,
    month TEXT NOT NULL,
    form TEXT NOT NULL,
    kind_id BIGINT NOT NULL,
    venue TEXT NOT NULL,
    material_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    people BIGINT NOT NULL
);
