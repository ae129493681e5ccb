-- Where a request is, as the client gave it (Open311's lat and long, WGS-84 degrees), kept
-- beside the request as its media link is: few requests have one, and the requests table is
-- read hot.
CREATE TABLE request_points (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    lat DOUBLE PRECISION NOT NULL,
    long DOUBLE PRECISION NOT NULL
);
