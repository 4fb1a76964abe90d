-- Store search (issue 17): `q` on GET /api/stores and `store list` is a
-- case-insensitive substring of the name, namespace or URL
-- (`name ILIKE '%q%' OR namespace ILIKE ... OR url ILIKE ...`, see
-- src/db/stores.rs). Without an index that scans every live store; trigram
-- GIN indexes (pg_trgm) answer it from the index for a `q` of 3 characters
-- or more, one index per column so the planner combines them (BitmapOr).
--
-- pg_trgm ships with PostgreSQL and is a trusted extension (13+), so the
-- database owner may create it without superuser. Where it is not available
-- (a managed PostgreSQL that forbids it), the search still works, by a scan:
-- this migration then only warns, and creates no index.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'pg_trgm is not available (%); store search will scan the table', SQLERRM;
        RETURN;
    END;
    CREATE INDEX stores_live_name_trgm ON stores USING gin (name gin_trgm_ops) WITH (fastupdate = off) WHERE status <> 'Deleted';
    CREATE INDEX stores_live_namespace_trgm ON stores USING gin (namespace gin_trgm_ops) WITH (fastupdate = off) WHERE status <> 'Deleted';
    CREATE INDEX stores_live_url_trgm ON stores USING gin (url gin_trgm_ops) WITH (fastupdate = off) WHERE status <> 'Deleted';
END
$$;
