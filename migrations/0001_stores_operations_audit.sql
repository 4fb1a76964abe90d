-- Stores, the durable operations that change them, and the audit log.

CREATE TABLE stores (
    id                   uuid PRIMARY KEY,
    name                 text        NOT NULL,
    namespace            text        NOT NULL,
    owner                text        NOT NULL,
    engine               text        NOT NULL,
    status               text        NOT NULL
        CHECK (status IN ('Provisioning', 'Ready', 'Failed', 'Deleting', 'Deleted')),
    phase                text        NOT NULL DEFAULT 'queued',
    url                  text        NOT NULL,
    error_message        text,
    attempts             integer     NOT NULL DEFAULT 0,
    idempotency_key      text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    provision_started_at timestamptz,
    ready_at             timestamptz,
    deleted_at           timestamptz
);

-- Never two live stores on one namespace; a deleted store frees its name.
CREATE UNIQUE INDEX stores_live_namespace ON stores (namespace) WHERE status <> 'Deleted';
-- One owner cannot have two live stores with the same name.
CREATE UNIQUE INDEX stores_live_owner_name ON stores (owner, lower(name)) WHERE status <> 'Deleted';
-- The same idempotency key from the same owner always means the same store.
CREATE UNIQUE INDEX stores_idempotency ON stores (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX stores_by_status ON stores (status);

CREATE TABLE operations (
    id               bigserial PRIMARY KEY,
    store_id         uuid        NOT NULL REFERENCES stores (id),
    kind             text        NOT NULL CHECK (kind IN ('provision', 'delete')),
    state            text        NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'superseded')),
    step             text,
    claims           integer     NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    requested_by     text        NOT NULL,
    via              text        NOT NULL,
    error            text,
    helm_ms          bigint      NOT NULL DEFAULT 0,
    wait_ms          bigint      NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);

-- At most one unfinished operation per store.
CREATE UNIQUE INDEX operations_one_active ON operations (store_id) WHERE state IN ('queued', 'running');
CREATE INDEX operations_claimable ON operations (id) WHERE state IN ('queued', 'running');

-- Who did what, when, and how it ended. No foreign key on purpose: the log
-- outlives the stores it speaks of.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text        NOT NULL,
    via        text        NOT NULL,
    action     text        NOT NULL,
    store_id   uuid,
    store_name text,
    outcome    text        NOT NULL,
    detail     text
);
CREATE INDEX audit_by_store ON audit_log (store_id, at);
