-- The request list's change feed (docs/adr/0005-request-list-keys-in-memory.md): every
-- insert, update and delete of a request leaves its id here, in the write's own transaction,
-- so that each app node's keys in memory (requests::keys) learn what changed since they last
-- looked, whichever node or command wrote it. Triggers, so that no write can forget it.
-- SQLite has one writer: `seq` is the order of commit. AUTOINCREMENT so that a number is never
-- given twice, even once the old rows are cleared. Keep in step with ../../postgres/<same name>/up.sql.
CREATE TABLE request_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    request_id BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX request_changes_by_time ON request_changes (changed_at);
CREATE TRIGGER requests_changed_insert AFTER INSERT ON requests
BEGIN
    INSERT INTO request_changes (request_id) VALUES (NEW.id);
END;
CREATE TRIGGER requests_changed_update AFTER UPDATE ON requests
BEGIN
    INSERT INTO request_changes (request_id) VALUES (NEW.id);
END;
CREATE TRIGGER requests_changed_delete AFTER DELETE ON requests
BEGIN
    INSERT INTO request_changes (request_id) VALUES (OLD.id);
END;
