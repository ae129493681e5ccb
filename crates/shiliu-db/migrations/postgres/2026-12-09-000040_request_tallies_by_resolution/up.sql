-- The statistics can be read by month of resolution as well as by month of receipt: each
-- journal row says the month its request was resolved in ('' while unresolved), and the
-- totals gain rows with dim 'resolved' whose month is that month (key ''), one per resolved
-- request and region level. The totals are recounted once this is applied
-- (shiliu_db's RECOUNT_TALLIES_AFTER). Keep in step with the other engine's <same name>/up.sql.
ALTER TABLE request_tally_journal ADD COLUMN resolved_month TEXT NOT NULL DEFAULT '';
