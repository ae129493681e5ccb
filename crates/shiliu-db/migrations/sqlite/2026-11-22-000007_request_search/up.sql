-- The full-text index of requests: jieba-segmented words, space-separated, by request id (the
-- rowid). Contentless: the text lives in `requests` and `request_events`. Engine-specific, so it
-- is not in schema.rs; see ../../postgres/<same name>/up.sql.
CREATE VIRTUAL TABLE request_search USING fts5 (
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61'
);
