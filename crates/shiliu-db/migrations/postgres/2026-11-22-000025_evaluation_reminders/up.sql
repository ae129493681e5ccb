-- Reminders (催报) before a stage's deadline, to those who still owe work in it: a unit that
-- has not submitted its self-assessment (or may still object in the feedback window), a
-- reviewer with units of their team not yet scored. One row per stage and recipient: the
-- server's sweep sends it once, some days before the deadline; the organiser may send it
-- again at any time, which counts it and keeps the latest time and what was left then.
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE TABLE eval_reminders (
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    stage TEXT NOT NULL,
    -- unit (recipient: a unit id) or reviewer (recipient: a user id)
    kind TEXT NOT NULL,
    recipient BIGINT NOT NULL,
    -- what was left when it was (last) sent: units not finished, criteria not scored
    units_left INTEGER NOT NULL,
    criteria_left INTEGER NOT NULL,
    due_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    -- empty: the server's sweep
    sender TEXT NOT NULL,
    times INTEGER NOT NULL,
    PRIMARY KEY (scheme_id, stage, kind, recipient)
);
CREATE INDEX eval_reminders_recipient ON eval_reminders (kind, recipient);
