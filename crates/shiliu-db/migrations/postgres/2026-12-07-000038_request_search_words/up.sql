-- The words each request is found by (search::index_terms), in a plain table beside the search
-- index, so that each app node's list keys hold them in memory (requests::keys, docs/adr/0005):
-- a count of a common word's matches read from GIN fetched the row of every match (租房: 89,845
-- matches, 43,367 pages, 1.4 s), and again after every change. A row is rewritten only when
-- its words change; its triggers leave the request's id in the change feed as the request's own
-- do. The index is emptied here; `Db::migrate` indexes every request again after this version
-- (REINDEX_SEARCH_AFTER), writing both. Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE request_words (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    words TEXT NOT NULL
);
CREATE FUNCTION request_words_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO request_changes (request_id) SELECT request_id FROM changed_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER request_words_changed_insert AFTER INSERT ON request_words
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION request_words_changed();
CREATE TRIGGER request_words_changed_update AFTER UPDATE ON request_words
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION request_words_changed();
CREATE TRIGGER request_words_changed_delete AFTER DELETE ON request_words
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION request_words_changed();
TRUNCATE request_search;
