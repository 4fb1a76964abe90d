-- The live stores, counted as they change (issue 29): every create read
-- every live store to count them, the largest part of its PostgreSQL CPU
-- with 10,000 stores. The count is kept in 16 rows so that writers do not
-- queue on one: rows 0-7 belong to the create slots (a create writes its
-- slot's row, and holds that slot's advisory lock until it commits, so no
-- other create waits on the row), rows 8-15 take every other change
-- (deletes, undeletes, rows written by hand), by the store id's hash. Each
-- row changes in the transaction that changes the store, so the sum of the
-- rows in any snapshot is exactly what count(*) of the live stores would
-- say in it.
CREATE TABLE live_store_counts (
    shard integer PRIMARY KEY CHECK (shard BETWEEN 0 AND 15),
    live  bigint  NOT NULL DEFAULT 0
);
INSERT INTO live_store_counts (shard) SELECT generate_series(0, 15);

CREATE FUNCTION store_weaver_count_live() RETURNS trigger AS $$
DECLARE
    delta integer := 0;
    target integer;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status <> 'Deleted' THEN
        delta := delta - 1;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status <> 'Deleted' THEN
        delta := delta + 1;
    END IF;
    IF delta = 0 THEN
        RETURN NULL;
    END IF;
    -- Set by a create for its transaction (see db::stores::try_lock_free_slot).
    target := nullif(current_setting('store_weaver.create_slot', true), '')::integer;
    IF target IS NULL THEN
        IF TG_OP = 'DELETE' THEN
            target := 8 + (hashtext(OLD.id::text) & 7);
        ELSE
            target := 8 + (hashtext(NEW.id::text) & 7);
        END IF;
    END IF;
    UPDATE live_store_counts SET live = live + delta WHERE shard = target;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION store_weaver_count_live_truncated() RETURNS trigger AS $$
BEGIN
    UPDATE live_store_counts SET live = 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- No store changes between the count below and the triggers.
LOCK TABLE stores IN SHARE ROW EXCLUSIVE MODE;
CREATE TRIGGER stores_count_live
    AFTER INSERT OR UPDATE OF status OR DELETE ON stores
    FOR EACH ROW EXECUTE FUNCTION store_weaver_count_live();
CREATE TRIGGER stores_count_live_truncated
    AFTER TRUNCATE ON stores
    FOR EACH STATEMENT EXECUTE FUNCTION store_weaver_count_live_truncated();
UPDATE live_store_counts SET live = (SELECT count(*) FROM stores WHERE status <> 'Deleted')
WHERE shard = 8;
