-- A training's trainee list (培训班学员名单), optional: when a training has one, its trainee
-- count is the list's. Keep in step with the other engine's.
CREATE TABLE activity_trainees (
    id BIGINT PRIMARY KEY NOT NULL,
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    name TEXT NOT NULL,
    -- Their unit or workplace as written (trainees come from anywhere).
    organisation TEXT,
    post TEXT,
    -- A mobile (11 digits); shown masked.
    phone TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX activity_trainees_activity ON activity_trainees (activity_id, id);
