-- The request list's orders and filters, each an index range read in the list's order
-- (requests::listing): by status or category, newest first within each (SQLite appends the
-- rowid, the id, to every index); by deadline; received within dates. Without them a filter
-- by status sorted every matching row to show fifty (1.2 s at 1,000,000 requests).
-- Keep in step with ../../postgres/<same name>/up.sql.
CREATE INDEX requests_status ON requests (status);
CREATE INDEX requests_category ON requests (category_id);
CREATE INDEX requests_deadline ON requests (due_at);
CREATE INDEX requests_received ON requests (received_at);
