-- What the councils' list shows of each council — items waiting (raised, not yet discussed),
-- items open (decided or handed to a request, not yet done) and the day it last met — kept
-- with the writes that change them (shiliu_db::councils::counts), so a page of councils reads
-- a row each instead of counting every council's items. A council without a row has none.
-- Counted here from the rows. Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE council_counts (
    council_id BIGINT PRIMARY KEY NOT NULL REFERENCES councils (id),
    waiting BIGINT NOT NULL,
    open BIGINT NOT NULL,
    last_held_on DATE
);
INSERT INTO council_counts (council_id, waiting, open, last_held_on)
SELECT c.id,
    (SELECT COUNT(*) FROM council_items i WHERE i.council_id = c.id AND i.status = 'raised'),
    (SELECT COUNT(*) FROM council_items i
        WHERE i.council_id = c.id AND i.status IN ('decided', 'referred')),
    (SELECT MAX(m.held_on) FROM council_meetings m
        WHERE m.council_id = c.id AND m.status = 'held')
FROM councils c;
