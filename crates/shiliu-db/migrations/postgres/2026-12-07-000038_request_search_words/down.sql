DROP TRIGGER request_words_changed_delete ON request_words;
DROP TRIGGER request_words_changed_update ON request_words;
DROP TRIGGER request_words_changed_insert ON request_words;
DROP FUNCTION request_words_changed();
DROP TABLE request_words;
