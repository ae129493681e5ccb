DROP STATISTICS IF EXISTS requests_walk_place;
DROP STATISTICS IF EXISTS requests_walk_status;
DROP STATISTICS IF EXISTS requests_walk_channel;
DROP STATISTICS IF EXISTS requests_walk_category;
DROP STATISTICS IF EXISTS requests_walk_site;
