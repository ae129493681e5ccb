DROP TRIGGER requests_changed_delete ON requests;
DROP TRIGGER requests_changed_update ON requests;
DROP TRIGGER requests_changed_insert ON requests;
DROP FUNCTION requests_changed_new();
DROP TABLE request_changes;
