DROP TABLE region_calendar_days;
DROP TABLE category_levels;
