-- 就地办结: a category may let grid workers take and resolve its requests in their own grids
-- on the spot; such a request's handler is then the grid worker (a person), not a site: one
-- row here, beside the request (whose table is at diesel's 32 columns).
-- Keep in step with ../../postgres/<same name>/up.sql.
ALTER TABLE request_categories ADD COLUMN on_the_spot BOOLEAN NOT NULL DEFAULT 0;
CREATE TABLE request_handlers (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    since TIMESTAMP NOT NULL
);
CREATE INDEX request_handlers_user ON request_handlers (user_id, request_id);
