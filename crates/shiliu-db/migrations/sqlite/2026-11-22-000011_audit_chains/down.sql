DELETE FROM audit_head WHERE id > 1;
DROP INDEX audit_log_chain;
ALTER TABLE audit_log DROP COLUMN link;
ALTER TABLE audit_log DROP COLUMN chain;
