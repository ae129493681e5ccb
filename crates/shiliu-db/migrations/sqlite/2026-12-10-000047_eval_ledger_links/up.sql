-- A unit's work-ledger report (工作台账) chosen as evidence for a criterion of its
-- self-assessment: linked, not copied — the report, its text and files stay the ledger's.
-- Keep in step with the other engine's <same name>/up.sql.
CREATE TABLE eval_ledger_links (
    id BIGINT PRIMARY KEY NOT NULL,
    scheme_id BIGINT NOT NULL REFERENCES eval_schemes (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    indicator_id BIGINT NOT NULL REFERENCES eval_indicators (id),
    report_id BIGINT NOT NULL REFERENCES task_reports (id),
    linked_by BIGINT REFERENCES users (id),
    linker TEXT NOT NULL,
    linked_at TIMESTAMP NOT NULL,
    UNIQUE (scheme_id, unit_id, indicator_id, report_id)
);
CREATE INDEX eval_ledger_links_unit ON eval_ledger_links (scheme_id, unit_id);
