-- The configuration stamp: changed by every write to the tables intake reads for each group
-- (regions, sites, units, categories and their questions, the working calendar, routing
-- rules), so a server may keep them in memory while the stamp stays the same
-- (src/cached.rs). A random value, never a count: a transaction that changed a table and
-- rolled back must not leave a value a later change could take again. `database_id` tells
-- one database from another in the same process (the tests open many).
CREATE TABLE config_stamp (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    database_id BIGINT NOT NULL,
    stamp BIGINT NOT NULL
);
INSERT INTO config_stamp (id, database_id, stamp)
VALUES (1, (random() * 9e18 - 4.5e18)::bigint, (random() * 9e18 - 4.5e18)::bigint);
CREATE FUNCTION bump_config_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_stamp SET stamp = (random() * 9e18 - 4.5e18)::bigint WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER regions_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON regions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
CREATE TRIGGER sites_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
CREATE TRIGGER units_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
CREATE TRIGGER request_categories_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON request_categories
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
CREATE TRIGGER category_questions_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON category_questions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
CREATE TRIGGER calendar_days_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_days
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
CREATE TRIGGER routing_rules_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON routing_rules
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
