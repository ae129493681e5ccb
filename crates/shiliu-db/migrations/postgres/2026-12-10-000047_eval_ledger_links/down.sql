DROP TABLE eval_ledger_links;
