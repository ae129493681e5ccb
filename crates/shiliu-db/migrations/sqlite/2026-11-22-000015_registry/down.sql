DROP TABLE declarations;
DROP TABLE consents;
DROP TABLE residences;
DROP TABLE person_tags;
DROP TABLE persons;
DROP TABLE households;
