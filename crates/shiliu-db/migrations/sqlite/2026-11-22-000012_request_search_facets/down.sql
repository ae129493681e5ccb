DROP TABLE request_search;
CREATE VIRTUAL TABLE request_search USING fts5 (
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61'
);
