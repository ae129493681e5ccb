DROP TABLE services;
DROP TABLE needs;
DROP TABLE survey_responses;
DROP TABLE surveys;
