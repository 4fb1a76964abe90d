-- Every change to a store row is announced on `store_weaver_stores` with the
-- store's id, whoever made it (the ledger, a migration, psql). The API keeps
-- what it remembers between requests (stores by id, list totals) true by
-- these notifications, so none may be missed. PostgreSQL delivers one
-- notification per channel and payload per transaction, so the ledger's own
-- pg_notify calls in the same transaction add nothing.

CREATE FUNCTION store_weaver_notify_store_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('store_weaver_stores', OLD.id::text);
    ELSE
        PERFORM pg_notify('store_weaver_stores', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER stores_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON stores
    FOR EACH ROW EXECUTE FUNCTION store_weaver_notify_store_change();
