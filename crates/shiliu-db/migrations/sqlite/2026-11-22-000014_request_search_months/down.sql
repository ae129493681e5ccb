-- The previous release reads the same index and ignores the month facets.
SELECT 1;
