DROP TABLE task_report_events;
DROP TABLE task_reports;
