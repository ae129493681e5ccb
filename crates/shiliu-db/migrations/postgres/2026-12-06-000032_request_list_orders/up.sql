-- The request list's orders and filters, each an index range read in the list's order
-- (requests::listing): by status or category, newest first within each; by deadline; received
-- within dates. Without them a filter by status sorted every matching row to show fifty.
-- Keep in step with ../../sqlite/<same name>/up.sql (SQLite appends the id by itself).
CREATE INDEX requests_status ON requests (status, id);
CREATE INDEX requests_category ON requests (category_id, id);
CREATE INDEX requests_deadline ON requests (due_at, id);
CREATE INDEX requests_received ON requests (received_at, id);
