-- A chain's head takes its newest link's hash from the insert that writes the link (see
-- ../../postgres/<same name>/up.sql, where it saves a round trip). SQLite has no statement
-- triggers: each row is tested, and only the newest (its `link` is the head's `seq`) matches.
CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
BEGIN
    UPDATE audit_head SET hash = NEW.hash WHERE id = NEW.chain AND seq = NEW.link;
END;
