DROP TABLE calendar_days;
DROP TABLE request_events;
DROP TABLE requests;
DROP TABLE request_categories;
