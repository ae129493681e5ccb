DROP TABLE legal_consultations;
DROP TABLE legal_aid_cases;
DROP TABLE dispute_sessions;
DROP TABLE dispute_mediators;
DROP TABLE dispute_parties;
DROP TABLE disputes;
