DROP TABLE assists;
