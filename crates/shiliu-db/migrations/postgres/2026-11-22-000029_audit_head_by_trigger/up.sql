-- A chain's head takes its newest link's hash from the insert that writes the link, instead of
-- from a statement of its own after it: one round trip less for every audited transaction
-- (an audited look-up by ID number was six). The appender still bumps the head's `seq` first
-- (taking the chain's lock and reading where it ends); the row whose `link` is the head's new
-- `seq` is the newest, and its hash becomes the head's. Once per statement, however many rows.
-- Keep in step with ../../sqlite/<same name>/up.sql.
CREATE FUNCTION audit_head_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head h SET hash = n.hash FROM new_links n
    WHERE h.id = n.chain AND h.seq = n.link;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
    REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_follows();
