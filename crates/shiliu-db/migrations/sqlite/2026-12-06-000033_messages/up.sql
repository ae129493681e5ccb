-- Messages (notifications): an outbox written in the transaction of the event that causes it,
-- so a message is never lost and never holds the request up; a sender delivers it later.
-- Keep in step with ../../postgres/<same name>/up.sql.
CREATE TABLE messages (
    id BIGINT PRIMARY KEY,
    -- 'in_app' (a staff member's inbox) or 'sms'.
    channel TEXT NOT NULL,
    -- What it says: 'request.received', 'request.dispatched', 'request.resolved',
    -- 'request.rate', 'request.reminded', 'request.escalated', 'resident.code'.
    kind TEXT NOT NULL,
    -- The staff member it is addressed to (in-app, and a staff SMS); a resident has none.
    user_id BIGINT REFERENCES users (id),
    phone TEXT,
    request_id BIGINT REFERENCES requests (id),
    -- The region of what it is about, so an inbox is read through the reader's scope too.
    region_path TEXT NOT NULL,
    -- The template's parameters, JSON.
    params TEXT NOT NULL,
    -- 'pending' (to send at due_at), 'sending' (claimed until claimed_until), 'sent',
    -- 'failed' (given up), or 'delivered' (in-app: in the inbox once written).
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    due_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    read_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_due ON messages (status, due_at);
CREATE INDEX messages_inbox ON messages (user_id, id);
CREATE INDEX messages_phone ON messages (phone, sent_at);
CREATE INDEX messages_request ON messages (request_id);
-- Every attempt to deliver one, as the provider answered.
CREATE TABLE message_attempts (
    id BIGINT PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    at TIMESTAMP NOT NULL,
    provider TEXT NOT NULL,
    ok BOOLEAN NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX message_attempts_message ON message_attempts (message_id);
-- What the log-only provider would have sent (the demo's and the tests' SMS gateway).
CREATE TABLE sms_log (
    id BIGINT PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    phone TEXT NOT NULL,
    sign_name TEXT NOT NULL,
    template TEXT NOT NULL,
    params TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sms_log_phone ON sms_log (phone, id);
-- A resident's consent to SMS about one request (received, resolved with the reply, the
-- invitation to rate), given at intake; none: no SMS.
CREATE TABLE request_sms_consents (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    given_at TIMESTAMP NOT NULL
);
-- One-time codes a resident asks for to list their requests by phone number: only a hash is
-- kept; a code lives ten minutes and takes five tries.
CREATE TABLE resident_codes (
    id BIGINT PRIMARY KEY,
    phone TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    tries INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX resident_codes_phone ON resident_codes (phone, created_at);
CREATE INDEX resident_codes_addr ON resident_codes (client_addr, created_at);
