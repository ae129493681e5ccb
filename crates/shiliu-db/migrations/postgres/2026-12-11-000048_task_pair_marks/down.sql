DROP TABLE task_pair_marks;
