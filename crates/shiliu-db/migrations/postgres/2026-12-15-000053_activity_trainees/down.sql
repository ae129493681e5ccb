DROP TABLE activity_trainees;
