DROP TABLE task_item_tallies;
