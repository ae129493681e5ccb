DROP TRIGGER request_words_changed_delete;
DROP TRIGGER request_words_changed_update;
DROP TRIGGER request_words_changed_insert;
DROP TABLE request_words;
