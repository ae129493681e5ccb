DROP INDEX dispute_mediators_user;
ALTER TABLE dispute_mediators DROP COLUMN user_id;
