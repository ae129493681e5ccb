DROP TRIGGER requests_changed_delete;
DROP TRIGGER requests_changed_update;
DROP TRIGGER requests_changed_insert;
DROP TABLE request_changes;
