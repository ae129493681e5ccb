DROP INDEX council_items_open;
