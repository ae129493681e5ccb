-- The day a person moved out of the area, for departures by month (the register's statistics).
-- Keep in step with ../../sqlite/<same name>/up.sql.
ALTER TABLE persons ADD COLUMN moved_out_on DATE;
UPDATE persons SET moved_out_on = (
    SELECT MAX(r.to_date) FROM residences r WHERE r.person_id = persons.id
) WHERE status = 'moved_out';
CREATE INDEX persons_moved_out ON persons (moved_out_on) WHERE moved_out_on IS NOT NULL;
