-- Paged lists (issue 17): keyset indexes for every sort of GET /api/stores,
-- for everyone's stores (admins) and one owner's, and for the audit log and
-- a store's timeline. Live stores only, as the lists show them.

CREATE INDEX stores_live_by_created ON stores (created_at, id) WHERE status <> 'Deleted';
CREATE INDEX stores_live_by_owner_created ON stores (owner, created_at, id) WHERE status <> 'Deleted';
CREATE INDEX stores_live_by_name ON stores (lower(name), id) WHERE status <> 'Deleted';
CREATE INDEX stores_live_by_owner_name ON stores (owner, lower(name), id) WHERE status <> 'Deleted';
CREATE INDEX stores_live_by_status ON stores (status, id) WHERE status <> 'Deleted';
CREATE INDEX stores_live_by_owner_status ON stores (owner, status, id) WHERE status <> 'Deleted';

CREATE INDEX audit_by_at ON audit_log (at, id);
CREATE INDEX audit_by_store_at ON audit_log (store_id, at, id);
DROP INDEX IF EXISTS audit_by_store;

-- The key that seals page cursors, shared by every replica: 256 bits from
-- PostgreSQL's strong random source (gen_random_uuid, 2 x 122 random bits).
CREATE TABLE api_secrets (
    name text PRIMARY KEY,
    key  bytea NOT NULL CHECK (length(key) >= 16)
);
INSERT INTO api_secrets (name, key)
VALUES ('cursor', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
