DROP TABLE task_assignments;
DROP TABLE task_items;
DROP TABLE task_plans;
