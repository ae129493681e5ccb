-- Entries keep their facet lexemes; searches without facets are unaffected by them.
SELECT 1;
