-- The words each request is found by (search::index_terms), in a plain table beside the search
-- index, so that each app node's list keys hold them in memory (requests::keys, docs/adr/0005;
-- the FTS5 index keeps no text to read them back from). A row is rewritten only when its words
-- change; its triggers leave the request's id in the change feed as the request's own do. The
-- index is emptied here; `Db::migrate` indexes every request again after this version
-- (REINDEX_SEARCH_AFTER), writing both. Keep in step with ../../postgres/<same name>/up.sql.
CREATE TABLE request_words (
    request_id BIGINT PRIMARY KEY NOT NULL REFERENCES requests (id),
    words TEXT NOT NULL
);
CREATE TRIGGER request_words_changed_insert AFTER INSERT ON request_words
BEGIN
    INSERT INTO request_changes (request_id) VALUES (NEW.request_id);
END;
CREATE TRIGGER request_words_changed_update AFTER UPDATE ON request_words
BEGIN
    INSERT INTO request_changes (request_id) VALUES (NEW.request_id);
END;
CREATE TRIGGER request_words_changed_delete AFTER DELETE ON request_words
BEGIN
    INSERT INTO request_changes (request_id) VALUES (OLD.request_id);
END;
INSERT INTO request_search (request_search) VALUES ('delete-all');
