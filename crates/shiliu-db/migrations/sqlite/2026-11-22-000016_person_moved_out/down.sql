DROP INDEX persons_moved_out;
ALTER TABLE persons DROP COLUMN moved_out_on;
