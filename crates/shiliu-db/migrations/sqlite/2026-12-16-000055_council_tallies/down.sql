DROP TABLE council_tally_journal;
DROP TABLE council_tallies;
