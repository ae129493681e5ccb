DROP TABLE eval_evidence;
DROP TABLE eval_submissions;
DROP TABLE eval_scores;
DROP TABLE eval_team_units;
DROP TABLE eval_team_members;
DROP TABLE eval_teams;
