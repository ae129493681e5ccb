DROP TABLE task_report_files;
