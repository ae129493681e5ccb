DELETE FROM request_tallies WHERE dim = 'resolved';
ALTER TABLE request_tally_journal DROP COLUMN resolved_month;
