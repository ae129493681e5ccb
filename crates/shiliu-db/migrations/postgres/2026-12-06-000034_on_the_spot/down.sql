DROP INDEX request_handlers_user;
DROP TABLE request_handlers;
ALTER TABLE request_categories DROP COLUMN on_the_spot;
