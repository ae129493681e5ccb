-- The request list's change feed (docs/adr/0005-request-list-keys-in-memory.md): every
-- insert, update and delete of a request leaves its id here, in the write's own transaction,
-- so that each app node's keys in memory (requests::keys) learn what changed since they last
-- looked, whichever node or command wrote it. Triggers, so that no write can forget it; once
-- per statement, however many rows. `seq` is given at insert, not at commit: a reader keeps
-- reading past the last number it was sure of until the transactions that were running when
-- it read have ended (requests::keys::Feed). Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE request_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX request_changes_by_time ON request_changes (changed_at);
CREATE FUNCTION requests_changed_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO request_changes (request_id) SELECT id FROM changed_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER requests_changed_insert AFTER INSERT ON requests
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION requests_changed_new();
CREATE TRIGGER requests_changed_update AFTER UPDATE ON requests
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION requests_changed_new();
CREATE TRIGGER requests_changed_delete AFTER DELETE ON requests
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION requests_changed_new();
