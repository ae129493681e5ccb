-- Evidence sent with a ledger report (台账资料: photos, sign-in sheets, documents), under the
-- same file rules as a request's: the kind read from the bytes, the size and count bounded.
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE task_report_files (
    id BIGINT PRIMARY KEY NOT NULL,
    report_id BIGINT NOT NULL REFERENCES task_reports (id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    uploaded_by BIGINT REFERENCES users (id),
    uploader TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX task_report_files_report ON task_report_files (report_id);
