DROP TABLE reply_templates;
DROP TABLE request_answers;
DROP TABLE category_questions;
