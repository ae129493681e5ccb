DROP TABLE request_tally_journal;
DROP TABLE request_tallies;
