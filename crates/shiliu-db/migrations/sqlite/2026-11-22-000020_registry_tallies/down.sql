DROP TABLE registry_tally_journal;
DROP TABLE registry_tallies;
