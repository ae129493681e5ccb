DROP TABLE activity_tally_journal;
DROP TABLE activity_unit_tallies;
DROP TABLE activity_tallies;
