DELETE FROM request_tallies WHERE dim = 'total';
