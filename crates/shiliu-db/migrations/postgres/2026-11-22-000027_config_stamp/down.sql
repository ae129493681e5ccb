DROP TRIGGER regions_stamp ON regions;
DROP TRIGGER sites_stamp ON sites;
DROP TRIGGER units_stamp ON units;
DROP TRIGGER request_categories_stamp ON request_categories;
DROP TRIGGER category_questions_stamp ON category_questions;
DROP TRIGGER calendar_days_stamp ON calendar_days;
DROP TRIGGER routing_rules_stamp ON routing_rules;
DROP FUNCTION bump_config_stamp();
DROP TABLE config_stamp;
