DROP TRIGGER audit_log_head;
