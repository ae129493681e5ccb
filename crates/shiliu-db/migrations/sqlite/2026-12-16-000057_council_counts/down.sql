DROP TABLE council_counts;
