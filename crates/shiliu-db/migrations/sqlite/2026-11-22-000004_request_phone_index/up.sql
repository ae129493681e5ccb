-- The self-service page limits requests per phone number per day.
CREATE INDEX requests_phone ON requests (contact_phone, received_at);
