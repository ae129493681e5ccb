DROP TABLE task_finding_events;
DROP TABLE task_findings;
DROP TABLE task_inspection_units;
DROP TABLE task_inspections;
