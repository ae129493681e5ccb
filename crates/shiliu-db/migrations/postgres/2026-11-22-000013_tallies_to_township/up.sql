-- Totals are kept down to the township (stats::TALLIED_DEPTH); communities' and grids'
-- figures are summed from their requests, so their rows go.
DELETE FROM request_tallies WHERE depth > 4;
