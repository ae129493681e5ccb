DROP TABLE eval_weights;
DROP TABLE eval_indicators;
DROP TABLE eval_participants;
DROP TABLE eval_categories;
DROP TABLE eval_schemes;
