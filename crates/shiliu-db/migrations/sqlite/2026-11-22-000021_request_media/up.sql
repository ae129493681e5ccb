-- A link to a photo or other media a request came with (Open311's media_url), kept beside the
-- request rather than in it: few requests have one, and the requests table is read hot.
CREATE TABLE request_media (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    url TEXT NOT NULL
);
