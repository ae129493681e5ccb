-- A mediator may be a user of the platform (a lawyer or mediator with a legal-aid account),
-- who then sees the disputes they mediate (casework access by assignment); others are named
-- only. Keep in step with ../../sqlite/<same name>/up.sql.
ALTER TABLE dispute_mediators ADD COLUMN user_id BIGINT REFERENCES users (id);
CREATE INDEX dispute_mediators_user ON dispute_mediators (user_id, dispute_id) WHERE user_id IS NOT NULL;
