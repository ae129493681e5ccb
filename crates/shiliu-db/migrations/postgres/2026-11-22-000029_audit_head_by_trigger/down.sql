DROP TRIGGER audit_log_head ON audit_log;
DROP FUNCTION audit_head_follows();
