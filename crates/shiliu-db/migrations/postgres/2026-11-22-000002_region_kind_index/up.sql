-- Covering index for counts by kind within a scope (the home page): an index-only range scan.
CREATE INDEX regions_path_kind ON regions (path, kind, active);
