DROP TABLE task_instruction_items;
DROP TABLE task_instructions;
