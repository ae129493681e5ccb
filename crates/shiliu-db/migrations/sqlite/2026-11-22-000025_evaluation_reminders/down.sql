DROP TABLE eval_reminders;
