DROP TABLE eval_corrections;
DROP TABLE eval_results;
DROP TABLE eval_final_scores;
DROP TABLE eval_decisions;
