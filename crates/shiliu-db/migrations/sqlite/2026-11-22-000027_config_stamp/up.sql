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
INSERT INTO config_stamp (id, database_id, stamp) VALUES (1, random(), random());
CREATE TRIGGER regions_insert_stamp AFTER INSERT ON regions
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER regions_update_stamp AFTER UPDATE ON regions
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER regions_delete_stamp AFTER DELETE ON regions
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER sites_insert_stamp AFTER INSERT ON sites
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER sites_update_stamp AFTER UPDATE ON sites
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER sites_delete_stamp AFTER DELETE ON sites
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER units_insert_stamp AFTER INSERT ON units
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER units_update_stamp AFTER UPDATE ON units
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER units_delete_stamp AFTER DELETE ON units
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER request_categories_insert_stamp AFTER INSERT ON request_categories
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER request_categories_update_stamp AFTER UPDATE ON request_categories
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER request_categories_delete_stamp AFTER DELETE ON request_categories
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER category_questions_insert_stamp AFTER INSERT ON category_questions
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER category_questions_update_stamp AFTER UPDATE ON category_questions
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER category_questions_delete_stamp AFTER DELETE ON category_questions
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER calendar_days_insert_stamp AFTER INSERT ON calendar_days
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER calendar_days_update_stamp AFTER UPDATE ON calendar_days
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER calendar_days_delete_stamp AFTER DELETE ON calendar_days
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER routing_rules_insert_stamp AFTER INSERT ON routing_rules
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER routing_rules_update_stamp AFTER UPDATE ON routing_rules
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
CREATE TRIGGER routing_rules_delete_stamp AFTER DELETE ON routing_rules
BEGIN UPDATE config_stamp SET stamp = random() WHERE id = 1; END;
