-- Settings belong to the region that made them. The platform's (the province's) are the
-- categories' service levels in request_categories and the days in calendar_days; a city or
-- county may set its own for its subtree here, never edit the platform's: a category's
-- service level, and days of the working calendar (a local festival such as 侗年 in 三江).
-- The deepest region on a request's path wins. Keep in step with
-- ../../sqlite/<same name>/up.sql.
CREATE TABLE category_levels (
    category_id BIGINT NOT NULL REFERENCES request_categories (id),
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    service_minutes INTEGER,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (category_id, region_id)
);
CREATE TABLE region_calendar_days (
    region_id BIGINT NOT NULL REFERENCES regions (id),
    region_path TEXT NOT NULL,
    day DATE NOT NULL,
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (region_id, day)
);
-- Intake keeps both in memory while the configuration stamp stays the same.
CREATE TRIGGER category_levels_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON category_levels
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
CREATE TRIGGER region_calendar_days_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON region_calendar_days
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_stamp();
